package auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
)

// Protect a route with a bearer token from an in-process authtest issuer.
func ExampleVerifier_Protect() {
	idp, err := authtest.Start(authtest.Config{})
	if err != nil {
		panic(err)
	}
	defer idp.Close()

	v, err := auth.New(context.Background(), auth.Config{
		Issuers:    []auth.Issuer{{URL: idp.Issuer()}},
		Audiences:  []string{idp.Audience()},
		HTTPClient: idp.Client(), // trusts the provider's test certificate
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := paved.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "orders of %s", p.Subject)
	}), auth.RequireScope("orders:read")))

	for _, tok := range []string{
		idp.Mint(map[string]any{"scope": "orders:read"}),
		idp.Mint(map[string]any{"scope": "profile"}),
		"",
	} {
		r := httptest.NewRequest("GET", "/orders", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			fmt.Println(w.Code, w.Body)
		} else {
			fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	// Output:
	// 200 orders of alice
	// 403 Bearer error="insufficient_scope", error_description="insufficient_scope", scope="orders:read"
	// 401 Bearer realm="api"
}

// Each rejection carries a reason usable with errors.Is and in logs.
func ExampleVerifier_Verify() {
	idp, _ := authtest.Start(authtest.Config{})
	defer idp.Close()
	v, _ := auth.New(context.Background(), auth.Config{
		Issuers: []auth.Issuer{{URL: idp.Issuer()}}, Audiences: []string{idp.Audience()}, HTTPClient: idp.Client(),
	})
	_, err := v.Verify(context.Background(), idp.Mint(map[string]any{"aud": "someone-else"}))
	fmt.Println(err)
	_, err = v.Verify(context.Background(), idp.MintIDToken(nil))
	fmt.Println(err)
	// Output:
	// auth: invalid claims: wrong_audience: aud names none of the accepted audiences
	// auth: invalid claims: id_token_as_access_token: an ID token is not an access token
}

// A provider that does not set typ at+jwt is accepted only through a named
// opt-out with a reason, which lands in the posture report.
func ExampleAllowUntypedTokens() {
	o := auth.AllowUntypedTokens("Vault identity tokens carry no typ")
	fmt.Println(o)
	// Output: auth/allow-untyped-tokens: Vault identity tokens carry no typ
}

// Wire browser login: sign-in, callback, logout and a page that needs a
// session. Navigations without one are redirected to /login; API and XHR
// requests get 401.
func ExampleNewLogin() {
	idp, _ := authtest.Start(authtest.Config{})
	defer idp.Close()
	login, err := auth.NewLogin(context.Background(), auth.LoginConfig{
		Issuer:      idp.Issuer(),
		ClientID:    idp.ClientID(),
		RedirectURL: "https://app.example.test/callback",
		// Generate with crypto/rand and keep in a secret store; prepend a
		// new key to rotate.
		CookieKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		HTTPClient: idp.Client(),
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /login", login.LoginHandler())
	mux.Handle("GET /callback", login.CallbackHandler())
	mux.Handle("POST /logout", login.LogoutHandler())
	mux.Handle("GET /", login.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := paved.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "hello %s", p.Subject)
	})))

	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output: 303 /login?return_to=%2F
}

// Ask for a refresh token with offline_access, which the login sends with
// prompt=consent (OpenID Connect Core section 11), and add authorization
// parameters: here a sign-in at most an hour old, and two resources.
func ExampleLoginConfig_authParams() {
	idp, _ := authtest.Start(authtest.Config{})
	defer idp.Close()
	login, err := auth.NewLogin(context.Background(), auth.LoginConfig{
		Issuer:      idp.Issuer(),
		ClientID:    idp.ClientID(),
		RedirectURL: "https://app.example.test/callback",
		CookieKeys:  [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		HTTPClient:  idp.Client(),
		Scopes:      []string{"openid", "email", auth.ScopeOfflineAccess},
		AuthParams: url.Values{
			"max_age":  {"3600"},
			"resource": {"https://orders.example/", "https://billing.example/"},
		},
	})
	if err != nil {
		panic(err)
	}
	u, _ := url.Parse(login.AuthCodeURL("state", "nonce", "verifier"))
	q := u.Query()
	fmt.Println(q.Get("scope"))
	fmt.Println(q.Get("prompt"), q.Get("max_age"), q["resource"])
	// Output:
	// openid email offline_access
	// consent 3600 [https://orders.example/ https://billing.example/]
}

// A custom requirement refuses with a reason of its own: Deny wraps
// auth.ErrForbidden, so the caller gets 403 with an insufficient_scope
// challenge and the reason in the problem body.
func ExampleDeny() {
	idp, _ := authtest.Start(authtest.Config{})
	defer idp.Close()
	v, _ := auth.New(context.Background(), auth.Config{
		Issuers: []auth.Issuer{{URL: idp.Issuer()}}, Audiences: []string{idp.Audience()}, HTTPClient: idp.Client(),
	})
	sameTenant := auth.RequirementFunc(func(p *paved.Principal) error {
		if p.Claims["tid"] != "t1" {
			return auth.Deny("wrong_tenant", "this API serves tenant t1 only")
		}
		return nil
	})
	h := v.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "welcome")
	}), sameTenant)

	for _, tid := range []string{"t1", "t2"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+idp.Mint(map[string]any{"tid": tid}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			fmt.Println(w.Code, w.Body)
			continue
		}
		var problem struct{ Reason, Detail string }
		_ = json.Unmarshal(w.Body.Bytes(), &problem)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
		fmt.Println(problem.Reason+":", problem.Detail)
	}
	// Output:
	// 200 welcome
	// 403 Bearer error="insufficient_scope", error_description="wrong_tenant"
	// wrong_tenant: this API serves tenant t1 only
}
