package browsertest_test

import (
	"context"
	"encoding/json"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/httpx"
)

// controlCookie is set with SameSite=None by the test app (never by
// paved): when a cross-site subresource request carries it and not the
// session cookie, SameSite=Lax, not a browser-wide third-party cookie
// block, is what kept the session cookie back.
const controlCookie = "__Host-browsertest-none"

// probe is what the app's /probe route saw of one request.
type probe struct {
	Via, SecFetchSite, SecFetchDest string
	Session, Control                bool
}

// loginApp is a paved application with browser login: /app is protected,
// /probe records which cookies each request carried.
type loginApp struct {
	base   string
	login  *auth.Login
	logins atomic.Int64 // requests to /login

	mu     sync.Mutex
	probes []probe
}

var appPage = template.Must(template.New("app").Parse(`<!doctype html>
<html><head><meta charset=utf-8><title>signed in</title>
<style nonce="{{.Nonce}}">body{font-family:sans-serif;margin:2em}</style></head><body>
<h1>Signed in as <span id=sub>{{.Subject}}</span></h1>
<form method=post action=/logout><button id=logout>Log out</button></form>
<script nonce="{{.Nonce}}">window.signedIn = document.getElementById("sub").textContent;</script>
</body></html>`))

// startLoginApp serves a login app on ln (scheme "https" with the dev
// certificate on host, or "http" on 127.0.0.1 as a redirect URI
// registered at Vault requires). lc lacks RedirectURL, CookieKeys and
// the plumbing, which this fills in.
func startLoginApp(t *testing.T, ln net.Listener, scheme, host string, lc auth.LoginConfig, serverOptOuts ...paved.OptOut) *loginApp {
	t.Helper()
	app := &loginApp{base: scheme + "://" + net.JoinHostPort(host, portOf(ln.Addr()))}
	lc.RedirectURL = app.base + "/callback"
	lc.CookieKeys = [][]byte{[]byte("browsertest-cookie-key-32-bytes!")}
	lc.Logger = slog.New(slog.DiscardHandler)
	lc.Posture = &paved.Posture{}
	lc.Events = paved.NopSink{}
	l, err := auth.NewLogin(context.Background(), lc)
	if err != nil {
		t.Fatalf("NewLogin: %v", err)
	}
	app.login = l
	cfg := httpx.Config{Headers: httpx.ProfileHTML, OptOuts: serverOptOuts}
	if scheme == "http" {
		cfg.OptOuts = append(cfg.OptOuts, httpx.AllowPlainHTTP("the redirect URI registered at the integration Vault is http://127.0.0.1"))
	}
	startPavedOn(t, ln, scheme, host, cfg, func(s *httpx.Server) {
		s.Handle("GET /login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			app.logins.Add(1)
			l.LoginHandler().ServeHTTP(w, r)
		}))
		s.Handle("GET /callback", l.CallbackHandler())
		s.Handle("POST /logout", l.LogoutHandler())
		s.Handle("GET /app", l.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := paved.PrincipalFrom(r.Context())
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_ = appPage.Execute(w, map[string]string{"Nonce": httpx.CSPNonce(r), "Subject": p.Subject})
		})))
		s.Handle("GET /app/api", l.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := paved.PrincipalFrom(r.Context())
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"subject": p.Subject})
		})))
		s.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			html(w, `<h1 id=home>Home</h1>`)
		})
		s.HandleFunc("GET /bye", func(w http.ResponseWriter, r *http.Request) {
			html(w, `<h1 id=bye>Signed out</h1>`)
		})
		s.HandleFunc("GET /probe", func(w http.ResponseWriter, r *http.Request) {
			_, errS := r.Cookie(auth.SessionCookie)
			_, errC := r.Cookie(controlCookie)
			app.mu.Lock()
			app.probes = append(app.probes, probe{
				Via: r.URL.Query().Get("via"), SecFetchSite: r.Header.Get("Sec-Fetch-Site"), SecFetchDest: r.Header.Get("Sec-Fetch-Dest"),
				Session: errS == nil, Control: errC == nil,
			})
			app.mu.Unlock()
			if r.Header.Get("Sec-Fetch-Dest") == "image" {
				w.Header().Set("Content-Type", "image/gif")
				w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
				_, _ = w.Write(gif1x1)
				return
			}
			html(w, `<p id=probed>probed</p>`)
		})
		s.HandleFunc("GET /cookies", func(w http.ResponseWriter, r *http.Request) {
			// The control cookie, and one that breaks the __Host- rules
			// (Path not /): the browser must refuse the second.
			w.Header().Add("Set-Cookie", controlCookie+"=1; Path=/; Secure; HttpOnly; SameSite=None")
			w.Header().Add("Set-Cookie", "__Host-browsertest-bad=1; Path=/app; Secure; SameSite=Lax")
			html(w, `<p id=set>set</p>`)
		})
	})
	return app
}

// gif1x1 is a transparent 1x1 GIF.
var gif1x1 = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// probe waits for the app to see a /probe request with via and returns it.
func (a *loginApp) probe(t *testing.T, via string) probe {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.mu.Lock()
		for _, p := range a.probes {
			if p.Via == via {
				a.mu.Unlock()
				return p
			}
		}
		a.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the app saw no /probe?via=%s", via)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scripts turns the page's script execution on or off.
func (tb *tab) scripts(on bool) {
	tb.t.Helper()
	if _, err := chromedp.Call(tb.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on}); err != nil {
		tb.t.Fatalf("scripts %t: %v", on, err)
	}
}

// cookies returns the browser's cookies for u, as its cookie store holds them.
func (tb *tab) cookies(u string) map[string]*network.Cookie {
	tb.t.Helper()
	res, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	if err != nil {
		tb.t.Fatalf("cookies of %s: %v", u, err)
	}
	m := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		m[c.Name] = c
	}
	return m
}

// signIn opens /app without a session and follows the browser through
// the provider back to /app; it returns the subject the page shows.
func signIn(t *testing.T, tb *tab, app *loginApp) string {
	t.Helper()
	if _, err := tb.load(app.base + "/app"); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	sub := poll[string](tb, `window.signedIn`)
	tb.checkpoint("signed-in")
	if loc := eval[string](tb, `location.href`); loc != app.base+"/app" {
		t.Fatalf("landed on %s, want %s/app", loc, app.base)
	}
	return sub
}

// checkSessionCookie asserts the browser stored the session cookie with
// the __Host- prefix's rules and paved's attributes, and that page
// scripts cannot read it.
func checkSessionCookie(t *testing.T, tb *tab, app *loginApp) *network.Cookie {
	t.Helper()
	jar := tb.cookies(app.base + "/")
	c := jar[auth.SessionCookie]
	if c == nil {
		t.Fatalf("the browser holds no %s; it holds %v", auth.SessionCookie, keys(jar))
	}
	u, _ := url.Parse(app.base)
	// A host-only cookie shows its host as domain, without a leading dot.
	if c.Domain != u.Hostname() || c.Path != "/" || !c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
		t.Fatalf("session cookie domain %q path %q secure %t httpOnly %t sameSite %q; want host-only %s, /, Secure, HttpOnly, Lax",
			c.Domain, c.Path, c.Secure, c.HTTPOnly, c.SameSite, u.Hostname())
	}
	if _, ok := jar[auth.FlowCookie]; ok {
		t.Fatalf("the one-use %s outlived the callback", auth.FlowCookie)
	}
	if dc := eval[string](tb, `document.cookie`); strings.Contains(dc, "paved") {
		t.Fatalf("document.cookie = %q: a script can read the session", dc)
	}
	return c
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestBrowserLogin signs Chromium in through authtest (authorization
// code with PKCE), then checks the session cookie as the browser stored
// it and sends it: __Host- rules and attributes, SameSite=Lax on a
// cross-site navigation and a cross-site subresource, renewal when the
// access token expires, and logout.
func TestBrowserLogin(t *testing.T) {
	tb := newTab(t)
	ln := listen(t)
	base := "https://localhost:" + portOf(ln.Addr())
	// One clock for the provider and the app, moved forward to expire the
	// access token without waiting.
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	idp := authtest.NewServer(t, authtest.Config{TokenTTL: time.Minute, PostLogoutRedirectURIs: []string{base + "/bye"}})
	app := startLoginApp(t, ln, "https", "localhost", auth.LoginConfig{
		Issuer: idp.Issuer(), ClientID: idp.ClientID(), ClientSecret: idp.ClientSecret(), HTTPClient: idp.Client(),
		// offline_access (with the prompt=consent the login adds) is what
		// a strict provider wants before it issues a refresh token.
		Scopes:                []string{"openid", "profile", auth.ScopeOfflineAccess},
		PostLogoutRedirectURL: base + "/bye",
		Now:                   now,
	})
	other := startOther(t, crossSiteLinks())

	if sub := signIn(t, tb, app); sub != authtest.DefaultSubject {
		t.Fatalf("signed in as %q, want %q", sub, authtest.DefaultSubject)
	}
	if n := app.logins.Load(); n != 1 {
		t.Fatalf("/login served %d times, want 1", n)
	}
	first := checkSessionCookie(t, tb, app)

	t.Run("HostPrefixEnforced", func(t *testing.T) {
		tb := tb.in(t)
		tb.navigate(app.base + "/cookies")
		jar := tb.cookies(app.base + "/app")
		if _, ok := jar["__Host-browsertest-bad"]; ok {
			t.Fatal("the browser stored a __Host- cookie with Path=/app")
		}
		if _, ok := jar[controlCookie]; !ok {
			t.Fatalf("control cookie not stored; jar %v", keys(jar))
		}
	})
	t.Run("SameSiteLax", func(t *testing.T) {
		tb := tb.in(t)
		tb.navigate(other + "/links?to=" + url.QueryEscape(app.base+"/probe"))
		img := app.probe(t, "img")
		tb.do(click("#nav"))
		nav := app.probe(t, "nav")
		if img.SecFetchSite != "cross-site" || nav.SecFetchSite != "cross-site" {
			t.Fatalf("Sec-Fetch-Site img %q nav %q, want cross-site: the two origins are not two sites", img.SecFetchSite, nav.SecFetchSite)
		}
		if !img.Control {
			t.Fatal("the cross-site image request carried no SameSite=None cookie either: third-party cookies are blocked, and the test cannot tell SameSite=Lax apart")
		}
		if img.Session {
			t.Fatal("a cross-site subresource request carried the session cookie (SameSite=Lax must keep it back)")
		}
		if !nav.Session {
			t.Fatal("a cross-site top-level navigation did not carry the session cookie")
		}
	})
	t.Run("RenewalKeepsSession", func(t *testing.T) {
		tb := tb.in(t)
		refreshes := idp.RefreshRequests()
		d := 2 * time.Minute // past the access token's minute
		offset.Add(int64(d))
		idp.Advance(d)
		tb.navigate(app.base + "/app")
		if sub := poll[string](tb, `window.signedIn`); sub != authtest.DefaultSubject {
			t.Fatalf("after renewal signed in as %q", sub)
		}
		if n := idp.RefreshRequests() - refreshes; n != 1 {
			t.Fatalf("%d refresh requests, want 1", n)
		}
		if n := app.logins.Load(); n != 1 {
			t.Fatalf("/login served %d times: the session did not survive the access token", n)
		}
		renewed := checkSessionCookie(t, tb, app)
		if renewed.Value == first.Value {
			t.Fatal("the browser still holds the cookie from before the renewal")
		}
	})
	t.Run("CrossSiteLogoutRefused", func(t *testing.T) {
		checkCrossSiteLogoutRefused(t, tb.in(t), app, idp, other)
	})
	t.Run("LogoutUnderFormActionSelf", func(t *testing.T) {
		tb := tb.in(t)
		// The HTML profile's form-action 'self' also covers the redirects
		// that answer the logout form, so the logout answers with a page
		// that navigates to the provider (its nonce'd script here): the
		// provider ends its session and sends the browser back to /bye.
		tb.navigate(app.base + "/app")
		checkLogout(t, tb, app, idp)
	})
	t.Run("LogoutWithoutScript", func(t *testing.T) {
		tb := tb.in(t)
		// With scripts off, the page's meta refresh, which no CSP
		// directive governs, still reaches the provider.
		if sub := signIn(t, tb, app); sub != authtest.DefaultSubject {
			t.Fatalf("signed in again as %q", sub)
		}
		tb.scripts(false)
		defer tb.scripts(true)
		tb.navigate(app.base + "/app")
		if eval[bool](tb, `window.signedIn !== undefined`) {
			t.Fatal("the page's script ran with scripts disabled")
		}
		checkLogout(t, tb, app, idp)
	})
}

// checkCrossSiteLogoutRefused: another site submits a logout form to the
// signed-in app (logout CSRF). The browser sends it, paved refuses it, so
// the browser keeps its session and the provider hears of nothing.
func checkCrossSiteLogoutRefused(t *testing.T, tb *tab, app *loginApp, idp *authtest.Server, other string) {
	t.Helper()
	logouts := idp.Logouts()
	tb.navigate(other + "/logout-form?to=" + url.QueryEscape(app.base+"/logout"))
	poll[bool](tb, `location.href === `+jsString(app.base+"/logout")+` && document.body !== null && document.body.textContent.includes("cross-origin request rejected")`)
	tb.checkpoint("cross-site-logout")
	if _, held := tb.cookies(app.base + "/")[auth.SessionCookie]; !held {
		t.Fatal("a cross-site form logged the browser out (its session cookie is gone)")
	}
	if n := idp.Logouts() - logouts; n != 0 {
		t.Fatalf("provider saw %d logouts from a cross-site form", n)
	}
	tb.navigate(app.base + "/app")
	if sub := poll[string](tb, `window.signedIn`); sub != authtest.DefaultSubject {
		t.Fatalf("after the cross-site logout signed in as %q", sub)
	}
}

// TestBrowserLogoutCSRFWithoutServerProtection: with httpx's cross-origin
// protection turned off (an opt-out), LogoutHandler's own origin check
// still refuses a cross-site logout form in the browser.
func TestBrowserLogoutCSRFWithoutServerProtection(t *testing.T) {
	tb := newTab(t)
	ln := listen(t)
	base := "https://localhost:" + portOf(ln.Addr())
	idp := authtest.NewServer(t, authtest.Config{PostLogoutRedirectURIs: []string{base + "/bye"}})
	app := startLoginApp(t, ln, "https", "localhost", auth.LoginConfig{
		Issuer: idp.Issuer(), ClientID: idp.ClientID(), ClientSecret: idp.ClientSecret(), HTTPClient: idp.Client(),
		PostLogoutRedirectURL: base + "/bye",
	}, httpx.DisableCrossOriginProtection("browser test: the logout handler's own check alone"))
	other := startOther(t, crossSiteLinks())
	if sub := signIn(t, tb, app); sub != authtest.DefaultSubject {
		t.Fatalf("signed in as %q", sub)
	}
	checkCrossSiteLogoutRefused(t, tb, app, idp, other)
}

// checkLogout clicks the logout button of the signed-in /app page under
// the unmodified HTML profile and asserts the browser reached the
// provider's end_session_endpoint, came back to /bye without a CSP
// refusal, and holds no session.
func checkLogout(t *testing.T, tb *tab, app *loginApp, idp *authtest.Server) {
	t.Helper()
	logouts := idp.Logouts()
	if action := eval[string](tb, `document.getElementById("logout").form.action`); action != app.base+"/logout" {
		t.Fatalf("logout form posts to %s", action)
	}
	tb.do(click("#logout"))
	// Until the browser shows /bye, a form-action refusal in its log is
	// the verdict: fail on it at once.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if m := tb.findLog("form-action"); m != "" {
			t.Fatalf("the browser refused the logout's navigation: %q", m)
		}
		ctx, cancel := context.WithTimeout(tb.ctx, time.Second)
		bye, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("bye") !== null`))
		cancel()
		if err == nil && bye {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no /bye page within 15s after logout (last: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.checkpoint("logged-out")
	if loc := eval[string](tb, `location.href`); loc != app.base+"/bye" {
		t.Fatalf("after logout at %s, want %s/bye", loc, app.base)
	}
	if n := idp.Logouts() - logouts; n != 1 {
		t.Fatalf("provider saw %d logouts, want 1 (RP-initiated logout)", n)
	}
	if m := tb.findLog("form-action"); m != "" {
		t.Fatalf("the browser refused a navigation: %q", m)
	}
	if _, ok := tb.cookies(app.base + "/")[auth.SessionCookie]; ok {
		t.Fatal("the browser still holds the session cookie")
	}
	status := eval[int](tb, `fetch("/app/api").then(r => r.status)`, chromedp.EvalAwaitPromise)
	if status != http.StatusUnauthorized {
		t.Fatalf("GET /app/api after logout = %d, want 401", status)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// crossSiteLinks serves, on another site, a page with an image from and a
// link to ?to, and a page that submits a form to ?to.
func crossSiteLinks() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /links", func(w http.ResponseWriter, r *http.Request) {
		to := r.URL.Query().Get("to")
		html(w, `<img src="`+template.HTMLEscapeString(to+"?via=img")+`"><a id=nav href="`+template.HTMLEscapeString(to+"?via=nav")+`">to paved</a>`)
	})
	mux.HandleFunc("GET /logout-form", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<form id=f method=post action="`+template.HTMLEscapeString(r.URL.Query().Get("to"))+`"></form><script>document.getElementById("f").submit()</script>`)
	})
	return mux
}
