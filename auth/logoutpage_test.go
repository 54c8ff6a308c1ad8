package auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/httpx"
)

var (
	metaRefresh = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]*)">`)
	endLink     = regexp.MustCompile(`<a id="paved-end-session" href="([^"]*)">`)
	navScript   = regexp.MustCompile(`<script nonce="([^"]*)">location.replace\(("[^"]*")\);</script>`)
	cspNonce    = regexp.MustCompile(`script-src 'nonce-([^']+)'`)
)

// checkEndSessionURL asserts u is the provider's end_session_endpoint
// with the RP-initiated logout parameters.
func checkEndSessionURL(t *testing.T, srv *authtest.Server, u string) {
	t.Helper()
	loc, err := url.Parse(u)
	if err != nil {
		t.Fatalf("end-session URL %q: %v", u, err)
	}
	q := loc.Query()
	if loc.Scheme+"://"+loc.Host+loc.Path != srv.Issuer()+"/end_session" || q.Get("id_token_hint") == "" ||
		q.Get("client_id") != srv.ClientID() || q.Get("post_logout_redirect_uri") != "https://app.example.test/bye" {
		t.Fatalf("end-session URL = %s", u)
	}
}

// TestLogoutAnswers: a browser's logout form gets a 200 page that
// navigates to the end_session_endpoint (a 303 there would be refused
// under CSP form-action 'self'); fetch, XHR and API clients keep the 303.
func TestLogoutAnswers(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	mux := appMux(newLogin(t, srv))
	for _, tc := range []struct {
		name string
		hdr  []string
		page bool
	}{
		{"form navigation", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Accept", "text/html,application/xhtml+xml"}, true},
		{"old browser form", []string{"Origin", "http://example.com", "Accept", "text/html,application/xhtml+xml"}, true},
		{"fetch", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors", "Accept", "text/html"}, false},
		{"XHR", []string{"X-Requested-With", "XMLHttpRequest", "Accept", "text/html"}, false},
		{"API client with a token", []string{"Authorization", "Bearer x", "Accept", "text/html"}, false},
		{"API client", []string{"Accept", "application/json"}, false},
		{"no headers", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(mux, "POST", "/logout", []*http.Cookie{signIn(t, srv, mux)}, tc.hdr...)
			if c := cookie(t, w, auth.SessionCookie); c.MaxAge >= 0 {
				t.Fatalf("session cookie not cleared: %+v", c)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control %q", cc)
			}
			if !tc.page {
				if w.Code != http.StatusSeeOther {
					t.Fatalf("POST /logout = %d, want 303", w.Code)
				}
				checkEndSessionURL(t, srv, w.Header().Get("Location"))
				return
			}
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/html; charset=utf-8" || w.Header().Get("Location") != "" {
				t.Fatalf("POST /logout = %d %q Location %q, want 200 text/html, no Location", w.Code, w.Header().Get("Content-Type"), w.Header().Get("Location"))
			}
			if rp := w.Header().Get("Referrer-Policy"); rp != "no-referrer" {
				t.Fatalf("Referrer-Policy %q", rp)
			}
			body := w.Body.String()
			m, a := metaRefresh.FindStringSubmatch(body), endLink.FindStringSubmatch(body)
			if m == nil || a == nil {
				t.Fatalf("page without meta refresh or link:\n%s", body)
			}
			refresh, link := html.UnescapeString(m[1]), html.UnescapeString(a[1])
			if refresh != link {
				t.Fatalf("meta refresh to %s, link to %s", refresh, link)
			}
			checkEndSessionURL(t, srv, refresh)
			// Outside httpx's HTML profile there is no nonce, hence no script.
			if strings.Contains(body, "<script") {
				t.Fatalf("script without a CSP nonce:\n%s", body)
			}
			// The page's URL ends the session at the provider.
			logouts := srv.Logouts()
			c := srv.Client()
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := c.Get(refresh)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || srv.Logouts()-logouts != 1 {
				t.Fatalf("end_session = %d, %d logouts", resp.StatusCode, srv.Logouts()-logouts)
			}
		})
	}
}

// TestLogoutPageUnderHTMLProfile: behind httpx's ProfileHTML headers the
// page also navigates with a script carrying the response's CSP nonce,
// and the site's CSP is left as it is (form-action 'self').
func TestLogoutPageUnderHTMLProfile(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	mux := appMux(newLogin(t, srv))
	h := httpx.SecurityHeaders(httpx.ProfileHTML)(mux)
	w := serve(h, "POST", "/logout", []*http.Cookie{signIn(t, srv, mux)}, "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate", "Accept", "text/html")
	if w.Code != http.StatusOK {
		t.Fatalf("POST /logout = %d", w.Code)
	}
	csp := w.Header().Get("Content-Security-Policy")
	n := cspNonce.FindStringSubmatch(csp)
	if n == nil || !strings.Contains(csp, "form-action 'self';") {
		t.Fatalf("CSP %q: want the profile's, with a nonce and form-action 'self'", csp)
	}
	body := w.Body.String()
	s := navScript.FindStringSubmatch(body)
	if s == nil {
		t.Fatalf("no navigation script:\n%s", body)
	}
	if html.UnescapeString(s[1]) != n[1] {
		t.Fatalf("script nonce %q, CSP nonce %q", s[1], n[1])
	}
	var target string
	if err := json.Unmarshal([]byte(s[2]), &target); err != nil {
		t.Fatalf("script URL %s: %v", s[2], err)
	}
	checkEndSessionURL(t, srv, target)
	if m := metaRefresh.FindStringSubmatch(body); m == nil || html.UnescapeString(m[1]) != target {
		t.Fatalf("meta refresh %v, script to %s", m, target)
	}
}

// endSessionRewriter advertises endSession as the provider's
// end_session_endpoint.
type endSessionRewriter struct {
	base       http.RoundTripper
	endSession string
}

func (rw endSessionRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rw.base.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/openid-configuration") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	body["end_session_endpoint"] = rw.endSession
	return jsonResponse(r, http.StatusOK, body), nil
}

// TestLogoutIgnoresUnsafeEndSession: an end_session_endpoint that is not
// https is never sent to the browser; logout then ends the session here
// and redirects to "/".
func TestLogoutIgnoresUnsafeEndSession(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	for _, ep := range []string{"javascript:alert(1)", "http://idp.example.test/end_session", "data:text/html,x", "/end_session"} {
		t.Run(ep, func(t *testing.T) {
			cfg := loginCfg(srv)
			hc := *srv.Client()
			hc.Transport = endSessionRewriter{base: hc.Transport, endSession: ep}
			cfg.HTTPClient = &hc
			mux := appMux(mustLogin(t, cfg))
			w := serve(mux, "POST", "/logout", []*http.Cookie{signIn(t, srv, mux)}, "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate", "Accept", "text/html")
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
				t.Fatalf("POST /logout = %d to %q, want 303 to /", w.Code, w.Header().Get("Location"))
			}
			if c := cookie(t, w, auth.SessionCookie); c.MaxAge >= 0 {
				t.Fatalf("session cookie not cleared: %+v", c)
			}
		})
	}
}

// A browser's logout form gets a page that navigates to the provider's
// end_session_endpoint (CSP form-action 'self' would block a redirect
// there); an API client gets the 303.
func ExampleLogin_LogoutHandler() {
	idp, _ := authtest.Start(authtest.Config{})
	defer idp.Close()
	login, err := auth.NewLogin(context.Background(), auth.LoginConfig{
		Issuer:      idp.Issuer(),
		ClientID:    idp.ClientID(),
		RedirectURL: "https://app.example.test/callback",
		CookieKeys:  [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		HTTPClient:  idp.Client(),
	})
	if err != nil {
		panic(err)
	}
	logout := httpx.SecurityHeaders(httpx.ProfileHTML)(login.LogoutHandler())

	form := httptest.NewRequest("POST", "/logout", nil)
	form.Header.Set("Sec-Fetch-Site", "same-origin")
	form.Header.Set("Sec-Fetch-Mode", "navigate")
	w := httptest.NewRecorder()
	logout.ServeHTTP(w, form)
	fmt.Println(w.Code, w.Header().Get("Content-Type"), strings.Contains(w.Body.String(), `http-equiv="refresh"`))

	api := httptest.NewRequest("POST", "/logout", nil)
	api.Header.Set("Accept", "application/json")
	w = httptest.NewRecorder()
	logout.ServeHTTP(w, api)
	fmt.Println(w.Code, strings.HasPrefix(w.Header().Get("Location"), idp.Issuer()+"/end_session?"))
	// Output:
	// 200 text/html; charset=utf-8 true
	// 303 true
}
