package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newVerifier returns a verifier trusting srv, with the provider's clock.
func newVerifier(t testing.TB, srv *authtest.Server, mod ...func(*auth.Config)) *auth.Verifier {
	t.Helper()
	cfg := auth.Config{
		Issuers:    []auth.Issuer{{URL: srv.Issuer()}},
		Audiences:  []string{srv.Audience()},
		HTTPClient: srv.Client(),
		Now:        srv.Now,
		Logger:     quiet,
		Posture:    &paved.Posture{},
		Events:     paved.NopSink{},
	}
	for _, m := range mod {
		m(&cfg)
	}
	v, err := auth.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	return v
}

func enc(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func segs(tok string) []string { return strings.Split(tok, ".") }

// truncSeg drops the second half of a segment's decoded bytes, keeping it
// canonical base64url.
func truncSeg(seg string) string {
	b, _ := base64.RawURLEncoding.DecodeString(seg)
	return base64.RawURLEncoding.EncodeToString(b[:len(b)/2])
}

func mustMint(t testing.TB, srv *authtest.Server, tok authtest.Token) string {
	t.Helper()
	s, err := srv.MintToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rsaPublicPEM(t testing.TB, srv *authtest.Server) []byte {
	der, err := x509.MarshalPKIXPublicKey(srv.PublicKey("RS256").(*rsa.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func rsaPublicDER(t testing.TB, srv *authtest.Server) []byte {
	der, err := x509.MarshalPKIXPublicKey(srv.PublicKey("RS256").(*rsa.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func attackerJWK(t testing.TB) map[string]any {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"kty": "EC", "crv": "P-256",
		"x": base64.RawURLEncoding.EncodeToString(k.X.FillBytes(make([]byte, 32))),
		"y": base64.RawURLEncoding.EncodeToString(k.Y.FillBytes(make([]byte, 32)))}
}

func TestVerifyAccepts(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv, func(c *auth.Config) {
		c.Issuers[0].Claims = auth.ClaimMapping{Roles: []string{"realm_access.roles"}, Groups: []string{"groups"}}
	})
	now := srv.Now()
	tests := []struct {
		name string
		tok  authtest.Token
	}{
		{"ES256", authtest.Token{}},
		{"RS256", authtest.Token{Alg: "RS256"}},
		{"typ application/at+jwt", authtest.Token{Header: map[string]any{"typ": "application/at+jwt"}}},
		{"aud array with ours", authtest.Token{Claims: map[string]any{"aud": []string{"x", srv.Audience()}}}},
		{"azp equal to audience", authtest.Token{Claims: map[string]any{"azp": srv.Audience()}}},
		{"azp another client (AuthorizedParties unset)", authtest.Token{Claims: map[string]any{"azp": "frontend-spa"}}},
		{"expired within skew", authtest.Token{Claims: map[string]any{"exp": now.Add(-30 * time.Second).Unix(), "iat": now.Add(-time.Hour).Unix()}}},
		{"nbf within skew", authtest.Token{Claims: map[string]any{"nbf": now.Add(30 * time.Second).Unix()}}},
		{"mapped claims", authtest.Token{Claims: map[string]any{
			"scope": "orders:read orders:write", "realm_access": map[string]any{"roles": []string{"admin"}},
			"groups": []string{"ops"}, "amr": []string{"pwd", "otp"}, "acr": "silver"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), mustMint(t, srv, tt.tok))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Subject != authtest.DefaultSubject || p.Issuer != srv.Issuer() {
				t.Fatalf("principal = %+v", p)
			}
		})
	}
	p, err := v.Verify(context.Background(), mustMint(t, srv, tests[len(tests)-1].tok))
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasScope("orders:write") || !p.HasRole("admin") || !p.InGroup("ops") || !auth.MFAPresent(p) || p.ACR != "silver" {
		t.Fatalf("claim mapping: %+v", p)
	}
}

// TestVerifyRejects is the bad-input list: each token is rejected
// with its sentinel and reason.
func TestVerifyRejects(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	now := srv.Now()
	good := srv.Mint(nil)
	g := segs(good)
	esKID, rsKID := srv.KeyIDs()
	n := elliptic.P256().Params().N
	tampered := g[0] + "." + enc(map[string]any{"iss": srv.Issuer(), "sub": "mallory", "aud": srv.Audience(), "exp": now.Add(time.Hour).Unix()}) + "." + g[2]
	tests := []struct {
		name   string
		tok    string
		want   error
		reason string
	}{
		{"alg none", mustMint(t, srv, authtest.Token{Alg: "none"}), auth.ErrHeader, auth.ReasonAlgNotAllowed},
		{"HS256 with RSA public key", mustMint(t, srv, authtest.Token{Alg: "HS256", HMACKey: rsaPublicPEM(t, srv)}), auth.ErrHeader, auth.ReasonAlgNotAllowed},
		{"unknown kid", mustMint(t, srv, authtest.Token{Header: map[string]any{"kid": "not-a-key"}}), auth.ErrKey, auth.ReasonUnknownKID},
		{"kid with path", mustMint(t, srv, authtest.Token{Header: map[string]any{"kid": "../../../../etc/passwd"}}), auth.ErrHeader, auth.ReasonInvalidKID},
		{"kid with SQL", mustMint(t, srv, authtest.Token{Header: map[string]any{"kid": "1' OR '1'='1"}}), auth.ErrHeader, auth.ReasonInvalidKID},
		{"jku header", mustMint(t, srv, authtest.Token{Header: map[string]any{"jku": "https://attacker.example/jwks"}}), auth.ErrHeader, auth.ReasonForbiddenHeader},
		{"x5u header", mustMint(t, srv, authtest.Token{Header: map[string]any{"x5u": "https://attacker.example/cert"}}), auth.ErrHeader, auth.ReasonForbiddenHeader},
		{"embedded jwk", mustMint(t, srv, authtest.Token{Header: map[string]any{"jwk": attackerJWK(t), "kid": nil}}), auth.ErrHeader, auth.ReasonForbiddenHeader},
		{"x5c header", mustMint(t, srv, authtest.Token{Header: map[string]any{"x5c": []string{"MIIB"}}}), auth.ErrHeader, auth.ReasonForbiddenHeader},
		{"expired", srv.Mint(map[string]any{"exp": now.Add(-2 * time.Minute).Unix(), "iat": now.Add(-time.Hour).Unix()}), auth.ErrExpired, auth.ReasonExpired},
		{"not yet valid", srv.Mint(map[string]any{"nbf": now.Add(2 * time.Minute).Unix()}), auth.ErrExpired, auth.ReasonNotYetValid},
		{"issued in the future", srv.Mint(map[string]any{"iat": now.Add(2 * time.Minute).Unix()}), auth.ErrExpired, auth.ReasonIssuedInFuture},
		{"missing exp", srv.Mint(map[string]any{"exp": nil}), auth.ErrClaims, auth.ReasonMissingClaim},
		{"missing sub", srv.Mint(map[string]any{"sub": nil}), auth.ErrClaims, auth.ReasonMissingClaim},
		{"wrong iss", srv.Mint(map[string]any{"iss": "https://evil.example"}), auth.ErrClaims, auth.ReasonUnknownIssuer},
		{"missing iss", srv.Mint(map[string]any{"iss": nil}), auth.ErrClaims, auth.ReasonMissingClaim},
		{"missing aud", srv.Mint(map[string]any{"aud": nil}), auth.ErrClaims, auth.ReasonMissingAudience},
		{"wrong aud", srv.Mint(map[string]any{"aud": "other-api"}), auth.ErrClaims, auth.ReasonWrongAudience},
		{"aud array without ours", srv.Mint(map[string]any{"aud": []string{"a", "b"}}), auth.ErrClaims, auth.ReasonWrongAudience},
		{"ID token as access token", srv.MintIDToken(nil), auth.ErrClaims, auth.ReasonIDToken},
		{"typ JWT", mustMint(t, srv, authtest.Token{Header: map[string]any{"typ": "JWT"}}), auth.ErrClaims, auth.ReasonWrongTyp},
		{"no typ", mustMint(t, srv, authtest.Token{Header: map[string]any{"typ": nil}}), auth.ErrClaims, auth.ReasonWrongTyp},
		{"unknown crit", mustMint(t, srv, authtest.Token{Header: map[string]any{"crit": []string{"urn:x:unknown"}, "urn:x:unknown": true}}), auth.ErrHeader, auth.ReasonUnsupportedCrit},
		{"empty signature", g[0] + "." + g[1] + ".", auth.ErrSignature, auth.ReasonBadSignature},
		{"zeroed signature", g[0] + "." + g[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64)), auth.ErrSignature, auth.ReasonBadSignature},
		{"ECDSA r=s=0", authtest.WithECDSASignature(good, big.NewInt(0), big.NewInt(0)), auth.ErrSignature, auth.ReasonBadSignature},
		{"ECDSA r=0 s=N", authtest.WithECDSASignature(good, big.NewInt(0), n), auth.ErrSignature, auth.ReasonBadSignature},
		{"ECDSA r=N s=N", authtest.WithECDSASignature(good, n, n), auth.ErrSignature, auth.ReasonBadSignature},
		{"tampered payload", tampered, auth.ErrSignature, auth.ReasonBadSignature},
		{"ES256 header on RSA signature", mustMint(t, srv, authtest.Token{Alg: "RS256", Header: map[string]any{"alg": "ES256", "kid": esKID}}), auth.ErrSignature, auth.ReasonBadSignature},
		{"ES256 header with the RSA key's kid", mustMint(t, srv, authtest.Token{Alg: "RS256", Header: map[string]any{"alg": "ES256", "kid": rsKID}}), auth.ErrKey, auth.ReasonAlgKeyMismatch},
		{"RS256 header with the EC key's kid", mustMint(t, srv, authtest.Token{Alg: "ES256", Header: map[string]any{"alg": "RS256", "kid": esKID}}), auth.ErrKey, auth.ReasonAlgKeyMismatch},
		{"ES384 header with the P-256 key's kid", mustMint(t, srv, authtest.Token{Alg: "ES256", Header: map[string]any{"alg": "ES384", "kid": esKID}}), auth.ErrKey, auth.ReasonAlgKeyMismatch},
		{"PS256 header with the RS256 key's kid", mustMint(t, srv, authtest.Token{Alg: "RS256", Header: map[string]any{"alg": "PS256", "kid": rsKID}}), auth.ErrKey, auth.ReasonAlgKeyMismatch},
		{"HS256 with RSA public key and its kid", mustMint(t, srv, authtest.Token{Alg: "HS256", HMACKey: rsaPublicPEM(t, srv), Header: map[string]any{"kid": rsKID}}), auth.ErrHeader, auth.ReasonAlgNotAllowed},
		{"HS256 with RSA public key DER", mustMint(t, srv, authtest.Token{Alg: "HS256", HMACKey: rsaPublicDER(t, srv), Header: map[string]any{"kid": rsKID}}), auth.ErrHeader, auth.ReasonAlgNotAllowed},
		{"alg NONE", mustMint(t, srv, authtest.Token{Alg: "none", Header: map[string]any{"alg": "NONE"}}), auth.ErrHeader, auth.ReasonAlgNotAllowed},
		{"exp far in the past", srv.Mint(map[string]any{"exp": -1e13, "iat": now.Add(-time.Hour).Unix()}), auth.ErrExpired, auth.ReasonExpired},
		{"exp not a number", srv.Mint(map[string]any{"exp": "never"}), auth.ErrMalformed, auth.ReasonBadExp},
		{"nbf not a number", srv.Mint(map[string]any{"nbf": "soon"}), auth.ErrMalformed, auth.ReasonBadNbf},
		{"iat not a number", srv.Mint(map[string]any{"iat": true}), auth.ErrMalformed, auth.ReasonBadIat},
		{"zip header", mustMint(t, srv, authtest.Token{Header: map[string]any{"zip": "DEF"}}), auth.ErrHeader, auth.ReasonUnsupportedZip},
		{"azp not a string", srv.Mint(map[string]any{"azp": 42}), auth.ErrClaims, auth.ReasonWrongAZP},
		{"over the size cap", g[0] + "." + strings.Repeat("A", 9000) + "." + g[2], auth.ErrMalformed, auth.ReasonTooLarge},
		{"10,000 dots", strings.Repeat(".", 10000), auth.ErrMalformed, auth.ReasonTooLarge},
		{"1,000 dots", strings.Repeat(".", 1000), auth.ErrMalformed, auth.ReasonMalformed},
		{"two segments", g[0] + "." + g[1], auth.ErrMalformed, auth.ReasonMalformed},
		{"four segments", good + ".x", auth.ErrMalformed, auth.ReasonMalformed},
		{"empty payload", g[0] + ".." + g[2], auth.ErrMalformed, auth.ReasonMalformed},
		{"truncated payload", g[0] + "." + truncSeg(g[1]) + "." + g[2], auth.ErrMalformed, auth.ReasonBadJSON},
		{"truncated signature", g[0] + "." + g[1] + "." + truncSeg(g[2]), auth.ErrSignature, auth.ReasonBadSignature},
		{"truncated header", g[0][:len(g[0])-1] + "." + g[1] + "." + g[2], auth.ErrMalformed, auth.ReasonBadBase64},
		{"bad base64 chars", "e30!.e30.AAAA", auth.ErrMalformed, auth.ReasonBadBase64},
		{"base64 padding", g[0] + "=." + g[1] + "." + g[2], auth.ErrMalformed, auth.ReasonBadBase64},
		{"whitespace", g[0] + ".\n" + g[1] + "." + g[2], auth.ErrMalformed, auth.ReasonBadBase64},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("nope")) + "." + g[1] + "." + g[2], auth.ErrMalformed, auth.ReasonBadJSON},
		{"non-JSON payload", g[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("hello")) + "." + g[2], auth.ErrMalformed, auth.ReasonBadJSON},
		{"JSON array payload", g[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + "." + g[2], auth.ErrMalformed, auth.ReasonBadJSON},
		{"nested JWT payload", g[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(good)) + "." + g[2], auth.ErrMalformed, auth.ReasonNestedJWT},
		{"nested JWT cty", mustMint(t, srv, authtest.Token{Header: map[string]any{"cty": "JWT"}}), auth.ErrMalformed, auth.ReasonNestedJWT},
		{"empty", "", auth.ErrNoToken, auth.ReasonNoToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.tok)
			if p != nil || err == nil {
				t.Fatalf("Verify accepted the token: %+v", p)
			}
			var e *auth.Error
			if !errors.Is(err, tt.want) || !errors.As(err, &e) || e.Reason != tt.reason {
				t.Fatalf("Verify error = %v, want %v with reason %q", err, tt.want, tt.reason)
			}
			if tt.tok != "" && len(tt.tok) > 20 && strings.Contains(err.Error(), tt.tok[len(tt.tok)-20:]) {
				t.Fatalf("error echoes the token: %v", err)
			}
			// A rejected token is never cached: asking again gives the
			// same rejection, not a principal.
			if p, err2 := v.Verify(context.Background(), tt.tok); p != nil || reason(err2) != tt.reason {
				t.Fatalf("second Verify = %+v, %v; want the same rejection", p, err2)
			}
		})
	}
	if n := auth.CacheLen(v); n != 0 {
		t.Fatalf("rejected tokens left %d cache entries", n)
	}
}

func TestConfigValidation(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	base := func() auth.Config {
		return auth.Config{Issuers: []auth.Issuer{{URL: srv.Issuer()}}, Audiences: []string{"api"}, HTTPClient: srv.Client(), Posture: &paved.Posture{}, Logger: quiet}
	}
	tests := []struct {
		name    string
		mod     func(*auth.Config)
		field   string
		problem string
		is      error
	}{
		{"no issuers", func(c *auth.Config) { c.Issuers = nil }, "Config.Issuers", "empty", nil},
		{"no audience", func(c *auth.Config) { c.Audiences = nil }, "Config.Issuers[0].Audiences", "has no audience", nil},
		{"HMAC alg", func(c *auth.Config) { c.Algorithms = []string{"HS256"} }, "Config.Algorithms", `"HS256" is not allowed`, nil},
		{"none alg", func(c *auth.Config) { c.Issuers[0].Algorithms = []string{"none"} }, "Config.Issuers[0].Algorithms", `"none" is not allowed`, nil},
		{"skew too large", func(c *auth.Config) { c.Skew = time.Hour }, "Config.Skew", "1h0m0s is out of range", nil},
		{"skew too small", func(c *auth.Config) { c.Skew = time.Millisecond }, "Config.Skew", "out of range", nil},
		{"negative skew", func(c *auth.Config) { c.Skew = -time.Second }, "Config.Skew", "out of range", nil},
		{"token size too small", func(c *auth.Config) { c.MaxTokenSize = 100 }, "Config.MaxTokenSize", "100 bytes is out of range", nil},
		{"token size too large", func(c *auth.Config) { c.MaxTokenSize = 1 << 20 }, "Config.MaxTokenSize", "out of range", nil},
		{"key TTL too short", func(c *auth.Config) { c.KeyTTL, c.RefreshCooldown = 5*time.Second, 5*time.Second }, "Config.KeyTTL", "5s is out of range", nil},
		{"key TTL too long", func(c *auth.Config) { c.KeyTTL = 2 * time.Hour }, "Config.KeyTTL", "out of range", nil},
		{"cooldown too short", func(c *auth.Config) { c.RefreshCooldown = 10 * time.Millisecond }, "Config.RefreshCooldown", "10ms is out of range", nil},
		{"cache too large", func(c *auth.Config) { c.CacheSize = 2_000_000 }, "Config.CacheSize", "too many", nil},
		{"timeout too short", func(c *auth.Config) { c.Timeout = time.Millisecond }, "Config.Timeout", "out of range", nil},
		{"timeout too long", func(c *auth.Config) { c.Timeout = time.Hour }, "Config.Timeout", "out of range", nil},
		{"http issuer", func(c *auth.Config) { c.Issuers[0].URL = "http://127.0.0.1:1" }, "Config.Issuers[0].URL", "uses http", nil},
		{"opt-out without reason", func(c *auth.Config) { c.Issuers[0].OptOuts = []paved.OptOut{auth.AllowUntypedTokens(" ")} }, "Config.Issuers[0].OptOuts[0]", "reason of opt-out auth/allow-untyped-tokens is empty", paved.ErrNoReason},
		{"foreign opt-out", func(c *auth.Config) { c.Issuers[0].OptOuts = []paved.OptOut{paved.NewOptOut("httpx", "x", "y")} }, "Config.Issuers[0].OptOuts[0]", "does not apply", nil},
		{"empty authorized party", func(c *auth.Config) { c.Issuers[0].AuthorizedParties = []string{""} }, "Config.Issuers[0].AuthorizedParties", "empty client ID", nil},
		{"duplicate issuer", func(c *auth.Config) { c.Issuers = append(c.Issuers, c.Issuers[0]) }, "Config.Issuers[1].URL", "listed twice", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mod(&c)
			_, err := auth.New(context.Background(), c)
			ces := paved.ConfigErrors(err)
			if len(ces) != 1 || ces[0].Component != auth.Component || ces[0].Field != tt.field || !strings.Contains(ces[0].Problem, tt.problem) || ces[0].Fix == "" {
				t.Fatalf("New error = %v, want one ConfigError on %s saying %q, with a fix", err, tt.field, tt.problem)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("New error = %v, want errors.Is %v", err, tt.is)
			}
		})
	}
	t.Run("discovery fails", func(t *testing.T) {
		c := base()
		c.Issuers[0].URL = srv.Issuer() + "/nope"
		if _, err := auth.New(context.Background(), c); err == nil || !strings.Contains(err.Error(), "discovery") || paved.ConfigErrors(err) != nil {
			t.Fatalf("New error = %v, want a discovery error", err)
		}
	})
}

// TestConfigReportsEveryField: New, NewLogin and NewService report every
// bad field at once, each a ConfigError naming it.
func TestConfigReportsEveryField(t *testing.T) {
	ctx := context.Background()
	fields := func(err error) []string {
		var out []string
		for _, ce := range paved.ConfigErrors(err) {
			out = append(out, ce.Field)
		}
		return out
	}
	_, err := auth.New(ctx, auth.Config{Issuers: []auth.Issuer{{URL: "https://idp.example"}}, Audiences: []string{"api"}, Skew: time.Hour, CacheSize: 5_000_000, Algorithms: []string{"HS256"}})
	if got := fields(err); !slices.Equal(got, []string{"Config.Skew", "Config.CacheSize", "Config.Algorithms"}) {
		t.Fatalf("New fields = %v (%v)", got, err)
	}
	_, err = auth.NewLogin(ctx, auth.LoginConfig{Issuer: "http://idp.example", RedirectURL: "/cb", SessionTTL: time.Minute})
	if got := fields(err); !slices.Equal(got, []string{"LoginConfig.Issuer", "LoginConfig.ClientID", "LoginConfig.RedirectURL", "LoginConfig.CookieKeys", "LoginConfig.SessionTTL"}) {
		t.Fatalf("NewLogin fields = %v (%v)", got, err)
	}
	_, err = auth.NewService(ctx, auth.ServiceConfig{Issuer: "https://idp.example", EarlyRefresh: time.Hour, Timeout: time.Nanosecond})
	if got := fields(err); !slices.Equal(got, []string{"ServiceConfig.ClientID", "ServiceConfig.ClientSecret", "ServiceConfig.EarlyRefresh", "ServiceConfig.Timeout"}) {
		t.Fatalf("NewService fields = %v (%v)", got, err)
	}
}

// TestEmptyOptOutReason: an AllowHTTPIssuer with an empty reason is
// reported as such (wrapping paved.ErrNoReason), not as a missing
// opt-out.
func TestEmptyOptOutReason(t *testing.T) {
	ctx := context.Background()
	empty := []paved.OptOut{auth.AllowHTTPIssuer("")}
	for name, err := range map[string]error{
		"New": func() error {
			_, err := auth.New(ctx, auth.Config{Issuers: []auth.Issuer{{URL: "http://127.0.0.1:1", OptOuts: empty}}, Audiences: []string{"api"}})
			return err
		}(),
		"NewLogin": func() error {
			_, err := auth.NewLogin(ctx, auth.LoginConfig{Issuer: "http://127.0.0.1:1", OptOuts: empty, ClientID: "c", RedirectURL: redirectURL, CookieKeys: [][]byte{key1}})
			return err
		}(),
		"NewService": func() error {
			_, err := auth.NewService(ctx, auth.ServiceConfig{Issuer: "http://127.0.0.1:1", OptOuts: empty, ClientID: "c", ClientSecret: "s"})
			return err
		}(),
	} {
		ces := paved.ConfigErrors(err)
		if len(ces) != 1 || !errors.Is(err, paved.ErrNoReason) || !strings.Contains(ces[0].Problem, "allow-http-issuer is empty") || strings.Contains(err.Error(), "add auth.AllowHTTPIssuer") {
			t.Errorf("%s with AllowHTTPIssuer(\"\") = %v, want one error saying its reason is empty", name, err)
		}
	}
	_, err := auth.New(ctx, auth.Config{Issuers: []auth.Issuer{{URL: "http://127.0.0.1:1"}}, Audiences: []string{"api"}})
	if errors.Is(err, paved.ErrNoReason) || !strings.Contains(err.Error(), "add auth.AllowHTTPIssuer(reason)") {
		t.Errorf("New without the opt-out = %v, want the missing-opt-out message", err)
	}
}

// TestPostureShowsNonDefaults: a verifier registers one instance under its
// Name; settings changed from their defaults say so in the Detail.
func TestPostureShowsNonDefaults(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	posture := &paved.Posture{}
	newVerifier(t, srv, func(c *auth.Config) { c.Posture, c.Name = posture, "default-api" })
	newVerifier(t, srv, func(c *auth.Config) {
		c.Posture, c.Name = posture, "tuned-api"
		c.Skew, c.MaxTokenSize, c.KeyTTL, c.RefreshCooldown, c.CacheSize, c.Timeout = 90*time.Second, 4096, 10*time.Minute, 20*time.Second, 500, 3*time.Second
		c.Issuers[0].AuthorizedParties = []string{"spa", "cli"}
	})
	details := map[string]string{}
	for _, c := range posture.Report().Controls {
		if c.Component != auth.Component {
			t.Fatalf("control of component %q", c.Component)
		}
		details[c.Instance+"/"+c.Name] = c.Detail
	}
	for _, want := range []struct{ key, text string }{
		{"tuned-api/bearer-verification", "skew 1m30s (default 1m)"},
		{"tuned-api/bearer-verification", "max token 4096 B (default 8192 B)"},
		{"tuned-api/bearer-verification", "token cache 500 (default 10000)"},
		{"tuned-api/key-refresh-rate-limit", "key TTL 10m (default 5m)"},
		{"tuned-api/key-refresh-rate-limit", "per 20s (default 30s)"},
		{"tuned-api/key-refresh-rate-limit", "fetch timeout 3s (default 10s)"},
		{"default-api/bearer-verification", "skew 1m;"},
		{"tuned-api/bearer-verification", "clients " + srv.Issuer() + ": spa, cli"},
		{"default-api/bearer-verification", "clients " + srv.Issuer() + ": any"},
	} {
		if !strings.Contains(details[want.key], want.text) {
			t.Errorf("%s = %q, want it to contain %q", want.key, details[want.key], want.text)
		}
	}
	if strings.Contains(details["default-api/bearer-verification"], "default") {
		t.Errorf("default settings are flagged: %q", details["default-api/bearer-verification"])
	}
	if len(posture.Report().Instances()) != 2 {
		t.Fatalf("instances = %+v, want 2", posture.Report().Instances())
	}
}

func TestUntypedOptOut(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	posture := &paved.Posture{}
	v := newVerifier(t, srv, func(c *auth.Config) {
		c.Posture = posture
		c.Issuers[0].OptOuts = []paved.OptOut{auth.AllowUntypedTokens("provider does not set typ")}
	})
	for _, typ := range []any{nil, "JWT", "at+jwt"} {
		if _, err := v.Verify(context.Background(), mustMint(t, srv, authtest.Token{Header: map[string]any{"typ": typ}})); err != nil {
			t.Fatalf("typ %v: %v", typ, err)
		}
	}
	if _, err := v.Verify(context.Background(), srv.MintIDToken(map[string]any{"aud": srv.Audience()})); reason(err) != auth.ReasonIDToken {
		t.Fatalf("ID token with opt-out: %v", err)
	}
	if _, err := v.Verify(context.Background(), mustMint(t, srv, authtest.Token{Header: map[string]any{"typ": "secevent+jwt"}})); reason(err) != auth.ReasonWrongTyp {
		t.Fatalf("other typ with opt-out: %v", err)
	}
	r := posture.Report()
	if len(r.OptOuts) != 1 || r.OptOuts[0].Name != auth.OptOutAllowUntypedTokens || r.OptOuts[0].Reason != "provider does not set typ" {
		t.Fatalf("posture opt-outs = %+v", r.OptOuts)
	}
	for _, c := range r.Controls {
		if c.Name == "access-token-typ" && c.Enabled {
			t.Fatalf("typ control still enabled: %+v", c)
		}
	}
}

func reason(err error) string {
	var e *auth.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return fmt.Sprint(err)
}

func TestMultipleIssuersAndAudiences(t *testing.T) {
	a := authtest.NewServer(t, authtest.Config{Audience: "api-a"})
	b := authtest.NewServer(t, authtest.Config{Audience: "api-b", Algorithm: "RS256"})
	pool := x509.NewCertPool()
	pool.AddCert(a.Certificate())
	pool.AddCert(b.Certificate())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	v, err := auth.New(context.Background(), auth.Config{
		Issuers: []auth.Issuer{
			{URL: a.Issuer(), Audiences: []string{"api-a", "api-shared"}},
			{URL: b.Issuer(), Audiences: []string{"api-b"}, AuthorizedParties: []string{"frontend"}},
		},
		HTTPClient: client, Logger: quiet, Posture: &paved.Posture{},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tok    string
		reason string
		iss    string
	}{
		{"issuer a", a.Mint(nil), "", a.Issuer()},
		{"issuer a second audience", a.Mint(map[string]any{"aud": "api-shared"}), "", a.Issuer()},
		{"issuer b", b.Mint(map[string]any{"azp": "frontend"}), "", b.Issuer()},
		{"b's audience from a", a.Mint(map[string]any{"aud": "api-b"}), auth.ReasonWrongAudience, ""},
		{"b azp not listed", b.Mint(map[string]any{"azp": "api-b"}), auth.ReasonWrongAZP, ""},
		{"a's claims signed by b", b.Mint(map[string]any{"iss": a.Issuer(), "aud": "api-a"}), auth.ReasonUnknownKID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.tok)
			if tt.reason != "" {
				if reason(err) != tt.reason {
					t.Fatalf("Verify = %v, want reason %s", err, tt.reason)
				}
				return
			}
			if err != nil || p.Issuer != tt.iss {
				t.Fatalf("Verify = %+v, %v; want issuer %s", p, err, tt.iss)
			}
		})
	}
	if got := v.Issuers(); len(got) != 2 || got[0] != a.Issuer() {
		t.Fatalf("Issuers() = %v", got)
	}
}

// TestDiscoveryUntrustedCertificate: a discovery that fails on an
// untrusted certificate says that Config.HTTPClient is the fix.
func TestDiscoveryUntrustedCertificate(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	ctx := context.Background()
	_, err := auth.New(ctx, auth.Config{Issuers: []auth.Issuer{{URL: srv.Issuer()}}, Audiences: []string{"api"}, Logger: quiet, Posture: &paved.Posture{}})
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	if err == nil || !(errors.As(err, &unknown) || errors.As(err, &verify)) || !strings.Contains(err.Error(), "set Config.HTTPClient to a client whose TLS config trusts the issuer's CA") {
		t.Fatalf("New with the default client = %v, want the certificate error and a hint at Config.HTTPClient", err)
	}
	_, err = auth.NewLogin(ctx, auth.LoginConfig{Issuer: srv.Issuer(), ClientID: "c", RedirectURL: redirectURL, CookieKeys: [][]byte{key1}, Logger: quiet, Posture: &paved.Posture{}})
	if err == nil || !strings.Contains(err.Error(), "set LoginConfig.HTTPClient") {
		t.Fatalf("NewLogin = %v, want a hint at LoginConfig.HTTPClient", err)
	}
	_, err = auth.NewService(ctx, auth.ServiceConfig{Issuer: srv.Issuer(), ClientID: "c", ClientSecret: "s", Posture: &paved.Posture{}})
	if err == nil || !strings.Contains(err.Error(), "set ServiceConfig.HTTPClient") {
		t.Fatalf("NewService = %v, want a hint at ServiceConfig.HTTPClient", err)
	}
	// Another failure gets no such hint.
	_, err = auth.New(ctx, auth.Config{Issuers: []auth.Issuer{{URL: srv.Issuer() + "/nope"}}, Audiences: []string{"api"}, HTTPClient: srv.Client(), Logger: quiet, Posture: &paved.Posture{}})
	if err == nil || strings.Contains(err.Error(), "HTTPClient") {
		t.Fatalf("New with a wrong issuer path = %v, want no certificate hint", err)
	}
}

// TestVocabulary: the component name and the opt-out names follow the
// paved conventions (constructor, constant and wire name agree).
func TestVocabulary(t *testing.T) {
	if auth.Component != "auth" {
		t.Fatalf("Component = %q", auth.Component)
	}
	for _, tt := range []struct {
		o    paved.OptOut
		name string
	}{
		{auth.AllowUntypedTokens("r"), auth.OptOutAllowUntypedTokens},
		{auth.AllowHTTPIssuer("r"), auth.OptOutAllowHTTPIssuer},
	} {
		if tt.o.Component != auth.Component || tt.o.Name != tt.name || tt.o.Validate() != nil {
			t.Errorf("opt-out %+v, want %s/%s", tt.o, auth.Component, tt.name)
		}
	}
	if auth.OptOutAllowUntypedTokens != "allow-untyped-tokens" || auth.OptOutAllowHTTPIssuer != "allow-http-issuer" {
		t.Fatal("wire names")
	}
}

// TestDiscoveryHostnameMismatch: a certificate for another host is not
// reported as an untrusted CA.
func TestDiscoveryHostnameMismatch(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	iss := strings.Replace(srv.Issuer(), "127.0.0.1", "localhost", 1) // not in the test certificate
	_, err := auth.New(context.Background(), auth.Config{Issuers: []auth.Issuer{{URL: iss}}, Audiences: []string{"api"}, HTTPClient: srv.Client(), Logger: quiet, Posture: &paved.Posture{}})
	var host x509.HostnameError
	if !errors.As(err, &host) || strings.Contains(err.Error(), "not trusted") || !strings.Contains(err.Error(), "is not valid for the issuer's host") {
		t.Fatalf("New against a certificate for another host = %v, want the hostname error and its own hint", err)
	}
}
