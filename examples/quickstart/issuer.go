package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
)

// Environment variables that switch the quickstart from its stand-ins to
// the real systems. VAULT_ADDR, VAULT_TOKEN and REDIS_ADDR are as the
// integration run's env file (scripts/services.sh) sets them; its
// PAVED_OIDC_ISSUER is Vault's provider for browser logins, whose bearer
// tokens come from PAVED_OIDC_TOKEN_ISSUER for PAVED_OIDC_TOKEN_AUDIENCE:
// set PAVED_OIDC_ISSUER and PAVED_OIDC_AUDIENCE to those two (the file
// alone sets no audience, so the start stops and says so).
const (
	envIssuer   = "PAVED_OIDC_ISSUER"   // your OpenID provider's issuer URL
	envAudience = "PAVED_OIDC_AUDIENCE" // the audience its tokens for this API carry
	// envUntyped, when set, is the reason to accept access tokens without
	// the RFC 9068 typ "at+jwt" header (Vault's identity tokens, older
	// Keycloak): the value is the opt-out's reason, never a boolean.
	envUntyped = "PAVED_OIDC_ALLOW_UNTYPED_TOKENS"
	// envIssuerCA names a PEM file of the CA that signed the issuer's
	// certificate, for a provider on a private CA; empty means the
	// system's roots.
	envIssuerCA = "PAVED_OIDC_CACERT"
	envRedis    = "REDIS_ADDR"
	envVault    = "VAULT_ADDR"
)

// tokenIssuer is where the quickstart's bearer tokens come from.
type tokenIssuer struct {
	verifier *auth.Verifier
	// mint issues a token with claims, or is nil for a real issuer: the
	// quickstart cannot mint that one's tokens, the user brings one.
	mint     func(claims map[string]any) string
	url      string
	audience string
	close    func()
}

// setupIssuer verifies bearer tokens from the issuer named by
// PAVED_OIDC_ISSUER (for the audience PAVED_OIDC_AUDIENCE), or, when it is
// not set, from an in-process stand-in OpenID provider (package authtest)
// on its own loopback TLS port, which also mints the tokens the quickstart
// prints. An http:// issuer is accepted only on loopback (a Vault dev
// server), through auth's named opt-out.
func setupIssuer(ctx context.Context, getenv func(string) string, logger *slog.Logger, posture *paved.Posture, reg *paved.Registration) (*tokenIssuer, error) {
	issuerURL, audience := getenv(envIssuer), getenv(envAudience)
	if issuerURL == "" {
		// What only your issuer reads, set without it, is a mistake
		// to say, not a setting to ignore.
		for _, name := range []string{envAudience, envIssuerCA, envUntyped} {
			if getenv(name) != "" {
				return nil, fmt.Errorf("%s is set but %s is not: set %s and %s to use your OpenID provider", name, envIssuer, envIssuer, envAudience)
			}
		}
		idp, err := authtest.Start(authtest.Config{TokenTTL: time.Hour})
		if err != nil {
			return nil, fmt.Errorf("in-process OpenID provider: %w", err)
		}
		v, err := auth.New(ctx, auth.Config{
			Issuers:    []auth.Issuer{{URL: idp.Issuer()}},
			Audiences:  []string{idp.Audience()},
			HTTPClient: idp.Client(), // trusts the provider's test certificate
			Logger:     logger,
			Posture:    posture,
		})
		if err != nil {
			idp.Close()
			return nil, fmt.Errorf("token verifier: %w", err)
		}
		logger.Info("token issuer: in-process stand-in (authtest); set "+envIssuer+" and "+envAudience+" to use your OpenID provider", "issuer", idp.Issuer())
		reg.SetControl("real-issuer", false, "in-process stand-in (authtest) that mints the printed tokens; set "+envIssuer+" and "+envAudience+" for your provider")
		return &tokenIssuer{verifier: v, mint: func(c map[string]any) string { return idp.Mint(c) },
			url: idp.Issuer(), audience: idp.Audience(), close: idp.Close}, nil
	}
	if audience == "" {
		return nil, fmt.Errorf("%s is set but %s is not: name the audience your provider puts in this API's tokens", envIssuer, envAudience)
	}
	is := auth.Issuer{URL: issuerURL}
	u, err := url.Parse(issuerURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envIssuer, err)
	}
	if u.Scheme == "http" {
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%s %q: http is accepted only on loopback (a development provider such as a Vault dev server); use https", envIssuer, issuerURL)
		}
		is.OptOuts = append(is.OptOuts, auth.AllowHTTPIssuer("quickstart: development OpenID provider on loopback ("+envIssuer+")"))
	}
	if reason := getenv(envUntyped); reason != "" {
		if isBoolean(reason) {
			return nil, fmt.Errorf("%s is the reason to accept untyped access tokens, not a switch: say why, such as %q", envUntyped, "Vault identity tokens carry no at+jwt typ")
		}
		is.OptOuts = append(is.OptOuts, auth.AllowUntypedTokens(reason))
	}
	client, err := issuerClient(getenv(envIssuerCA))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envIssuerCA, err)
	}
	// The transport is the quickstart's own, so that closing the issuer
	// leaves no idle connection to it behind.
	closeClient := client.CloseIdleConnections
	v, err := auth.New(ctx, auth.Config{Issuers: []auth.Issuer{is}, Audiences: []string{audience}, HTTPClient: client, Logger: logger, Posture: posture})
	if err != nil {
		closeClient()
		return nil, fmt.Errorf("token verifier for %s: %w", envIssuer, err)
	}
	logger.Info("token issuer: "+envIssuer, "issuer", issuerURL, "audience", audience)
	reg.SetControl("real-issuer", true, envIssuer+" "+issuerURL+", audience "+audience)
	return &tokenIssuer{verifier: v, url: issuerURL, audience: audience, close: closeClient}, nil
}

// issuerClient returns an HTTP client of its own (a clone of
// http.DefaultTransport) for the issuer: trusting only the CA certificates
// in the PEM file caFile, or the system's roots when caFile is empty.
func issuerClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(filepath.Clean(caFile))
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}, nil
}

// isBoolean reports whether v reads as a switch rather than a reason.
func isBoolean(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "0", "t", "f", "y", "n", "true", "false", "yes", "no", "on", "off":
		return true
	}
	return false
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
