package auth

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// discovery holds the provider metadata paved reads beyond go-oidc's.
type discovery struct {
	Issuer                 string   `json:"issuer"`
	JWKSURI                string   `json:"jwks_uri"`
	EndSessionEndpoint     string   `json:"end_session_endpoint"`
	GrantTypesSupported    []string `json:"grant_types_supported"`
	IssParameterSupported  bool     `json:"authorization_response_iss_parameter_supported"`
	CodeChallengeMethods   []string `json:"code_challenge_methods_supported"`
	IDTokenSigningAlgs     []string `json:"id_token_signing_alg_values_supported"`
	RevocationEndpoint     string   `json:"revocation_endpoint"`
	IntrospectionEndpoint  string   `json:"introspection_endpoint"`
	TokenEndpointAuthMeths []string `json:"token_endpoint_auth_methods_supported"`
}

func discover(ctx context.Context, c Config, field string, ic Issuer) (*issuer, error) {
	client := noDowngrade(c.HTTPClient, hasOptOut(ic.OptOuts, OptOutAllowHTTPIssuer))
	dctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(dctx, client), ic.URL)
	if err != nil {
		return nil, discoveryError(ic.URL, field, err)
	}
	var d discovery
	if err := p.Claims(&d); err != nil {
		return nil, fmt.Errorf("auth: discovery for issuer %q: %w", ic.URL, err)
	}
	if err := checkEndpointURL(ic.URL, "jwks_uri", d.JWKSURI, ic.OptOuts); err != nil {
		return nil, err
	}
	ks := &keySet{
		issuer: ic.URL, jwksURL: d.JWKSURI, client: client,
		ttl: c.KeyTTL, cooldown: c.RefreshCooldown, timeout: c.Timeout, now: c.Now, logger: c.Logger,
	}
	roles, groups, scopes := ic.Claims.Roles, ic.Claims.Groups, ic.Claims.Scopes
	if len(roles) == 0 {
		roles = []string{"roles"}
	}
	if len(groups) == 0 {
		groups = []string{"groups"}
	}
	if len(scopes) == 0 {
		scopes = []string{"scope", "scp"}
	}
	is := &issuer{
		url:        ic.URL,
		audiences:  slices.Clone(ic.Audiences),
		azps:       slices.Clone(ic.AuthorizedParties),
		algs:       slices.Clone(ic.Algorithms),
		claims:     ClaimMapping{Roles: roles, Groups: groups, Scopes: scopes},
		untyped:    hasOptOut(ic.OptOuts, OptOutAllowUntypedTokens),
		keys:       ks,
		provider:   p,
		discovered: d,
	}
	for _, a := range is.algs {
		is.joseAlgs = append(is.joseAlgs, jose.SignatureAlgorithm(a))
	}
	return is, nil
}

// discoveryError wraps a failed discovery request. When the cause is the
// issuer's TLS certificate, it says what is wrong and which field fixes
// it: an untrusted CA (the usual mistake with a private CA or a test
// provider), a certificate for another host, or one that is expired or
// otherwise invalid.
func discoveryError(issuerURL, clientField string, err error) error {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("auth: discovery for issuer %q: %w; the issuer's TLS certificate is not trusted: set %s to a client whose TLS config trusts the issuer's CA (with authtest, its Server.Client())", issuerURL, err, clientField)
	case errors.As(err, &host):
		return fmt.Errorf("auth: discovery for issuer %q: %w; the issuer's TLS certificate is not valid for the issuer's host: use the issuer URL exactly as the provider publishes it (the host its certificate names)", issuerURL, err)
	case errors.As(err, &invalid):
		return fmt.Errorf("auth: discovery for issuer %q: %w; the issuer's TLS certificate is invalid (expired, not yet valid, or not usable for a server): the provider must renew or fix it, or check this machine's clock", issuerURL, err)
	}
	return fmt.Errorf("auth: discovery for issuer %q: %w", issuerURL, err)
}
