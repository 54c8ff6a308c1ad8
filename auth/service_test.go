package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
)

func newService(t *testing.T, srv *authtest.Server, mod ...func(*auth.ServiceConfig)) *auth.Service {
	t.Helper()
	cfg := auth.ServiceConfig{Issuer: srv.Issuer(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), Scopes: []string{"orders:read"}, HTTPClient: srv.Client(), Posture: &paved.Posture{}}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := auth.NewService(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestClientCredentials(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	ts := newService(t, srv).TokenSource(context.Background())
	t1, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := ts.Token()
	if t1.AccessToken != t2.AccessToken {
		t.Fatal("token not cached")
	}
	p, err := v.Verify(context.Background(), t1.AccessToken)
	if err != nil || p.Subject != srv.ClientID() || !p.HasScope("orders:read") {
		t.Fatalf("service token: %+v %v", p, err)
	}

	// A token with less life left than the early-refresh margin is renewed.
	short := authtest.NewServer(t, authtest.Config{TokenTTL: 30 * time.Second})
	ts = newService(t, short).TokenSource(context.Background())
	a, _ := ts.Token()
	b, _ := ts.Token()
	if a.AccessToken == b.AccessToken {
		t.Fatal("token inside the early-refresh window was reused")
	}

	bad := newService(t, srv, func(c *auth.ServiceConfig) { c.ClientSecret = "wrong" }).TokenSource(context.Background())
	if _, err := bad.Token(); err == nil {
		t.Fatal("wrong secret got a token")
	}
}

func TestTransport(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	api := httptest.NewTLSServer(v.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := paved.PrincipalFrom(r.Context())
		_, _ = w.Write([]byte(p.Subject))
	}), auth.RequireScope("orders:read")))
	defer api.Close()
	ts := newService(t, srv).TokenSource(context.Background())
	c := &http.Client{Transport: auth.Transport(api.Client().Transport, ts)}
	resp, err := c.Get(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, err := c.Get("http://127.0.0.1:1/"); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("plain http: %v", err)
	}
}

func TestTokenExchange(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	s := newService(t, srv)
	user := srv.Mint(map[string]any{"sub": "bob"})
	tok, err := s.Exchange(context.Background(), auth.ExchangeRequest{SubjectToken: user, Audience: "inventory"})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, srv, func(c *auth.Config) { c.Audiences = []string{"inventory"} })
	p, err := v.Verify(context.Background(), tok.AccessToken)
	if err != nil || p.Subject != "bob" {
		t.Fatalf("exchanged token: %+v %v", p, err)
	}
	if act, _ := p.Claims["act"].(map[string]any); act["sub"] != srv.ClientID() {
		t.Fatalf("act claim = %v", p.Claims["act"])
	}
	if _, err := s.Exchange(context.Background(), auth.ExchangeRequest{SubjectToken: "forged", Audience: "inventory"}); err == nil || strings.Contains(err.Error(), "forged") {
		t.Fatalf("forged subject token: %v", err)
	}
	if errors.Is(err, auth.ErrNotSupported) {
		t.Fatal("authtest advertises token exchange")
	}
	plain := authtest.NewServer(t, authtest.Config{DisableTokenExchange: true})
	_, err = newService(t, plain).Exchange(context.Background(), auth.ExchangeRequest{SubjectToken: plain.Mint(nil), Audience: "x"})
	if !errors.Is(err, auth.ErrNotSupported) {
		t.Fatalf("exchange without provider support = %v, want ErrNotSupported", err)
	}
}

// TestTransportRedirects: a redirect to another host (or port) never
// carries the bearer token; a redirect on the same host does.
func TestTransportRedirects(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	var mu sync.Mutex
	seen := map[string]string{}
	record := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name] = r.Header.Get("Authorization")
			mu.Unlock()
		})
	}
	other := httptest.NewTLSServer(record("other"))
	defer other.Close()
	mux := http.NewServeMux()
	mux.Handle("/away", http.RedirectHandler(other.URL+"/steal", http.StatusFound))
	mux.Handle("/plain", http.RedirectHandler("http://"+strings.TrimPrefix(other.URL, "https://")+"/steal", http.StatusFound))
	mux.Handle("/here", http.RedirectHandler("/landing", http.StatusFound))
	mux.Handle("/landing", record("landing"))
	api := httptest.NewTLSServer(mux)
	defer api.Close()
	c := &http.Client{Transport: auth.Transport(api.Client().Transport, newService(t, srv).TokenSource(context.Background()))}

	resp, err := c.Get(api.URL + "/away")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := seen["other"]; got != "" {
		t.Fatalf("redirect to another host carried Authorization %q", got[:min(len(got), 12)])
	}
	if _, err := c.Get(api.URL + "/plain"); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("redirect to plain http: %v", err)
	}
	resp, err = c.Get(api.URL + "/here")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := seen["landing"]; !strings.HasPrefix(got, "Bearer ") {
		t.Fatalf("same-host redirect lost the token: %q", got)
	}
}

// TestProviderEndpointsMustBeHTTPS: an https issuer whose discovery names
// a plain-http token or authorization endpoint is refused, so the client
// secret, code and tokens never travel unencrypted.
func TestProviderEndpointsMustBeHTTPS(t *testing.T) {
	for _, field := range []string{"token_endpoint", "authorization_endpoint"} {
		t.Run(field, func(t *testing.T) {
			var iss string
			disc := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				doc := map[string]any{
					"issuer": iss, "jwks_uri": iss + "/jwks",
					"authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
				}
				doc[field] = "http://" + strings.TrimPrefix(iss, "https://") + "/" + field
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(doc)
			}))
			defer disc.Close()
			iss = disc.URL
			ctx := context.Background()
			_, err := auth.NewLogin(ctx, auth.LoginConfig{Issuer: iss, ClientID: "c", ClientSecret: "s", RedirectURL: redirectURL,
				CookieKeys: [][]byte{key1}, HTTPClient: disc.Client(), Logger: quiet, Posture: &paved.Posture{}})
			if err == nil || !strings.Contains(err.Error(), field) {
				t.Fatalf("NewLogin = %v, want an error naming %s", err, field)
			}
			_, err = auth.NewService(ctx, auth.ServiceConfig{Issuer: iss, ClientID: "c", ClientSecret: "s", HTTPClient: disc.Client(), Posture: &paved.Posture{}})
			if field == "token_endpoint" && (err == nil || !strings.Contains(err.Error(), field)) {
				t.Fatalf("NewService = %v, want an error naming %s", err, field)
			}
		})
	}
}

// TestServiceLogsOptOuts: NewService logs its opt-outs once, as New and
// NewLogin do.
func TestServiceLogsOptOuts(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	rc := &recorder{}
	newService(t, srv, func(c *auth.ServiceConfig) {
		c.Logger = slog.New(rc)
		c.OptOuts = []paved.OptOut{auth.AllowHTTPIssuer("local Vault dev server")}
	})
	if n := len(rc.logsContaining("opted out")); n != 1 {
		t.Fatalf("NewService logged %d opt-out records, want 1", n)
	}
}
