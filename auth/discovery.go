package auth

import (
	"context"
	"fmt"
	"slices"

	"github.com/coreos/go-oidc/v3/oidc"
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

func discover(ctx context.Context, c Config, ic Issuer) (*issuer, error) {
	client := noDowngrade(c.HTTPClient, hasOptOut(ic.OptOuts, OptOutHTTPIssuer))
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), ic.URL)
	if err != nil {
		return nil, fmt.Errorf("auth: discovery for issuer %q: %w", ic.URL, err)
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
		ttl: c.KeyTTL, cooldown: c.RefreshCooldown, now: c.Now, logger: c.Logger,
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
		untyped:    hasOptOut(ic.OptOuts, OptOutUntypedTokens),
		keys:       ks,
		provider:   p,
		discovered: d,
	}
	is.oidc = oidc.NewVerifier(ic.URL, ks, &oidc.Config{
		// Audiences (several), expiry, nbf and iat with skew are checked
		// by paved after go-oidc has checked the signature and issuer.
		SkipClientIDCheck:    true,
		SkipExpiryCheck:      true,
		SupportedSigningAlgs: is.algs,
		Now:                  c.Now,
	})
	return is, nil
}
