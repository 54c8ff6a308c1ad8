package authtest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
)

// Provider is what the conformance suite needs from an OpenID provider,
// real or fake. Optional abilities are the [KeyRotator] and [LoginDriver]
// interfaces; the suite skips their tests when p lacks them.
type Provider interface {
	// Issuer is the OpenID provider's issuer URL (discovery and the
	// authorization code flow).
	Issuer() string
	// Client returns an HTTP client that reaches and trusts the provider.
	Client() *http.Client
	// BearerIssuer is how an API verifies the provider's bearer tokens:
	// their issuer URL, audience and any opt-outs the provider needs.
	BearerIssuer() auth.Issuer
	// BearerToken returns a fresh, valid bearer token from BearerIssuer.
	BearerToken(ctx context.Context) (string, error)
}

// KeyRotator is a Provider that can rotate the key signing its bearer
// tokens, keeping the previous key published for verification.
type KeyRotator interface {
	RotateSigningKeys(ctx context.Context) error
}

// LoginDriver is a Provider whose authorization code flow a test can play.
type LoginDriver interface {
	// LoginClient returns the registered client and its redirect URL.
	LoginClient() (clientID, clientSecret, redirectURL string)
	// Authorize plays the signed-in user at the provider: given the
	// authorization URL the relying party built, it returns the URL the
	// provider sends the browser back to (with code and state).
	Authorize(ctx context.Context, authURL string) (callbackURL string, err error)
}

// conformance opt-outs for providers on plain-http loopback.
func httpOptOuts(issuers ...string) []paved.OptOut {
	for _, is := range issuers {
		if strings.HasPrefix(is, "http://") {
			return []paved.OptOut{auth.AllowHTTPIssuer("conformance run against a loopback development provider")}
		}
	}
	return nil
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// conformanceClock is a wall clock the suite can move forward, past the
// verifier's refresh cooldown, instead of sleeping.
type conformanceClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *conformanceClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *conformanceClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func newConformanceVerifier(t *testing.T, p Provider, clock *conformanceClock, mod func(*auth.Issuer)) *auth.Verifier {
	t.Helper()
	is := p.BearerIssuer()
	if mod != nil {
		mod(&is)
	}
	if clock == nil {
		clock = &conformanceClock{}
	}
	v, err := auth.New(context.Background(), auth.Config{
		Issuers: []auth.Issuer{is}, HTTPClient: p.Client(), Logger: quietLogger(), Posture: &paved.Posture{},
		Events: paved.NopSink{}, CacheSize: -1, Now: clock.Now,
	})
	if err != nil {
		t.Fatalf("auth.New for %s: %v", is.URL, err)
	}
	return v
}

func wantReason(t *testing.T, err error, sentinel error, reason string) {
	t.Helper()
	var e *auth.Error
	if !errors.Is(err, sentinel) || !errors.As(err, &e) || e.Reason != reason {
		t.Fatalf("error = %v, want %v with reason %q", err, sentinel, reason)
	}
}

func decodeHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("token header: %v", err)
	}
	return h
}

func encodeJSON(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// RunConformance runs the provider conformance suite against p. The same
// suite runs against [Server] in unit tests and against a real provider
// (Vault) in the integration run, so the fake is trusted only where the
// real one agrees. The cases:
//
//   - Discovery: the discovery document and key set (no private or
//     symmetric keys, no alg none or HS*, every key with a kid);
//   - BearerToken, BadTokens: a bearer token verifies with [auth.Verifier];
//     tampered, alg none, truncated, unknown-kid and wrong-audience
//     tokens are refused with their reasons;
//   - KeyRotation (a [KeyRotator]): tokens of the new and the previous key
//     verify;
//   - CodePKCE (a [LoginDriver]): sign-in through [auth.Login], a forged
//     state and a PKCE mismatch refused, codes single use;
//   - Userinfo (a LoginDriver; skipped without userinfo_endpoint): the
//     user's access token is served; an ID token and (when the client
//     credentials grant is listed) a client-credentials token are refused
//     with 401 invalid_token (RFC 6750 section 3.1);
//   - Refresh (a LoginDriver; skipped unless grant_types_supported lists
//     refresh_token): offline_access without prompt=consent is not granted
//     (OpenID Connect Core 11), with prompt=consent a refresh token is
//     issued, and a refreshed ID token keeps iss, sub, aud, azp and the
//     original auth_time with a new iat (Core 12.2);
//   - EndSession (a LoginDriver and [LogoutDriver]; skipped without
//     end_session_endpoint): RP-initiated logout by GET and POST redirects
//     to the registered URI with state when id_token_hint (even expired,
//     with a [ClockAdvancer]) or client_id names the client, and not for
//     an unregistered URI, a forged hint, a client_id that does not match,
//     or when neither names the client.
//
// A provider that knowingly departs from a case declares it as a
// [Deviator].
func RunConformance(t *testing.T, p Provider) {
	ctx := context.Background()
	t.Run("Discovery", func(t *testing.T) { conformDiscovery(t, p) })
	t.Run("BearerToken", func(t *testing.T) {
		v := newConformanceVerifier(t, p, nil, nil)
		tok, err := p.BearerToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := v.Verify(ctx, tok)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if pr.Subject == "" || pr.Issuer != p.BearerIssuer().URL {
			t.Fatalf("principal = %+v", pr)
		}
		if err := v.Check(ctx); err != nil {
			t.Fatalf("Check: %v", err)
		}
	})
	t.Run("BadTokens", func(t *testing.T) { conformBadTokens(t, p) })
	t.Run("KeyRotation", func(t *testing.T) {
		r, ok := p.(KeyRotator)
		if !ok {
			t.Skip("provider cannot rotate keys")
		}
		clock := &conformanceClock{}
		v := newConformanceVerifier(t, p, clock, nil)
		before, err := p.BearerToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(ctx, before); err != nil {
			t.Fatalf("before rotation: %v", err)
		}
		if err := r.RotateSigningKeys(ctx); err != nil {
			t.Fatalf("rotate: %v", err)
		}
		clock.Advance(auth.DefaultRefreshCooldown + time.Second) // past the verifier's refresh cooldown
		after, err := p.BearerToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if decodeHeader(t, before)["kid"] == decodeHeader(t, after)["kid"] {
			t.Fatal("rotation did not change the signing kid")
		}
		if _, err := v.Verify(ctx, after); err != nil {
			t.Fatalf("token from the new key: %v", err)
		}
		if _, err := v.Verify(ctx, before); err != nil {
			t.Fatalf("token from the previous, still published key: %v", err)
		}
	})
	t.Run("CodePKCE", func(t *testing.T) {
		d, ok := p.(LoginDriver)
		if !ok {
			t.Skip("provider has no login driver")
		}
		conformLogin(t, p, d)
	})
	runProtocolCases(t, p)
}

func conformDiscovery(t *testing.T, p Provider) {
	c := p.Client()
	get := func(u string, v any) {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", u, resp.StatusCode)
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
	}
	for _, iss := range []string{p.Issuer(), p.BearerIssuer().URL} {
		var d struct {
			Issuer  string   `json:"issuer"`
			JWKSURI string   `json:"jwks_uri"`
			Algs    []string `json:"id_token_signing_alg_values_supported"`
		}
		get(strings.TrimSuffix(iss, "/")+"/.well-known/openid-configuration", &d)
		if d.Issuer != iss || d.JWKSURI == "" {
			t.Fatalf("discovery for %s: issuer %q jwks_uri %q", iss, d.Issuer, d.JWKSURI)
		}
		for _, a := range d.Algs {
			if a == "none" || strings.HasPrefix(a, "HS") {
				t.Fatalf("%s advertises alg %s", iss, a)
			}
		}
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		get(d.JWKSURI, &set)
		if len(set.Keys) == 0 {
			t.Fatalf("%s: empty key set", iss)
		}
		for _, k := range set.Keys {
			if _, priv := k["d"]; priv || k["kty"] == "oct" {
				t.Fatalf("%s publishes private or symmetric key material (kid %v)", iss, k["kid"])
			}
			if k["kid"] == nil || k["kid"] == "" {
				t.Fatalf("%s: key without kid", iss)
			}
		}
	}
	if p.Issuer() != p.BearerIssuer().URL {
		return
	}
	var d map[string]any
	get(strings.TrimSuffix(p.Issuer(), "/")+"/.well-known/openid-configuration", &d)
	for _, k := range []string{"authorization_endpoint", "token_endpoint"} {
		if s, _ := d[k].(string); s == "" {
			t.Fatalf("discovery lacks %s", k)
		}
	}
}

func conformBadTokens(t *testing.T, p Provider) {
	ctx := context.Background()
	v := newConformanceVerifier(t, p, nil, nil)
	tok, err := p.BearerToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("bearer token is not a compact JWS (%d segments)", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["sub"] = "mallory"
	header := decodeHeader(t, tok)
	noneHeader := map[string]any{"alg": "none", "typ": header["typ"], "kid": header["kid"]}
	if noneHeader["typ"] == nil {
		delete(noneHeader, "typ")
	}
	forgedKID := map[string]any{}
	for k, val := range header {
		forgedKID[k] = val
	}
	forgedKID["kid"] = "conformance-unknown-kid"
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	tests := []struct {
		name     string
		tok      string
		sentinel error
		reason   string
	}{
		{"tampered payload", parts[0] + "." + encodeJSON(claims) + "." + parts[2], auth.ErrSignature, auth.ReasonBadSignature},
		{"alg none", encodeJSON(noneHeader) + "." + parts[1] + ".", auth.ErrHeader, auth.ReasonAlgNotAllowed},
		{"truncated signature", parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig[:len(sig)/2]), auth.ErrSignature, auth.ReasonBadSignature},
		{"unknown kid", encodeJSON(forgedKID) + "." + parts[1] + "." + parts[2], auth.ErrKey, auth.ReasonUnknownKID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(ctx, tt.tok)
			wantReason(t, err, tt.sentinel, tt.reason)
		})
	}
	t.Run("wrong audience", func(t *testing.T) {
		v := newConformanceVerifier(t, p, nil, func(is *auth.Issuer) { is.Audiences = []string{"conformance-other-api"} })
		_, err := v.Verify(ctx, tok)
		wantReason(t, err, auth.ErrClaims, auth.ReasonWrongAudience)
	})
}

func conformLogin(t *testing.T, p Provider, d LoginDriver) {
	ctx := context.Background()
	clientID, secret, redirect := d.LoginClient()
	key := make([]byte, 32)
	copy(key, "paved-conformance-cookie-key-000")
	l, err := auth.NewLogin(ctx, auth.LoginConfig{
		Issuer: p.Issuer(), ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
		CookieKeys: [][]byte{key}, HTTPClient: p.Client(), Logger: quietLogger(), Posture: &paved.Posture{},
		Events: paved.NopSink{}, OptOuts: httpOptOuts(p.Issuer()),
	})
	if err != nil {
		t.Fatalf("NewLogin: %v", err)
	}
	cbPath := "/callback"
	if u, err := url.Parse(redirect); err == nil && u.Path != "" {
		cbPath = u.Path
	}
	mux := http.NewServeMux()
	mux.Handle("GET /login", l.LoginHandler())
	mux.Handle("GET "+cbPath, l.CallbackHandler())
	mux.Handle("GET /app", l.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr, _ := paved.PrincipalFrom(r.Context())
		_, _ = io.WriteString(w, pr.Subject)
	})))
	do := func(target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	find := func(w *httptest.ResponseRecorder, name string) *http.Cookie {
		for _, c := range w.Result().Cookies() {
			if c.Name == name && c.MaxAge >= 0 {
				return c
			}
		}
		return nil
	}
	start := func(t *testing.T) (*http.Cookie, string) {
		w := do("/login?return_to=/app")
		flow := find(w, auth.FlowCookie)
		if w.Code != http.StatusSeeOther || flow == nil {
			t.Fatalf("/login = %d", w.Code)
		}
		return flow, w.Header().Get("Location")
	}
	reason := func(w *httptest.ResponseRecorder) string {
		var body map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		s, _ := body["reason"].(string)
		return s
	}
	t.Run("SignIn", func(t *testing.T) {
		flow, authURL := start(t)
		cb, err := d.Authorize(ctx, authURL)
		if err != nil {
			t.Fatalf("authorize: %v", err)
		}
		w := do(cb, flow)
		sess := find(w, auth.SessionCookie)
		if w.Code != http.StatusSeeOther || sess == nil {
			t.Fatalf("callback = %d %s", w.Code, w.Body)
		}
		w2 := do("/app", sess)
		if w2.Code != http.StatusOK || w2.Body.Len() == 0 {
			t.Fatalf("/app = %d %q", w2.Code, w2.Body)
		}
		// The code is single use.
		if w := do(cb, flow); w.Code == http.StatusSeeOther {
			t.Fatal("authorization code accepted twice")
		}
	})
	t.Run("WrongState", func(t *testing.T) {
		flow, authURL := start(t)
		cb, err := d.Authorize(ctx, authURL)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Set("state", "forged")
		u.RawQuery = q.Encode()
		if w := do(u.String(), flow); reason(w) != auth.ReasonStateMismatch {
			t.Fatalf("forged state = %d %s", w.Code, w.Body)
		}
	})
	t.Run("PKCEMismatch", func(t *testing.T) {
		flow, authURL := start(t)
		u, _ := url.Parse(authURL)
		q := u.Query()
		q.Set("code_challenge", strings.Repeat("A", 43)) // not the verifier's
		u.RawQuery = q.Encode()
		cb, err := d.Authorize(ctx, u.String())
		if err != nil {
			t.Fatal(err)
		}
		if w := do(cb, flow); reason(w) != auth.ReasonExchange {
			t.Fatalf("PKCE mismatch = %d %s", w.Code, w.Body)
		}
	})
}

// ---- Server as a conformance Provider ----

var (
	_ Provider      = (*Server)(nil)
	_ KeyRotator    = (*Server)(nil)
	_ LoginDriver   = (*Server)(nil)
	_ LogoutDriver  = (*Server)(nil)
	_ ClockAdvancer = (*Server)(nil)
)

// BearerIssuer implements [Provider].
func (s *Server) BearerIssuer() auth.Issuer {
	return auth.Issuer{URL: s.Issuer(), Audiences: []string{s.cfg.Audience}}
}

// BearerToken implements [Provider] with [Server.Mint].
func (s *Server) BearerToken(context.Context) (string, error) {
	return s.MintToken(Token{})
}

// RotateSigningKeys implements [KeyRotator] with [Server.RotateKeys].
func (s *Server) RotateSigningKeys(context.Context) error {
	s.RotateKeys()
	return nil
}

// LoginClient implements [LoginDriver]; the redirect URL is
// the first of Config.RedirectURIs, or DefaultRedirectURI.
func (s *Server) LoginClient() (clientID, clientSecret, redirectURL string) {
	redirectURL = DefaultRedirectURI
	if len(s.cfg.RedirectURIs) > 0 {
		redirectURL = s.cfg.RedirectURIs[0]
	}
	return s.cfg.ClientID, s.cfg.ClientSecret, redirectURL
}

// Authorize implements [LoginDriver]: it requests authURL (the user is
// logged in and consents automatically) and returns the redirect target.
func (s *Server) Authorize(ctx context.Context, authURL string) (string, error) {
	c := s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	_ = resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || loc == "" {
		return "", fmt.Errorf("authtest: authorize answered %d", resp.StatusCode)
	}
	if u, err := url.Parse(loc); err == nil && slices.Contains([]string{""}, u.Query().Get("code")) {
		return "", fmt.Errorf("authtest: authorize returned error %q", u.Query().Get("error"))
	}
	return loc, nil
}
