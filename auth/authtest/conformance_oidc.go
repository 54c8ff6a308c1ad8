package authtest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// LogoutDriver is a [LoginDriver] with a post-logout redirect URI
// registered for its client, for the RP-initiated logout cases.
type LogoutDriver interface {
	PostLogoutRedirectURI() string
}

// ClockAdvancer is a Provider whose clock a test can move, so that the
// suite checks time-dependent behaviour (auth_time across a refresh, an
// expired id_token_hint) without sleeping. The suite moves the clock back
// (a negative d) when the case ends.
type ClockAdvancer interface {
	Advance(d time.Duration)
}

// Deviator is a Provider that declares where it knowingly departs from
// what a conformance case checks, for a behaviour its discovery document
// cannot show. The suite still checks what the case protects (for
// userinfo: that the token is refused) and fails as before when that
// fails; only the departure itself turns into a skip that gives the
// answer seen and the declared reason. A declared deviation that is no
// longer seen fails the case, so declarations do not outlive the fix.
type Deviator interface {
	// Deviation returns why the provider departs from the case named
	// name (its path below RunConformance, such as "Userinfo/IDToken"),
	// or "".
	Deviation(name string) string
}

func deviation(p Provider, name string) string {
	if d, ok := p.(Deviator); ok {
		return d.Deviation(name)
	}
	return ""
}

// providerMetadata is the part of the discovery document (OpenID Connect
// Discovery 1.0 section 3) the protocol cases read.
type providerMetadata struct {
	TokenEndpoint      string   `json:"token_endpoint"`
	UserinfoEndpoint   string   `json:"userinfo_endpoint"`
	EndSessionEndpoint string   `json:"end_session_endpoint"`
	GrantTypes         []string `json:"grant_types_supported"`
	Scopes             []string `json:"scopes_supported"`
}

// grants is grant_types_supported, with the default of Discovery 1.0
// section 3 when the document omits it.
func (m providerMetadata) grants() []string {
	if m.GrantTypes == nil {
		return []string{"authorization_code", "implicit"}
	}
	return m.GrantTypes
}

// conformanceRP is a bare relying party (golang.org/x/oauth2) for the
// cases that look at the provider's answers themselves: it builds the
// authorization request, so it can send prompt and max_age, and keeps the
// raw tokens.
type conformanceRP struct {
	p     Provider
	d     LoginDriver
	md    providerMetadata
	oauth oauth2.Config
}

func newConformanceRP(t *testing.T, p Provider, d LoginDriver) *conformanceRP {
	t.Helper()
	c := &conformanceRP{p: p, d: d}
	resp, err := p.Client().Get(strings.TrimSuffix(p.Issuer(), "/") + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d", resp.StatusCode)
	}
	var raw struct {
		providerMetadata
		AuthorizationEndpoint string `json:"authorization_endpoint"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&raw); err != nil {
		t.Fatalf("discovery: %v", err)
	}
	c.md = raw.providerMetadata
	id, secret, redirect := d.LoginClient()
	c.oauth = oauth2.Config{
		ClientID: id, ClientSecret: secret, RedirectURL: redirect,
		Endpoint: oauth2.Endpoint{AuthURL: raw.AuthorizationEndpoint, TokenURL: raw.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader},
	}
	return c
}

func (c *conformanceRP) ctx(t *testing.T) context.Context {
	return context.WithValue(t.Context(), oauth2.HTTPClient, c.p.Client())
}

// signIn runs the authorization code flow with PKCE S256 for scopes, with
// the extra authorization request parameters kv (name, value, ...).
func (c *conformanceRP) signIn(t *testing.T, scopes []string, kv ...string) *oauth2.Token {
	t.Helper()
	state, nonce, verifier := randomID(16), randomID(16), oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce)}
	for i := 0; i+1 < len(kv); i += 2 {
		opts = append(opts, oauth2.SetAuthURLParam(kv[i], kv[i+1]))
	}
	cfg := c.oauth
	cfg.Scopes = scopes
	cb, err := c.d.Authorize(t.Context(), cfg.AuthCodeURL(state, opts...))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	u, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("authorization response %s: want state %q and a code", cb, state)
	}
	tok, err := cfg.Exchange(c.ctx(t), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	if c := jwtClaims(t, idToken(t, tok)); c["nonce"] != nonce {
		t.Fatalf("ID token nonce %v, want %q", c["nonce"], nonce)
	}
	return tok
}

func idToken(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("token response without id_token")
	}
	return raw
}

// jwtClaims decodes, without verifying, the claims of a compact JWS.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS (%d segments)", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWS payload: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("JWS payload: %v", err)
	}
	return c
}

// advance moves a's clock by d for the rest of the case.
func advance(t *testing.T, a ClockAdvancer, d time.Duration) {
	a.Advance(d)
	t.Cleanup(func() { a.Advance(-d) })
}

// runProtocolCases runs the cases that check the provider's own answers:
// userinfo, offline access and refresh, and RP-initiated logout.
func runProtocolCases(t *testing.T, p Provider) {
	t.Run("Userinfo", func(t *testing.T) { withRP(t, p, conformUserinfo) })
	t.Run("Refresh", func(t *testing.T) { withRP(t, p, conformRefresh) })
	t.Run("EndSession", func(t *testing.T) { withRP(t, p, conformEndSession) })
}

func withRP(t *testing.T, p Provider, run func(*testing.T, *conformanceRP)) {
	d, ok := p.(LoginDriver)
	if !ok {
		t.Skip("provider has no login driver")
	}
	run(t, newConformanceRP(t, p, d))
}

// conformUserinfo: the userinfo endpoint (OpenID Connect Core 5.3) serves
// an access token issued for a user, and refuses as a bearer token (401
// invalid_token, RFC 6750 section 3.1) an ID token and a
// client-credentials token, which name no user the client acts for.
func conformUserinfo(t *testing.T, c *conformanceRP) {
	if c.md.UserinfoEndpoint == "" {
		t.Skip("discovery document has no userinfo_endpoint")
	}
	tok := c.signIn(t, []string{"openid"})
	sub := jwtClaims(t, idToken(t, tok))["sub"]
	t.Run("AccessToken", func(t *testing.T) {
		status, _, body := c.userinfo(t, tok.AccessToken)
		if status != http.StatusOK || body["sub"] != sub {
			t.Fatalf("userinfo with the user's access token = %d %v, want 200 with sub %v", status, body, sub)
		}
	})
	t.Run("IDToken", func(t *testing.T) { c.wantInvalidToken(t, "Userinfo/IDToken", idToken(t, tok)) })
	t.Run("ClientCredentialsToken", func(t *testing.T) {
		if !slices.Contains(c.md.grants(), "client_credentials") {
			t.Skip("discovery document lists no client_credentials grant")
		}
		cc := clientcredentials.Config{ClientID: c.oauth.ClientID, ClientSecret: c.oauth.ClientSecret, TokenURL: c.md.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader}
		ct, err := cc.Token(c.ctx(t))
		if err != nil {
			t.Fatalf("client credentials grant: %v", err)
		}
		c.wantInvalidToken(t, "Userinfo/ClientCredentialsToken", ct.AccessToken)
	})
}

func (c *conformanceRP) userinfo(t *testing.T, bearer string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, c.md.UserinfoEndpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := c.p.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body)
	return resp.StatusCode, resp.Header, body
}

// wantInvalidToken checks that userinfo refuses bearer with 401 and a
// WWW-Authenticate challenge naming invalid_token.
func (c *conformanceRP) wantInvalidToken(t *testing.T, name, bearer string) {
	t.Helper()
	status, h, body := c.userinfo(t, bearer)
	switch v, msg := invalidTokenVerdict(status, h.Get("WWW-Authenticate"), body, deviation(c.p, name)); v {
	case verdictSkip:
		t.Skip(msg)
	case verdictFail:
		t.Fatal(msg)
	}
}

type verdict int

const (
	verdictPass verdict = iota
	verdictSkip
	verdictFail
)

// invalidTokenVerdict judges a userinfo answer to a token it must refuse
// (status, WWW-Authenticate challenge, JSON body), given the provider's
// declared deviation dev for the case. Serving the token always fails.
func invalidTokenVerdict(status int, challenge string, body map[string]any, dev string) (verdict, string) {
	if status/100 == 2 || body["sub"] != nil {
		return verdictFail, fmt.Sprintf("userinfo accepted the token: %d %v", status, body)
	}
	scheme, params, _ := strings.Cut(challenge, " ")
	ok := status == http.StatusUnauthorized && strings.EqualFold(scheme, "Bearer") && strings.Contains(params, `error="invalid_token"`)
	switch {
	case ok && dev != "":
		return verdictFail, fmt.Sprintf("the declared deviation (%s) is no longer seen: userinfo answers 401 invalid_token", dev)
	case !ok && dev != "":
		return verdictSkip, fmt.Sprintf("userinfo refuses the token with %d (WWW-Authenticate %q) instead of 401 invalid_token: declared deviation: %s", status, challenge, dev)
	case !ok:
		return verdictFail, fmt.Sprintf("userinfo = %d, WWW-Authenticate %q; want 401 with Bearer error=\"invalid_token\" (RFC 6750 section 3.1)", status, challenge)
	}
	return verdictPass, ""
}

// conformRefresh: offline_access is granted only with prompt=consent
// (OpenID Connect Core 11), and an ID token from a refresh keeps the
// original auth_time (12.2).
func conformRefresh(t *testing.T, c *conformanceRP) {
	if !slices.Contains(c.md.grants(), "refresh_token") {
		t.Skip("discovery document lists no refresh_token grant: the provider issues no refresh tokens")
	}
	offline := c.md.Scopes == nil || slices.Contains(c.md.Scopes, scopeOfflineAccess)
	t.Run("OfflineAccessWithoutConsent", func(t *testing.T) {
		// Core 11: without prompt=consent the provider MUST ignore
		// offline_access. It may still issue a refresh token for online
		// access, so what is checked is the granted scope, which RFC 6749
		// section 5.1 requires in the response once it differs from the
		// request.
		tok := c.signIn(t, []string{"openid", scopeOfflineAccess})
		sc, _ := tok.Extra("scope").(string)
		if sc == "" || slices.Contains(strings.Fields(sc), scopeOfflineAccess) {
			t.Fatalf("granted scope %q for offline_access without prompt=consent: want a scope without offline_access", sc)
		}
		if tok.RefreshToken != "" {
			t.Logf("the provider issues a refresh token without offline_access (online access, which Core 11 allows)")
		}
	})
	t.Run("OfflineAccessWithConsent", func(t *testing.T) {
		if !offline {
			t.Skip("discovery document's scopes_supported has no offline_access")
		}
		tok := c.signIn(t, []string{"openid", scopeOfflineAccess}, "prompt", "consent")
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token for offline_access with prompt=consent")
		}
		if sc, _ := tok.Extra("scope").(string); sc != "" && !slices.Contains(strings.Fields(sc), scopeOfflineAccess) {
			t.Fatalf("granted scope %q: offline_access with prompt=consent not granted", sc)
		}
	})
	t.Run("AuthTimeKept", func(t *testing.T) {
		if !offline {
			t.Skip("discovery document's scopes_supported has no offline_access")
		}
		// max_age makes auth_time required (Core 3.1.2.1).
		tok := c.signIn(t, []string{"openid", scopeOfflineAccess}, "prompt", "consent", "max_age", "3600")
		first := jwtClaims(t, idToken(t, tok))
		if _, ok := first["auth_time"].(float64); !ok || tok.RefreshToken == "" {
			t.Fatalf("sign-in with max_age: auth_time %v, refresh token %v; want both", first["auth_time"], tok.RefreshToken != "")
		}
		// auth_time and iat count whole seconds.
		if a, ok := c.p.(ClockAdvancer); ok {
			advance(t, a, 90*time.Second)
		} else {
			time.Sleep(1100 * time.Millisecond)
		}
		refreshed, err := c.oauth.TokenSource(c.ctx(t), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		raw, _ := refreshed.Extra("id_token").(string)
		if raw == "" {
			t.Skip("the refresh response has no ID token (Core 12.2 allows it)")
		}
		next := jwtClaims(t, raw)
		for _, k := range []string{"iss", "sub", "aud", "azp", "auth_time"} {
			if !jsonEqual(first[k], next[k]) {
				t.Errorf("refreshed ID token %s = %v, want %v as at sign-in (Core 12.2)", k, next[k], first[k])
			}
		}
		if iat, _ := next["iat"].(float64); iat <= first["iat"].(float64) {
			t.Errorf("refreshed ID token iat = %v, want the time of the refresh, after %v", next["iat"], first["iat"])
		}
		if n, ok := next["nonce"]; ok && n != first["nonce"] {
			t.Errorf("refreshed ID token nonce = %v, want none or %v", n, first["nonce"])
		}
	})
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// conformEndSession: RP-initiated logout (RP-Initiated Logout 1.0) by GET
// and POST; post-logout redirection only to a registered URI and only
// when id_token_hint (valid, possibly expired) or client_id names the
// client, with state passed back.
func conformEndSession(t *testing.T, c *conformanceRP) {
	if c.md.EndSessionEndpoint == "" {
		t.Skip("discovery document has no end_session_endpoint")
	}
	ld, ok := c.p.(LogoutDriver)
	if !ok {
		t.Skip("provider names no registered post-logout redirect URI (LogoutDriver)")
	}
	target := ld.PostLogoutRedirectURI()
	hint := func(t *testing.T) string { return idToken(t, c.signIn(t, []string{"openid"})) }
	tests := []struct {
		name     string
		method   string
		params   func(t *testing.T) url.Values
		redirect bool
	}{
		{"GETWithHint", http.MethodGet, func(t *testing.T) url.Values {
			return url.Values{"id_token_hint": {hint(t)}, "post_logout_redirect_uri": {target}, "state": {"conformance-state"}}
		}, true},
		{"POSTWithHint", http.MethodPost, func(t *testing.T) url.Values {
			return url.Values{"id_token_hint": {hint(t)}, "post_logout_redirect_uri": {target}, "state": {"conformance-state"}}
		}, true},
		{"ClientIDOnly", http.MethodGet, func(t *testing.T) url.Values {
			return url.Values{"client_id": {c.oauth.ClientID}, "post_logout_redirect_uri": {target}, "state": {"conformance-state"}}
		}, true},
		{"ExpiredHint", http.MethodGet, func(t *testing.T) url.Values {
			a, ok := c.p.(ClockAdvancer)
			if !ok {
				t.Skip("provider's clock cannot be moved past the ID token's exp (ClockAdvancer)")
			}
			h := hint(t)
			claims := jwtClaims(t, h)
			exp, _ := claims["exp"].(float64)
			iat, _ := claims["iat"].(float64)
			advance(t, a, time.Duration(exp-iat)*time.Second+time.Minute)
			return url.Values{"id_token_hint": {h}, "post_logout_redirect_uri": {target}, "state": {"conformance-state"}}
		}, true},
		{"NoClientNamed", http.MethodGet, func(t *testing.T) url.Values {
			return url.Values{"post_logout_redirect_uri": {target}, "state": {"conformance-state"}}
		}, false},
		{"UnregisteredURI", http.MethodGet, func(t *testing.T) url.Values {
			u, err := url.Parse(target)
			if err != nil {
				t.Fatal(err)
			}
			u.Path += "/conformance-unregistered"
			return url.Values{"id_token_hint": {hint(t)}, "post_logout_redirect_uri": {u.String()}}
		}, false},
		{"ForgedHint", http.MethodGet, func(t *testing.T) url.Values {
			h := hint(t)
			i := strings.LastIndexByte(h, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(h[i+1:])
			sig[len(sig)/2] ^= 0xff
			return url.Values{"id_token_hint": {h[:i+1] + base64.RawURLEncoding.EncodeToString(sig)}, "post_logout_redirect_uri": {target}}
		}, false},
		{"ClientIDMismatch", http.MethodGet, func(t *testing.T) url.Values {
			return url.Values{"client_id": {"conformance-other-client"}, "id_token_hint": {hint(t)}, "post_logout_redirect_uri": {target}}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := tt.params(t)
			loc, status := c.endSession(t, tt.method, params)
			if !tt.redirect {
				if sameTarget(loc, params.Get("post_logout_redirect_uri")) {
					t.Fatalf("end session redirected to %s (%d): it must not (RP-Initiated Logout 1.0 section 3)", loc, status)
				}
				return
			}
			if status != http.StatusFound && status != http.StatusSeeOther {
				t.Fatalf("end session = %d, want a redirect (302 or 303) to %s", status, target)
			}
			if !sameTarget(loc, target) || loc.Query().Get("state") != params.Get("state") {
				t.Fatalf("end session redirected to %s, want %s with state %q", loc, target, params.Get("state"))
			}
		})
	}
}

// endSession calls the end-session endpoint by method with params, not
// following a redirect; loc is the redirect target, or nil.
func (c *conformanceRP) endSession(t *testing.T, method string, params url.Values) (loc *url.URL, status int) {
	t.Helper()
	ep := c.md.EndSessionEndpoint
	var body io.Reader
	if method == http.MethodGet {
		u, err := url.Parse(ep)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		for k, v := range params {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		ep = u.String()
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, ep, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	cl := *c.p.Client()
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if l, err := resp.Location(); err == nil && resp.StatusCode/100 == 3 {
		loc = l
	}
	return loc, resp.StatusCode
}

// sameTarget reports whether loc is target, its query aside.
func sameTarget(loc *url.URL, target string) bool {
	u, err := url.Parse(target)
	if loc == nil || target == "" || err != nil {
		return false
	}
	return loc.Scheme == u.Scheme && loc.Host == u.Host && loc.Path == u.Path
}
