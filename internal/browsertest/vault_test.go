package browsertest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/internal/testenv"
)

// vaultSignInPage stands in for Vault's web UI, which a Vault built from
// the Go module proxy lacks ("Vault UI is not available in this
// binary"). It does in the browser what the UI does on Vault's origin:
// a userpass login with what the user typed, then the OIDC provider's
// authorize API with the token it got, then a redirect to the relying
// party with the code and state. Every call is the browser's own, to the
// real Vault.
const vaultSignInPage = `<!doctype html><html><head><meta charset=utf-8><title>Sign in to Vault</title></head><body>
<h1>Sign in to Vault (stand-in for the UI)</h1>
<form id=f><input id=username autocomplete=username><input id=password type=password autocomplete=current-password><button id=signin>Sign in</button></form>
<script>
const cfg = %s;
document.getElementById("f").addEventListener("submit", async e => {
  e.preventDefault();
  try {
    const user = document.getElementById("username").value, password = document.getElementById("password").value;
    const login = await fetch("/v1/auth/" + encodeURIComponent(cfg.mount) + "/login/" + encodeURIComponent(user), {method: "POST", body: JSON.stringify({password})});
    if (!login.ok) throw new Error("userpass login: " + login.status);
    const token = (await login.json()).auth.client_token;
    const authz = await fetch(cfg.authorize + location.search, {headers: {"X-Vault-Token": token}});
    const body = await authz.json();
    if (!authz.ok || !body.code) throw new Error("authorize: " + authz.status + " " + JSON.stringify(body));
    const q = new URLSearchParams(location.search);
    const cb = new URL(q.get("redirect_uri"));
    cb.searchParams.set("code", body.code);
    if (body.state) cb.searchParams.set("state", body.state);
    location.assign(cb.href);
  } catch (err) { window.vaultError = String(err); }
});
</script></body></html>`

// standInVaultUI makes the tab answer requests for Vault's UI authorize
// page with vaultSignInPage, and returns the authorization requests the
// browser made there.
func standInVaultUI(t *testing.T, tb *tab, vaultAddr, issuer, mount string) func() []*url.URL {
	t.Helper()
	uiPrefix := strings.TrimSuffix(vaultAddr, "/") + "/ui/vault/identity/oidc/provider/"
	cfg, _ := json.Marshal(map[string]string{
		"mount":     mount,
		"authorize": strings.TrimPrefix(issuer, strings.TrimSuffix(vaultAddr, "/")) + "/authorize",
	})
	body := []byte(fmt.Sprintf(vaultSignInPage, cfg))
	var mu sync.Mutex
	var seen []*url.URL
	paused := chromedp.Events(tb.ctx, fetch.RequestPaused) // subscribed now
	if _, err := chromedp.Call(tb.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: uiPrefix + "*"}}}); err != nil {
		t.Fatalf("Fetch.enable: %v", err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			if u, err := url.Parse(ev.Request.URL + ev.Request.URLFragment); err == nil {
				mu.Lock()
				seen = append(seen, u)
				mu.Unlock()
			}
			_, _ = chromedp.Call(tb.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: http.StatusOK, Body: body,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html; charset=utf-8"}, {Name: "Cache-Control", Value: "no-store"}},
			})
		}
	}()
	return func() []*url.URL {
		mu.Lock()
		defer mu.Unlock()
		return append([]*url.URL(nil), seen...)
	}
}

// vaultEntityID reads the ID of the entity the OIDC user is linked to:
// the sub of Vault's ID tokens.
func vaultEntityID(t *testing.T, v testenv.Vault, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(v.Addr, "/")+"/v1/identity/entity/name/"+url.PathEscape(name), nil)
	req.Header.Set("X-Vault-Token", v.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Data.ID == "" {
		t.Fatalf("entity %s: %s %v", name, resp.Status, err)
	}
	return out.Data.ID
}

// TestBrowserLoginVault runs the browser login against Vault's OpenID
// provider in the integration run: the user types Vault's userpass
// credentials, the browser signs in at Vault and comes back with a code,
// the app exchanges it (PKCE) and the protected page shows the Vault
// entity. Vault issues no refresh token and has no end_session endpoint,
// so there is no renewal to see, and logout ends the session at the app.
func TestBrowserLoginVault(t *testing.T) {
	v := testenv.RequireVault(t)
	o := testenv.RequireOIDC(t)
	tb := newTab(t)
	ru, err := url.Parse(o.RedirectURI)
	if err != nil || ru.Scheme != "http" || ru.Path != "/callback" {
		t.Fatalf("PAVED_OIDC_REDIRECT_URI %q: want http://127.0.0.1:PORT/callback", o.RedirectURI)
	}
	// The redirect URI registered at Vault fixes the app's port.
	ln, err := net.Listen("tcp", ru.Host)
	if errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("%s is taken: another run of this test, or another program, holds the redirect URI's port", ru.Host)
	} else if err != nil {
		t.Fatal(err)
	}
	app := startLoginApp(t, ln, "http", ru.Hostname(), auth.LoginConfig{
		Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		Scopes:  []string{"openid", "profile"},
		OptOuts: []paved.OptOut{auth.AllowHTTPIssuer("Vault dev server on loopback in the integration run")},
	})
	authRequests := standInVaultUI(t, tb, v.Addr, o.Issuer, o.UserpassMount)

	if _, err := tb.load(app.base + "/app"); err != nil {
		t.Fatalf("GET /app: %v", err)
	}
	poll[bool](tb, `document.getElementById("username") !== null`)
	tb.checkpoint("vault-sign-in")
	tb.do(
		chromedp.SendKeys(chromedp.CSS("#username"), o.Username),
		chromedp.SendKeys(chromedp.CSS("#password"), o.Password),
		click("#signin"),
	)
	sub := poll[string](tb, `window.vaultError ? "error: " + window.vaultError : window.signedIn`)
	tb.checkpoint("signed-in")
	if want := vaultEntityID(t, v, o.Username); sub != want {
		t.Fatalf("signed in as %q, want Vault entity %q", sub, want)
	}
	reqs := authRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d authorization requests, want 1", len(reqs))
	}
	if q := reqs[0].Query(); q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("redirect_uri") != o.RedirectURI {
		t.Fatalf("authorization request %s: want code flow with PKCE S256 and the registered redirect URI", reqs[0])
	}
	checkSessionCookie(t, tb, app)

	t.Run("Logout", func(t *testing.T) {
		tb := tb.in(t)
		tb.do(click("#logout"))
		poll[bool](tb, `document.getElementById("home") !== null`)
		if _, ok := tb.cookies(app.base + "/")[auth.SessionCookie]; ok {
			t.Fatal("the browser still holds the session cookie")
		}
		if status := eval[int](tb, `fetch("/app/api").then(r => r.status)`, chromedp.EvalAwaitPromise); status != http.StatusUnauthorized {
			t.Fatalf("GET /app/api after logout = %d, want 401", status)
		}
	})
}
