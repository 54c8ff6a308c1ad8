package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
)

// gatedStore holds the first write after arm until gate is closed,
// telling the test on inSave that it is waiting.
type gatedStore struct {
	*memStore
	mu     sync.Mutex
	armed  bool
	inSave chan struct{}
	gate   chan struct{}
}

func (g *gatedStore) wait() {
	g.mu.Lock()
	armed := g.armed
	g.armed = false
	g.mu.Unlock()
	if armed {
		close(g.inSave)
		<-g.gate
	}
}

func (g *gatedStore) Save(ctx context.Context, id string, v []byte, ttl time.Duration) error {
	g.wait()
	return g.memStore.Save(ctx, id, v, ttl)
}

func (g *gatedStore) Replace(ctx context.Context, id string, v []byte, ttl time.Duration) error {
	g.wait()
	return g.memStore.Replace(ctx, id, v, ttl)
}

// A renewal on one replica that finishes after a logout on another must
// not bring the session back.
func TestRenewalAcrossReplicasDoesNotResurrect(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	store := &gatedStore{memStore: &memStore{m: map[string][]byte{}}, inSave: make(chan struct{}), gate: make(chan struct{})}
	rc := &recorder{}
	cfgB := loginCfg(srv)
	cfgB.Store, cfgB.Events = store, rc.sink()
	muxA, muxB := appMux(loginWithStore(t, srv, store)), appMux(mustLogin(t, cfgB))
	sess := signIn(t, srv, muxA)
	srv.Advance(authtest.DefaultTokenTTL + time.Minute)
	store.mu.Lock()
	store.armed = true
	store.mu.Unlock()
	done := make(chan int)
	go func() { done <- serve(muxB, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json").Code }()
	<-store.inSave
	if w := serve(muxA, "POST", "/logout", []*http.Cookie{sess}); w.Code != http.StatusSeeOther {
		t.Fatalf("logout on A = %d", w.Code)
	}
	close(store.gate)
	if code := <-done; code != http.StatusUnauthorized {
		t.Fatalf("renewal on B across the logout = %d, want 401", code)
	}
	if n := store.len(); n != 0 {
		t.Fatalf("store holds %d sessions after logout, want 0", n)
	}
	if got := rc.eventsOf(paved.EventSessionEnded, "cause"); len(got) != 1 || got[0] != auth.SessionEndRefreshFailed+" cause=session_deleted" {
		t.Fatalf("session-ended events on B = %q, want one refresh_failed cause=session_deleted", got)
	}
	if w := serve(muxA, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json"); w.Code != http.StatusUnauthorized {
		t.Fatalf("copied cookie after logout = %d, want 401", w.Code)
	}
}

// failDeleteStore fails every Delete.
type failDeleteStore struct{ *memStore }

func (failDeleteStore) Delete(context.Context, string) error { return errors.New("store down") }

func TestLogoutWithStoreFailing(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	store := &memStore{m: map[string][]byte{}}
	mux := appMux(loginWithStore(t, srv, store))
	sess := signIn(t, srv, mux)
	store.fail = true
	w := serve(mux, "POST", "/logout", []*http.Cookie{sess})
	if w.Code != http.StatusServiceUnavailable || problemReason(t, w) != auth.ReasonStoreError {
		t.Fatalf("logout with the store down = %d %s, want 503 %s", w.Code, w.Body, auth.ReasonStoreError)
	}
	if c := cookie(t, w, auth.SessionCookie); c.MaxAge >= 0 {
		t.Fatalf("logout with the store down kept the cookie: %v", c)
	}

	fd := failDeleteStore{&memStore{m: map[string][]byte{}}}
	mux = appMux(loginWithStore(t, srv, fd))
	sess = signIn(t, srv, mux)
	w = serve(mux, "POST", "/logout", []*http.Cookie{sess})
	if w.Code != http.StatusServiceUnavailable || problemReason(t, w) != auth.ReasonStoreError {
		t.Fatalf("logout whose Delete fails = %d %s, want 503 %s", w.Code, w.Body, auth.ReasonStoreError)
	}
	// A new sign-in over a session it cannot delete fails too.
	flow, authURL := startLogin(t, mux)
	w = serve(mux, "GET", authorize(t, srv, authURL), []*http.Cookie{flow, sess})
	if w.Code != http.StatusServiceUnavailable || problemReason(t, w) != auth.ReasonStoreError {
		t.Fatalf("callback whose Delete of the old session fails = %d %s", w.Code, w.Body)
	}
}

// Two logins sharing CookieKeys must not accept each other's cookies.
func TestCookiesBoundToIssuerAndClient(t *testing.T) {
	srvA := authtest.NewServer(t, authtest.Config{})
	srvB := authtest.NewServer(t, authtest.Config{})
	muxA, muxB := appMux(newLogin(t, srvA)), appMux(newLogin(t, srvB))
	sess := signIn(t, srvA, muxA)
	if w := serve(muxA, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json"); w.Code != 200 {
		t.Fatalf("own cookie = %d", w.Code)
	}
	if w := serve(muxB, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json"); w.Code != http.StatusUnauthorized {
		t.Fatalf("cookie of another issuer's login = %d %s, want 401", w.Code, w.Body)
	}
	// The flow cookie too.
	flow, authURL := startLogin(t, muxA)
	w := serve(muxB, "GET", authorize(t, srvA, authURL), []*http.Cookie{flow})
	if w.Code != http.StatusBadRequest || problemReason(t, w) != auth.ReasonStateMismatch {
		t.Fatalf("flow cookie of another login = %d %s, want 400 state_mismatch", w.Code, w.Body)
	}
}

// Cognito's kids are standard base64, with '/', '+' and '='.
func TestCognitoStyleKID(t *testing.T) {
	for _, kid := range []string{"vyVQH7UMjwYboVvyFf+zd4KHZfgc+RtmU/A2vHhgITI=", "KZtSs4C20n0rxwT9tJBIn/gBzqQ="} {
		srv := authtest.NewServer(t, authtest.Config{})
		srv.SetKeyID("ES256", kid)
		v := newVerifier(t, srv)
		if _, err := v.Verify(context.Background(), mustMint(t, srv, authtest.Token{})); err != nil {
			t.Fatalf("kid %q: %v", kid, err)
		}
	}
}

// A request with the pre-renewal cookie that gets the renewed session
// from the grace is logged: it may be a thief replaying a copied cookie.
func TestLateGraceRequestLogged(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	rc := &recorder{}
	cfg := loginCfg(srv)
	cfg.Logger = slog.New(rc)
	mux := appMux(mustLogin(t, cfg))
	sess := signIn(t, srv, mux)
	srv.Advance(authtest.DefaultTokenTTL + time.Minute)
	if w := serve(mux, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json"); w.Code != 200 {
		t.Fatalf("renewal = %d", w.Code)
	}
	if n := len(rc.logsContaining("renewal grace")); n != 0 {
		t.Fatalf("the renewing request logged %d grace records", n)
	}
	srv.Advance(2 * time.Second)
	if w := serve(mux, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json"); w.Code != 200 {
		t.Fatalf("previous cookie within the grace = %d", w.Code)
	}
	if n := len(rc.logsContaining("renewal grace")); n != 1 {
		t.Fatalf("late request with the previous cookie logged %d grace records, want 1", n)
	}
}

// ID tokens in browser login get the header rules of bearer tokens: a
// jku, jwk, crit or zip header is refused.
func TestIDTokenHeaderRules(t *testing.T) {
	for _, hdr := range []map[string]any{{"jku": "https://evil.example/jwks"}, {"crit": []string{"exp"}}, {"zip": "DEF"}} {
		srv := authtest.NewServer(t, authtest.Config{})
		client := srv.Client()
		client.Transport = &tokenRewriter{base: client.Transport, rewrite: func(_ string, body map[string]any) {
			raw, _ := body["id_token"].(string)
			payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
			var claims map[string]any
			_ = json.Unmarshal(payload, &claims)
			h := map[string]any{"typ": "JWT"}
			maps.Copy(h, hdr)
			body["id_token"] = mustMint(t, srv, authtest.Token{Header: h, Claims: claims})
		}}
		cfg := loginCfg(srv)
		cfg.HTTPClient = client
		mux := appMux(mustLogin(t, cfg))
		flow, authURL := startLogin(t, mux)
		w := serve(mux, "GET", authorize(t, srv, authURL), []*http.Cookie{flow})
		if w.Code != http.StatusUnauthorized || problemReason(t, w) != auth.ReasonIDTokenInvalid {
			t.Fatalf("ID token with header %v = %d %s, want 401 %s", hdr, w.Code, w.Body, auth.ReasonIDTokenInvalid)
		}
	}
}

// Login.Require answers a cookie session without a Bearer challenge: the
// browser has no bearer token to send.
func TestLoginRequireNoBearerChallenge(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	l := newLogin(t, srv)
	mux := appMux(l)
	mux.Handle("GET /admin", l.Protect(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Fatal("reached") }), auth.RequireRole("admin")))
	sess := signIn(t, srv, mux)
	w := serve(mux, "GET", "/admin", []*http.Cookie{sess}, "Accept", "application/json")
	if w.Code != http.StatusForbidden || w.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("Login.Require denial = %d with WWW-Authenticate %q, want 403 without a Bearer challenge", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	w = serve(l.Require(auth.RequireRole("admin"))(http.NotFoundHandler()), "GET", "/x", nil)
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("Login.Require without a session = %d with WWW-Authenticate %q, want 401 without a Bearer challenge", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}
