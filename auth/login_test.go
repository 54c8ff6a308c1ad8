package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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
	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/httpx"
)

const redirectURL = "https://app.example.test/callback"

var key1, key2 = bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)

// offline is the scope list of the tests' logins: with offline_access, so
// a provider as strict as OpenID Connect Core section 11 issues refresh
// tokens (the login adds prompt=consent).
var offline = []string{"openid", "profile", "email", auth.ScopeOfflineAccess}

func newLogin(t *testing.T, srv *authtest.Server, keys ...[]byte) *auth.Login {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{key1}
	}
	l, err := auth.NewLogin(context.Background(), auth.LoginConfig{
		Issuer: srv.Issuer(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURL: redirectURL,
		CookieKeys: keys, HTTPClient: srv.Client(), Now: srv.Now, Logger: quiet, Posture: &paved.Posture{},
		PostLogoutRedirectURL: "https://app.example.test/bye", Events: paved.NopSink{}, Scopes: offline,
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func appMux(l *auth.Login) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /login", l.LoginHandler())
	mux.Handle("GET /callback", l.CallbackHandler())
	mux.Handle("/logout", l.LogoutHandler())
	mux.Handle("GET /app", l.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := paved.PrincipalFrom(r.Context())
		s, _ := auth.SessionFrom(r.Context())
		_, _ = w.Write([]byte(p.Subject + " " + p.Issuer + " " + boolStr(s.AccessToken != "")))
	})))
	return mux
}

func boolStr(b bool) string {
	if b {
		return "with-token"
	}
	return "no-token"
}

func serve(h http.Handler, method, target string, cookies []*http.Cookie, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func cookie(t *testing.T, w *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, w.Header()["Set-Cookie"])
	return nil
}

// authorize follows the provider's authorize redirect, returning the
// callback URL.
func authorize(t *testing.T, srv *authtest.Server, authURL string) string {
	t.Helper()
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize status %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// startLogin runs /login and returns the flow cookie and authorize URL.
func startLogin(t *testing.T, mux http.Handler) (*http.Cookie, string) {
	t.Helper()
	w := serve(mux, "GET", "/login?return_to=/app", nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("/login status %d", w.Code)
	}
	return cookie(t, w, auth.FlowCookie), w.Header().Get("Location")
}

func signIn(t *testing.T, srv *authtest.Server, mux http.Handler) *http.Cookie {
	t.Helper()
	flow, authURL := startLogin(t, mux)
	cb := authorize(t, srv, authURL)
	w := serve(mux, "GET", cb, []*http.Cookie{flow})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/app" {
		t.Fatalf("callback = %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	return cookie(t, w, auth.SessionCookie)
}

func TestLoginFlow(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	l := newLogin(t, srv)
	mux := appMux(l)

	flow, authURL := startLogin(t, mux)
	if !flow.Secure || !flow.HttpOnly || flow.SameSite != http.SameSiteLaxMode || flow.Path != "/" || flow.Domain != "" {
		t.Fatalf("flow cookie attributes: %+v", flow)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("redirect_uri") != redirectURL {
		t.Fatalf("authorize URL missing PKCE/state/nonce: %s", authURL)
	}
	cb := authorize(t, srv, authURL)
	w := serve(mux, "GET", cb, []*http.Cookie{flow})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/app" {
		t.Fatalf("callback = %d %s", w.Code, w.Body)
	}
	sess := cookie(t, w, auth.SessionCookie)
	if !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || len(sess.Name)+len(sess.Value) > auth.MaxCookieSize {
		t.Fatalf("session cookie: %+v (len %d)", sess, len(sess.Value))
	}
	if strings.Contains(sess.Value, "eyJ") {
		t.Fatal("session cookie is not encrypted")
	}
	w = serve(mux, "GET", "/app", []*http.Cookie{sess})
	if w.Code != 200 || w.Body.String() != "alice "+srv.Issuer()+" with-token" {
		t.Fatalf("/app = %d %q", w.Code, w.Body)
	}
	// Replaying the callback: the flow cookie is gone and the code used.
	w = serve(mux, "GET", cb, []*http.Cookie{flow})
	if w.Code != http.StatusUnauthorized || problemReason(t, w) != auth.ReasonExchange {
		t.Fatalf("code replay = %d %s", w.Code, w.Body)
	}
}

func problemReason(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	s, _ := body["reason"].(string)
	return s
}

func TestCallbackRejects(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	mux := appMux(newLogin(t, srv))
	tests := []struct {
		name   string
		mod    func(authURL, cb string) (string, string) // returns new authURL-derived callback
		cookie bool
		status int
		reason string
	}{
		{"no flow cookie", nil, false, 400, auth.ReasonStateMismatch},
		{"wrong state", func(a, cb string) (string, string) { return a, setParam(cb, "state", "forged") }, true, 400, auth.ReasonStateMismatch},
		{"wrong iss (mix-up)", func(a, cb string) (string, string) { return a, setParam(cb, "iss", "https://evil.example") }, true, 400, auth.ReasonIssuerMismatch},
		{"missing iss", func(a, cb string) (string, string) { return a, setParam(cb, "iss", "") }, true, 400, auth.ReasonIssuerMismatch},
		{"provider error", func(a, cb string) (string, string) {
			return a, setParam(setParam(cb, "error", "access_denied"), "code", "")
		}, true, 401, auth.ReasonProviderError},
		{"forged code", func(a, cb string) (string, string) { return a, setParam(cb, "code", "forged") }, true, 401, auth.ReasonExchange},
		{"nonce swapped", func(a, cb string) (string, string) { return setParam(a, "nonce", "other"), "" }, true, 401, auth.ReasonNonceMismatch},
		{"PKCE challenge swapped", func(a, cb string) (string, string) {
			return setParam(a, "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), ""
		}, true, 401, auth.ReasonExchange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow, authURL := startLogin(t, mux)
			cb := ""
			if tt.mod != nil {
				authURL2, cb2 := tt.mod(authURL, "")
				cb = authorize(t, srv, authURL2)
				if authURL2 == authURL {
					_, cb = tt.mod(authURL, cb)
				} else if cb2 != "" {
					cb = cb2
				}
			} else {
				cb = authorize(t, srv, authURL)
			}
			var cookies []*http.Cookie
			if tt.cookie {
				cookies = []*http.Cookie{flow}
			}
			w := serve(mux, "GET", cb, cookies)
			if w.Code != tt.status || problemReason(t, w) != tt.reason {
				t.Fatalf("callback = %d %s, want %d %s", w.Code, w.Body, tt.status, tt.reason)
			}
			for _, c := range w.Result().Cookies() {
				if c.Name == auth.SessionCookie && c.MaxAge >= 0 {
					t.Fatal("session cookie set on a failed callback")
				}
			}
		})
	}
}

func setParam(raw, k, v string) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func TestSessionMiddleware(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	l := newLogin(t, srv)
	mux := appMux(l)
	tests := []struct {
		name     string
		hdr      []string
		status   int
		location string
	}{
		{"navigation", []string{"Sec-Fetch-Mode", "navigate", "Accept", "text/html"}, 303, "/login?return_to=%2Fapp"},
		{"old browser navigation", []string{"Accept", "text/html,application/xhtml+xml"}, 303, "/login?return_to=%2Fapp"},
		{"fetch", []string{"Sec-Fetch-Mode", "cors", "Accept", "text/html"}, 401, ""},
		{"XHR", []string{"X-Requested-With", "XMLHttpRequest", "Accept", "text/html"}, 401, ""},
		{"API", []string{"Accept", "application/json"}, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(mux, "GET", "/app", nil, tt.hdr...)
			if w.Code != tt.status || w.Header().Get("Location") != tt.location {
				t.Fatalf("= %d %q, want %d %q", w.Code, w.Header().Get("Location"), tt.status, tt.location)
			}
			if tt.status == 401 && problemReason(t, w) != auth.ReasonNoSession {
				t.Fatalf("body %s", w.Body)
			}
		})
	}
	// A forged or foreign-key cookie is no session.
	w := serve(mux, "GET", "/app", []*http.Cookie{{Name: auth.SessionCookie, Value: "AAAA"}}, "Accept", "application/json")
	if w.Code != 401 {
		t.Fatalf("forged cookie = %d", w.Code)
	}
}

func TestSessionRefreshAndExpiry(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	mux := appMux(newLogin(t, srv))
	sess := signIn(t, srv, mux)
	srv.Advance(authtest.DefaultTokenTTL + time.Minute) // access token expired
	w := serve(mux, "GET", "/app", []*http.Cookie{sess})
	if w.Code != 200 {
		t.Fatalf("after access expiry = %d %s", w.Code, w.Body)
	}
	renewed := cookie(t, w, auth.SessionCookie)
	if renewed.Value == sess.Value {
		t.Fatal("session not renewed")
	}
	// Past the renewal's grace, the old cookie's refresh token was rotated
	// away: it cannot renew (and the strict provider revokes the grant).
	srv.Advance(11 * time.Second)
	if w := serve(mux, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json"); w.Code != 401 {
		t.Fatalf("reused refresh token = %d", w.Code)
	}
	if srv.RefreshReuses() != 1 {
		t.Fatalf("provider saw %d refresh token reuses, want 1", srv.RefreshReuses())
	}
	if w := serve(mux, "GET", "/app", []*http.Cookie{renewed}); w.Code != 200 {
		t.Fatalf("renewed session = %d", w.Code)
	}
	srv.Advance(auth.DefaultSessionTTL)
	if w := serve(mux, "GET", "/app", []*http.Cookie{renewed}, "Accept", "application/json"); w.Code != 401 {
		t.Fatalf("session past its lifetime = %d", w.Code)
	}
}

func TestCookieKeyRotation(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	sess := signIn(t, srv, appMux(newLogin(t, srv, key1)))
	if w := serve(appMux(newLogin(t, srv, key2, key1)), "GET", "/app", []*http.Cookie{sess}); w.Code != 200 {
		t.Fatalf("old key still listed = %d", w.Code)
	}
	if w := serve(appMux(newLogin(t, srv, key2)), "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json"); w.Code != 401 {
		t.Fatalf("old key dropped = %d", w.Code)
	}
	// The session cookie cannot be replayed as the flow cookie.
	mux := appMux(newLogin(t, srv))
	_, authURL := startLogin(t, mux)
	cb := authorize(t, srv, authURL)
	w := serve(mux, "GET", cb, []*http.Cookie{{Name: auth.FlowCookie, Value: sess.Value}})
	if problemReason(t, w) != auth.ReasonStateMismatch {
		t.Fatalf("swapped cookie = %d %s", w.Code, w.Body)
	}
}

func TestLogout(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	mux := appMux(newLogin(t, srv))
	sess := signIn(t, srv, mux)
	if w := serve(mux, "GET", "/logout", []*http.Cookie{sess}); w.Code != 405 {
		t.Fatalf("GET /logout = %d", w.Code)
	}
	w := serve(mux, "POST", "/logout", []*http.Cookie{sess})
	if w.Code != 303 {
		t.Fatalf("POST /logout = %d", w.Code)
	}
	if c := cookie(t, w, auth.SessionCookie); c.MaxAge >= 0 {
		t.Fatalf("session cookie not cleared: %+v", c)
	}
	loc, _ := url.Parse(w.Header().Get("Location"))
	q := loc.Query()
	if !strings.HasPrefix(loc.String(), srv.Issuer()+"/end_session") || q.Get("id_token_hint") == "" || q.Get("client_id") != srv.ClientID() || q.Get("post_logout_redirect_uri") != "https://app.example.test/bye" {
		t.Fatalf("logout redirect = %s", loc)
	}
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://app.example.test/bye" || srv.Logouts() != 1 {
		t.Fatalf("end_session = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestLoginConfigValidation(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	base := auth.LoginConfig{Issuer: srv.Issuer(), ClientID: "c", RedirectURL: redirectURL, CookieKeys: [][]byte{key1}, HTTPClient: srv.Client(), Posture: &paved.Posture{}, Logger: quiet}
	tests := []struct {
		name, field, problem string
		mod                  func(*auth.LoginConfig)
	}{
		{"no keys", "LoginConfig.CookieKeys", "empty", func(c *auth.LoginConfig) { c.CookieKeys = nil }},
		{"short key", "LoginConfig.CookieKeys[0]", "has 5 bytes", func(c *auth.LoginConfig) { c.CookieKeys = [][]byte{[]byte("short")} }},
		{"relative redirect", "LoginConfig.RedirectURL", "not an absolute URL", func(c *auth.LoginConfig) { c.RedirectURL = "/callback" }},
		{"http redirect", "LoginConfig.RedirectURL", "uses http", func(c *auth.LoginConfig) { c.RedirectURL = "http://app.example.test/callback" }},
		{"no client", "LoginConfig.ClientID", "empty", func(c *auth.LoginConfig) { c.ClientID = "" }},
		{"http issuer", "LoginConfig.Issuer", "uses http", func(c *auth.LoginConfig) { c.Issuer = "http://127.0.0.1:1" }},
		{"skew too large", "LoginConfig.Skew", "out of range", func(c *auth.LoginConfig) { c.Skew = time.Hour }},
		{"session too short", "LoginConfig.SessionTTL", "out of range", func(c *auth.LoginConfig) { c.SessionTTL = time.Minute }},
		{"session too long", "LoginConfig.SessionTTL", "out of range", func(c *auth.LoginConfig) { c.SessionTTL = 30 * 24 * time.Hour }},
		{"timeout too long", "LoginConfig.Timeout", "out of range", func(c *auth.LoginConfig) { c.Timeout = time.Hour }},
		{"login path off-site", "LoginConfig.LoginPath", "not a local path", func(c *auth.LoginConfig) { c.LoginPath = "//evil.example/login" }},
		{"relative post-logout", "LoginConfig.PostLogoutRedirectURL", "not an absolute URL", func(c *auth.LoginConfig) { c.PostLogoutRedirectURL = "bye" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.mod(&c)
			_, err := auth.NewLogin(context.Background(), c)
			ces := paved.ConfigErrors(err)
			if len(ces) != 1 || ces[0].Field != tt.field || !strings.Contains(ces[0].Problem, tt.problem) || ces[0].Component != auth.Component {
				t.Fatalf("NewLogin = %v, want one ConfigError on %s saying %q", err, tt.field, tt.problem)
			}
		})
	}
	// http on loopback is development, which browsers treat as secure.
	for _, u := range []string{"http://localhost:8080/callback", "http://127.0.0.1:8080/callback", "http://[::1]:8080/callback"} {
		c := base
		c.RedirectURL = u
		if _, err := auth.NewLogin(context.Background(), c); err != nil {
			t.Fatalf("NewLogin with RedirectURL %s = %v, want nil", u, err)
		}
	}
}

func TestSessionTooLarge(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	srv.SetUser("alice", map[string]any{"bio": strings.Repeat("x", 5000)})
	mux := appMux(newLogin(t, srv))
	flow, authURL := startLogin(t, mux)
	w := serve(mux, "GET", authorize(t, srv, authURL), []*http.Cookie{flow})
	if w.Code != 500 || problemReason(t, w) != auth.ReasonSessionTooBig {
		t.Fatalf("oversized session = %d %s", w.Code, w.Body)
	}
	// With a store, the same session works.
	store := &memStore{m: map[string][]byte{}}
	mux = appMux(loginWithStore(t, srv, store))
	sess := signIn(t, srv, mux)
	if w := serve(mux, "GET", "/app", []*http.Cookie{sess}); w.Code != 200 {
		t.Fatalf("large session in store = %d", w.Code)
	}
}

// browserResolves mimics how a browser reads a Location header: it drops
// ASCII tab and newline and treats a backslash as a slash.
func browserResolves(loc string) string {
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	return strings.TrimLeft(loc, " \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f")
}

func TestLoginReturnToStaysLocal(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	mux := appMux(newLogin(t, srv))
	tests := []struct{ returnTo, want string }{
		{"/app?x=1", "/app?x=1"},
		{"//evil.example/", "/"},
		{`/\evil.example/`, "/"},
		{"https://evil.example/", "/"},
		{"/\t/evil.example/", "/"},
		{"/\n/evil.example/", "/"},
		{"\t//evil.example/", "/"},
		{`/a/../\evil.example/`, "/"},
		{"/a/..//evil.example/", "/evil.example/"},
		{"/./\\/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/%09/evil.example/", "/%09/evil.example/"},
	}
	for _, tt := range tests {
		t.Run(tt.returnTo, func(t *testing.T) {
			w := serve(mux, "GET", "/login?return_to="+url.QueryEscape(tt.returnTo), nil)
			flow := cookie(t, w, auth.FlowCookie)
			w = serve(mux, "GET", authorize(t, srv, w.Header().Get("Location")), []*http.Cookie{flow})
			if w.Code != http.StatusSeeOther {
				t.Fatalf("callback = %d %s", w.Code, w.Body)
			}
			loc := w.Header().Get("Location")
			if b := browserResolves(loc); !strings.HasPrefix(b, "/") || strings.HasPrefix(b, "//") {
				t.Fatalf("return_to %q redirects to %q, which a browser reads as %q: off-site", tt.returnTo, loc, b)
			}
			if loc != tt.want {
				t.Fatalf("return_to %q redirects to %q, want %q", tt.returnTo, loc, tt.want)
			}
		})
	}
}

func TestLogoutRejectsCrossSite(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	mux := appMux(newLogin(t, srv))
	sess := signIn(t, srv, mux)
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "https://evil.example"},
	} {
		w := serve(mux, "POST", "/logout", []*http.Cookie{sess}, hdr...)
		if w.Code != http.StatusForbidden {
			t.Fatalf("cross-site POST /logout (%v) = %d, want 403", hdr, w.Code)
		}
		if len(w.Result().Cookies()) != 0 || w.Header().Get("Location") != "" {
			t.Fatalf("cross-site POST /logout (%v) touched the session: %v %q", hdr, w.Header()["Set-Cookie"], w.Header().Get("Location"))
		}
	}
	if srv.Logouts() != 0 {
		t.Fatal("provider logout reached")
	}
	if w := serve(mux, "POST", "/logout", []*http.Cookie{sess}, "Sec-Fetch-Site", "same-origin"); w.Code != http.StatusSeeOther {
		t.Fatalf("same-origin POST /logout = %d", w.Code)
	}
}

// TestLoginIssuesNewSession: signing in with a session cookie already set
// (a planted or stale one) never keeps it: the callback issues a new
// session and revokes the old one in the store.
func TestLoginIssuesNewSession(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	store := &memStore{m: map[string][]byte{}}
	mux := appMux(loginWithStore(t, srv, store))
	old := signIn(t, srv, mux)
	flow, authURL := startLogin(t, mux)
	w := serve(mux, "GET", authorize(t, srv, authURL), []*http.Cookie{flow, old})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("callback = %d %s", w.Code, w.Body)
	}
	fresh := cookie(t, w, auth.SessionCookie)
	if fresh.Value == old.Value {
		t.Fatal("login kept the previous session cookie")
	}
	if n := store.len(); n != 1 {
		t.Fatalf("store holds %d sessions after re-login, want 1 (old one revoked)", n)
	}
	if w := serve(mux, "GET", "/app", []*http.Cookie{old}, "Accept", "application/json"); w.Code != 401 {
		t.Fatalf("previous session after re-login = %d, want 401", w.Code)
	}
	if w := serve(mux, "GET", "/app", []*http.Cookie{fresh}); w.Code != 200 {
		t.Fatalf("new session = %d", w.Code)
	}
}

func TestLoginCheck(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	l := newLogin(t, srv)
	var _ httpx.Check = l
	ctx := context.Background()
	if err := l.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	srv.SetJWKSBroken(true)
	srv.Advance(auth.DefaultKeyTTL + time.Second)
	if err := l.Check(ctx); err == nil || !strings.Contains(err.Error(), srv.Issuer()) {
		t.Fatalf("Check with the key set down = %v, want an error naming the issuer", err)
	}
	srv.SetJWKSBroken(false)
	srv.Advance(auth.DefaultRefreshCooldown)
	if err := l.Check(ctx); err != nil {
		t.Fatalf("Check after recovery: %v", err)
	}
}

// swapRefreshIDToken answers refresh_token grants with the ID token from
// idt, as a misbehaving provider would.
type swapRefreshIDToken struct {
	base http.RoundTripper
	idt  func() string
}

func (s swapRefreshIDToken) RoundTrip(r *http.Request) (*http.Response, error) {
	refresh := false
	if r.Method == http.MethodPost && r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		refresh = strings.Contains(string(b), "grant_type=refresh_token")
	}
	resp, err := s.base.RoundTrip(r)
	if err != nil || !refresh || resp.StatusCode != 200 {
		return resp, err
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	body["id_token"] = s.idt()
	b, _ := json.Marshal(body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestRefreshKeepsSubject: an ID token from a refresh must name the same
// subject as the original sign-in (OpenID Connect Core 12.2).
func TestRefreshKeepsSubject(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	client := srv.Client()
	client.Transport = swapRefreshIDToken{base: client.Transport, idt: func() string {
		return srv.MintIDToken(map[string]any{"sub": "mallory", "nonce": nil})
	}}
	l, err := auth.NewLogin(context.Background(), auth.LoginConfig{
		Issuer: srv.Issuer(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURL: redirectURL,
		CookieKeys: [][]byte{key1}, HTTPClient: client, Now: srv.Now, Logger: quiet, Posture: &paved.Posture{}, Events: paved.NopSink{}, Scopes: offline,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := appMux(l)
	sess := signIn(t, srv, mux)
	srv.Advance(authtest.DefaultTokenTTL + time.Minute)
	w := serve(mux, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json")
	if w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), "mallory") {
		t.Fatalf("refresh with another subject = %d %q, want 401", w.Code, w.Body)
	}
}

// TestConcurrentRenewalSharesOneRefresh: N requests that carry one session
// whose access token has run out renew it once: one refresh at a provider
// that rotates refresh tokens and refuses (and punishes) reuse, every
// request succeeds and sets the same new cookie, and a request that still
// carries the old cookie shortly after gets that session too.
func TestConcurrentRenewalSharesOneRefresh(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	mux := appMux(newLogin(t, srv))
	sess := signIn(t, srv, mux)
	srv.Advance(authtest.DefaultTokenTTL + time.Minute) // every request must renew
	const n = 16
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]*httptest.ResponseRecorder, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = serve(mux, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json")
		}()
	}
	close(start)
	wg.Wait()
	var value string
	for i, w := range results {
		if w.Code != http.StatusOK {
			t.Fatalf("request %d = %d %s: a parallel renewal logged the user out", i, w.Code, w.Body)
		}
		c := cookie(t, w, auth.SessionCookie)
		if c.MaxAge <= 0 || c.Value == sess.Value {
			t.Fatalf("request %d did not set a renewed cookie: %+v", i, c)
		}
		if value == "" {
			value = c.Value
		} else if c.Value != value {
			t.Fatalf("request %d set another cookie than request 0", i)
		}
	}
	if got := srv.RefreshRequests(); got != 1 {
		t.Fatalf("provider got %d refresh requests for one session, want 1", got)
	}
	// A late request with the old cookie, within the grace: the same
	// session, no second refresh.
	srv.Advance(5 * time.Second)
	w := serve(mux, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json")
	if w.Code != http.StatusOK || cookie(t, w, auth.SessionCookie).Value != value {
		t.Fatalf("late request with the old cookie = %d, want 200 and the renewed cookie", w.Code)
	}
	renewed := &http.Cookie{Name: auth.SessionCookie, Value: value}
	if w := serve(mux, "GET", "/app", []*http.Cookie{renewed}); w.Code != http.StatusOK || len(w.Result().Cookies()) != 0 {
		t.Fatalf("renewed session = %d (cookies %v), want 200 without renewal", w.Code, w.Header()["Set-Cookie"])
	}
	if srv.RefreshRequests() != 1 || srv.RefreshReuses() != 0 {
		t.Fatalf("refresh requests %d, reuses %d; want 1 and 0", srv.RefreshRequests(), srv.RefreshReuses())
	}
}

// TestSessionEndedEvents: logout, a failed refresh and the end of the
// session's lifetime each emit EventSessionEnded with their reason.
func TestSessionEndedEvents(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	var mu sync.Mutex
	var ended []string
	l, err := auth.NewLogin(context.Background(), auth.LoginConfig{
		Issuer: srv.Issuer(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURL: redirectURL,
		CookieKeys: [][]byte{key1}, HTTPClient: srv.Client(), Now: srv.Now, Logger: quiet, Posture: &paved.Posture{}, Scopes: offline,
		Events: paved.SinkFunc(func(_ context.Context, e paved.Event) {
			if e.Type == paved.EventSessionEnded {
				mu.Lock()
				ended = append(ended, e.Reason+":"+e.Subject+":"+string(e.Outcome))
				mu.Unlock()
			}
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := appMux(l)
	json := []string{"Accept", "application/json"}
	// Logout.
	if w := serve(mux, "POST", "/logout", []*http.Cookie{signIn(t, srv, mux)}); w.Code != http.StatusSeeOther {
		t.Fatalf("logout = %d", w.Code)
	}
	// A refresh the provider refuses: the refresh token was spent by
	// another replica, past the grace.
	sess := signIn(t, srv, mux)
	srv.Advance(authtest.DefaultTokenTTL + time.Minute)
	if w := serve(mux, "GET", "/app", []*http.Cookie{sess}); w.Code != http.StatusOK {
		t.Fatalf("renewal = %d", w.Code)
	}
	srv.Advance(time.Minute)
	if w := serve(mux, "GET", "/app", []*http.Cookie{sess}, json...); w.Code != http.StatusUnauthorized {
		t.Fatalf("spent refresh token = %d", w.Code)
	}
	// The session's lifetime.
	sess = signIn(t, srv, mux)
	srv.Advance(auth.DefaultSessionTTL)
	if w := serve(mux, "GET", "/app", []*http.Cookie{sess}, json...); w.Code != http.StatusUnauthorized {
		t.Fatalf("session past its lifetime = %d", w.Code)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"logout:alice:success", "refresh_failed:alice:failure", "expired:alice:success"}
	if !slices.Equal(ended, want) {
		t.Fatalf("session-ended events = %v, want %v", ended, want)
	}
}
