package authtest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved/auth/authtest"
)

// noRedirect is srv's client that returns redirects instead of following
// them.
func noRedirect(srv *authtest.Server) *http.Client {
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// tokenResponse is the token endpoint's JSON answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
}

// postToken calls the token endpoint with client_secret_basic.
func postToken(t *testing.T, srv *authtest.Server, form url.Values) (int, tokenResponse) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.Issuer()+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(srv.ClientID(), srv.ClientSecret())
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatalf("token response: %v", err)
	}
	return resp.StatusCode, tr
}

// codeFlow signs in at srv with scope and the extra authorization
// parameters kv, and exchanges the code.
func codeFlow(t *testing.T, srv *authtest.Server, scope string, kv ...string) tokenResponse {
	t.Helper()
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	_, _, redirect := srv.LoginClient()
	q := url.Values{
		"client_id": {srv.ClientID()}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {scope},
		"state": {"st"}, "nonce": {"n"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	cb, err := srv.Authorize(t.Context(), srv.Issuer()+"/authorize?"+q.Encode())
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	u, _ := url.Parse(cb)
	status, tr := postToken(t, srv, url.Values{
		"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier},
	})
	if status != http.StatusOK {
		t.Fatalf("code exchange = %d %s", status, tr.Error)
	}
	return tr
}

func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRefreshKeepsAuthTime: an ID token from a refresh carries the time
// of the original sign-in (OpenID Connect Core 12.2), and a new iat.
func TestRefreshKeepsAuthTime(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := authtest.NewServer(t, authtest.Config{Now: func() time.Time { return t0 }})
	tr := codeFlow(t, srv, "openid offline_access", "prompt", "consent")
	if got := claimsOf(t, tr.IDToken)["auth_time"]; got != float64(t0.Unix()) {
		t.Fatalf("auth_time at sign-in = %v, want %d", got, t0.Unix())
	}
	rt := tr.RefreshToken
	for i := 1; i <= 2; i++ { // the second refresh uses the rotated token
		srv.Advance(time.Hour)
		status, tr := postToken(t, srv, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if status != http.StatusOK || tr.IDToken == "" || tr.RefreshToken == "" {
			t.Fatalf("refresh %d = %d %+v", i, status, tr)
		}
		c := claimsOf(t, tr.IDToken)
		if c["auth_time"] != float64(t0.Unix()) {
			t.Fatalf("refresh %d: auth_time = %v, want the sign-in time %d", i, c["auth_time"], t0.Unix())
		}
		if c["iat"] != float64(t0.Add(time.Duration(i)*time.Hour).Unix()) {
			t.Fatalf("refresh %d: iat = %v, want the time of the refresh", i, c["iat"])
		}
		if _, ok := c["nonce"]; ok {
			t.Fatalf("refresh %d: ID token has a nonce", i)
		}
		rt = tr.RefreshToken
	}
}

// TestOfflineAccessNeedsConsent: a refresh token only when offline_access
// was requested with prompt=consent (OpenID Connect Core 11); otherwise
// offline_access is left out of the granted scope. LenientOfflineAccess
// issues one with every code grant.
func TestOfflineAccessNeedsConsent(t *testing.T) {
	tests := []struct {
		name      string
		lenient   bool
		scope     string
		prompt    string
		refresh   bool
		wantScope string
	}{
		{"openid only", false, "openid profile", "", false, "openid profile"},
		{"openid only with consent", false, "openid", "consent", false, "openid"},
		{"offline_access without prompt", false, "openid offline_access profile", "", false, "openid profile"},
		{"offline_access with prompt=login", false, "openid offline_access", "login", false, "openid"},
		{"offline_access with prompt=consent", false, "openid offline_access", "consent", true, "openid offline_access"},
		{"offline_access with prompt=login consent", false, "offline_access openid", "login consent", true, "offline_access openid"},
		{"lenient, openid only", true, "openid", "", true, "openid"},
		{"lenient, offline_access without prompt", true, "openid offline_access", "", true, "openid offline_access"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := authtest.NewServer(t, authtest.Config{LenientOfflineAccess: tt.lenient})
			var kv []string
			if tt.prompt != "" {
				kv = []string{"prompt", tt.prompt}
			}
			tr := codeFlow(t, srv, tt.scope, kv...)
			if (tr.RefreshToken != "") != tt.refresh || tr.Scope != tt.wantScope {
				t.Fatalf("refresh token %q, scope %q; want refresh token %v, scope %q", tr.RefreshToken, tr.Scope, tt.refresh, tt.wantScope)
			}
			if !tt.refresh {
				return
			}
			status, rr := postToken(t, srv, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}})
			if status != http.StatusOK || rr.RefreshToken == "" || rr.Scope != tt.wantScope {
				t.Fatalf("refresh = %d %+v", status, rr)
			}
		})
	}
}

// TestPromptNoneWithOthers: prompt=none with any other value is an error
// (OpenID Connect Core 3.1.2.1), returned to the redirect URI.
func TestPromptNoneWithOthers(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	_, _, redirect := srv.LoginClient()
	q := url.Values{
		"client_id": {srv.ClientID()}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"},
		"state": {"st"}, "code_challenge": {strings.Repeat("A", 43)}, "code_challenge_method": {"S256"}, "prompt": {"none consent"},
	}
	resp, err := noRedirect(srv).Get(srv.Issuer() + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("code") != "" || loc.Query().Get("state") != "st" {
		t.Fatalf("prompt=none consent = %d %s", resp.StatusCode, loc)
	}
}

// TestUserinfoTakesOnlyUserAccessTokens: userinfo serves an access token
// issued for a user and refuses an ID token and a client-credentials
// token with 401 invalid_token (RFC 6750 section 3.1).
func TestUserinfoTakesOnlyUserAccessTokens(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	tr := codeFlow(t, srv, "openid")
	_, cc := postToken(t, srv, url.Values{"grant_type": {"client_credentials"}})
	if cc.AccessToken == "" {
		t.Fatal("no client-credentials token")
	}
	tests := []struct {
		name   string
		bearer string
		status int
		desc   string
	}{
		{"user access token", tr.AccessToken, 200, ""},
		{"minted access token", srv.Mint(nil), 200, ""},
		{"ID token", tr.IDToken, 401, "not an access token: typ is not at+jwt (an ID token is not a bearer token)"},
		{"minted ID token", srv.MintIDToken(nil), 401, "not an access token: typ is not at+jwt (an ID token is not a bearer token)"},
		{"access token without typ", mustMint(t, srv, authtest.Token{Header: map[string]any{"typ": nil}}), 401, "not an access token: typ is not at+jwt (an ID token is not a bearer token)"},
		{"client credentials token", cc.AccessToken, 401, "the access token names no user (client credentials)"},
		{"minted client token", srv.Mint(map[string]any{"sub": srv.ClientID()}), 401, "the access token names no user (client credentials)"},
		{"forged", tr.AccessToken[:len(tr.AccessToken)-4] + "AAAA", 401, "invalid access token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.Issuer()+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tt.bearer)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status {
				t.Fatalf("userinfo = %d %v, want %d", resp.StatusCode, body, tt.status)
			}
			if tt.status == 200 {
				if body["sub"] != authtest.DefaultSubject {
					t.Fatalf("userinfo = %v", body)
				}
				return
			}
			wantHdr := `Bearer error="invalid_token", error_description="` + tt.desc + `"`
			if got := resp.Header.Get("WWW-Authenticate"); got != wantHdr {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, wantHdr)
			}
			if body["error"] != "invalid_token" || body["error_description"] != tt.desc || body["sub"] != nil {
				t.Fatalf("body = %v", body)
			}
		})
	}
}

// TestEndSession: RP-initiated logout by GET or POST; it redirects only to
// a registered post_logout_redirect_uri (exact match) and only when
// id_token_hint (one this provider issued; expired is fine) or client_id
// names the client, passing state back.
func TestEndSession(t *testing.T) {
	const bye = "https://app.example.test/bye"
	srv := authtest.NewServer(t, authtest.Config{PostLogoutRedirectURIs: []string{bye, "https://app.example.test/later?x=1"}})
	hint := codeFlow(t, srv, "openid").IDToken
	srv.Advance(authtest.DefaultTokenTTL + time.Minute)
	expired := hint
	hint = codeFlow(t, srv, "openid").IDToken
	forged := hint[:len(hint)-4] + "AAAA"
	other := srv.MintIDToken(map[string]any{"aud": "another-client", "azp": "another-client"})
	foreign := srv.MintIDToken(map[string]any{"iss": "https://other.example"})
	tests := []struct {
		name     string
		method   string
		params   url.Values
		status   int
		location string
		body     string
	}{
		{"GET with hint", "GET", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {bye}, "state": {"s1"}}, 302, bye + "?state=s1", ""},
		{"POST with hint", "POST", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {bye}, "state": {"s2"}}, 303, bye + "?state=s2", ""},
		{"GET with client_id", "GET", url.Values{"client_id": {srv.ClientID()}, "post_logout_redirect_uri": {bye}}, 302, bye, ""},
		{"POST with client_id and hint", "POST", url.Values{"client_id": {srv.ClientID()}, "id_token_hint": {hint}, "post_logout_redirect_uri": {bye}}, 303, bye, ""},
		{"expired hint", "GET", url.Values{"id_token_hint": {expired}, "post_logout_redirect_uri": {bye}}, 302, bye, ""},
		{"registered URI with a query", "GET", url.Values{"client_id": {srv.ClientID()}, "post_logout_redirect_uri": {"https://app.example.test/later?x=1"}, "state": {"s3"}}, 302, "https://app.example.test/later?state=s3&x=1", ""},
		{"no client named", "GET", url.Values{"post_logout_redirect_uri": {bye}, "state": {"s4"}}, 200, "", "logged out; not redirected: neither id_token_hint nor client_id named the client\n"},
		{"no client named, POST", "POST", url.Values{"post_logout_redirect_uri": {bye}}, 200, "", "logged out; not redirected: neither id_token_hint nor client_id named the client\n"},
		{"no redirect asked", "GET", url.Values{"id_token_hint": {hint}}, 200, "", "logged out\n"},
		{"no parameters, POST", "POST", url.Values{}, 200, "", "logged out\n"},
		{"unregistered URI", "GET", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/"}}, 400, "", "post_logout_redirect_uri not registered for this client (Config.PostLogoutRedirectURIs)\n"},
		{"URI differs by a slash", "GET", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {bye + "/"}}, 400, "", "post_logout_redirect_uri not registered for this client (Config.PostLogoutRedirectURIs)\n"},
		{"URI differs by a query", "GET", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {bye + "?next=/"}}, 400, "", "post_logout_redirect_uri not registered for this client (Config.PostLogoutRedirectURIs)\n"},
		{"forged hint", "GET", url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {bye}}, 400, "", "invalid id_token_hint: not an ID token this provider issued\n"},
		{"hint for another client", "GET", url.Values{"id_token_hint": {other}, "post_logout_redirect_uri": {bye}}, 400, "", "invalid id_token_hint: not issued to client_id " + srv.ClientID() + "\n"},
		{"hint from another issuer", "GET", url.Values{"id_token_hint": {foreign}, "post_logout_redirect_uri": {bye}}, 400, "", "invalid id_token_hint: not an ID token this provider issued\n"},
		{"access token as hint", "GET", url.Values{"id_token_hint": {srv.Mint(nil)}, "post_logout_redirect_uri": {bye}}, 400, "", "invalid id_token_hint: not issued to client_id " + srv.ClientID() + "\n"},
		{"unknown client_id", "GET", url.Values{"client_id": {"another-client"}, "post_logout_redirect_uri": {bye}}, 400, "", "unknown client_id\n"},
		{"client_id and hint disagree", "POST", url.Values{"client_id": {"another-client"}, "id_token_hint": {hint}, "post_logout_redirect_uri": {bye}}, 400, "", "unknown client_id\n"},
	}
	c := noRedirect(srv)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Logouts()
			var req *http.Request
			if tt.method == "POST" {
				req, _ = http.NewRequest("POST", srv.Issuer()+"/end_session", strings.NewReader(tt.params.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req, _ = http.NewRequest("GET", srv.Issuer()+"/end_session?"+tt.params.Encode(), nil)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
				t.Fatalf("%s end_session = %d Location %q (%q), want %d %q", tt.method, resp.StatusCode, resp.Header.Get("Location"), b, tt.status, tt.location)
			}
			if tt.body != "" && string(b) != tt.body {
				t.Fatalf("body = %q, want %q", b, tt.body)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Fatalf("Cache-Control = %q, want no-store", got)
			}
			wantLogouts := before + 1
			if tt.status == 400 {
				wantLogouts = before
			}
			if srv.Logouts() != wantLogouts {
				t.Fatalf("logouts %d -> %d, want %d", before, srv.Logouts(), wantLogouts)
			}
		})
	}
}

// TestEndSessionDefaultRegistration: without Config.PostLogoutRedirectURIs
// the one registered post-logout URI is DefaultPostLogoutRedirectURI.
func TestEndSessionDefaultRegistration(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	if srv.PostLogoutRedirectURI() != authtest.DefaultPostLogoutRedirectURI {
		t.Fatalf("PostLogoutRedirectURI = %q", srv.PostLogoutRedirectURI())
	}
	c := noRedirect(srv)
	for target, want := range map[string]int{authtest.DefaultPostLogoutRedirectURI: 302, "https://app.example.test/elsewhere": 400} {
		resp, err := c.Get(srv.Issuer() + "/end_session?" + url.Values{"client_id": {srv.ClientID()}, "post_logout_redirect_uri": {target}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("end_session to %s = %d, want %d", target, resp.StatusCode, want)
		}
	}
}

func mustMint(t *testing.T, srv *authtest.Server, tok authtest.Token) string {
	t.Helper()
	s, err := srv.MintToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
