package auth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
)

type memStore struct {
	mu   sync.Mutex
	m    map[string][]byte
	fail bool
}

func (s *memStore) Save(_ context.Context, id string, v []byte, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("store down")
	}
	s.m[id] = v
	return nil
}

func (s *memStore) Load(_ context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return nil, errors.New("store down")
	}
	v, ok := s.m[id]
	if !ok {
		return nil, auth.ErrSessionNotFound
	}
	return v, nil
}

func (s *memStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

func (s *memStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func loginWithStore(t *testing.T, srv *authtest.Server, store auth.SessionStore) *auth.Login {
	t.Helper()
	l, err := auth.NewLogin(context.Background(), auth.LoginConfig{
		Issuer: srv.Issuer(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURL: redirectURL,
		CookieKeys: [][]byte{key1}, HTTPClient: srv.Client(), Now: srv.Now, Logger: quiet, Posture: &paved.Posture{},
		Events: paved.NopSink{}, Store: store, Scopes: offline,
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testStoreLogin(t *testing.T, srv *authtest.Server, store auth.SessionStore, count func() int) {
	mux := appMux(loginWithStore(t, srv, store))
	sess := signIn(t, srv, mux)
	if len(sess.Value) > 200 {
		t.Fatalf("cookie with a store holds %d bytes, want only a session ID", len(sess.Value))
	}
	if count != nil && count() != 1 {
		t.Fatalf("store holds %d sessions", count())
	}
	if w := serve(mux, "GET", "/app", []*http.Cookie{sess}); w.Code != 200 || !strings.HasPrefix(w.Body.String(), "alice ") {
		t.Fatalf("/app = %d %s", w.Code, w.Body)
	}
	srv.Advance(authtest.DefaultTokenTTL + time.Minute)
	w := serve(mux, "GET", "/app", []*http.Cookie{sess})
	if w.Code != 200 {
		t.Fatalf("renewal through the store = %d %s", w.Code, w.Body)
	}
	if w := serve(mux, "POST", "/logout", []*http.Cookie{sess}); w.Code != 303 {
		t.Fatalf("logout = %d", w.Code)
	}
	if count != nil && count() != 0 {
		t.Fatalf("logout left %d sessions in the store", count())
	}
	// The cookie no longer opens a session: logout revoked it server-side.
	if w := serve(mux, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json"); w.Code != 401 {
		t.Fatalf("after logout = %d", w.Code)
	}
}

func TestSessionStore(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	store := &memStore{m: map[string][]byte{}}
	testStoreLogin(t, srv, store, store.len)
	authtest.RunStoreConformance(t, &memStore{m: map[string][]byte{}}, nil)

	mux := appMux(loginWithStore(t, srv, store))
	sess := signIn(t, srv, mux)
	for _, v := range store.m {
		if strings.Contains(string(v), "eyJ") {
			t.Fatal("store holds tokens in clear")
		}
	}
	store.fail = true
	if w := serve(mux, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json"); w.Code != 401 {
		t.Fatalf("store down = %d, want 401 (fail closed)", w.Code)
	}
	flow, authURL := startLogin(t, mux)
	if w := serve(mux, "GET", authorize(t, srv, authURL), []*http.Cookie{flow}); w.Code != 503 || problemReason(t, w) != auth.ReasonStoreError {
		t.Fatalf("callback with store down = %d %s", w.Code, w.Body)
	}
}

func (s *memStore) Replace(_ context.Context, id string, v []byte, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("store down")
	}
	if _, ok := s.m[id]; !ok {
		return auth.ErrSessionNotFound
	}
	s.m[id] = v
	return nil
}
