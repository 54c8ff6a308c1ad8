package authtest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
)

// RunStoreConformance checks an [auth.SessionStore]: saving, loading,
// replacing and deleting values, [auth.ErrSessionNotFound] for unknown and
// deleted ids (from Load, and from Replace, which must not create a
// value), and a browser session through [auth.Login] with the store
// (sign-in with offline_access, a renewal with the refresh token, logout
// revoking the session server-side) against a fresh [Server]. count, when not nil, returns how many sessions the store
// holds; the suite then checks that sign-in adds one and logout removes
// it. The store may hold other keys, but count must see only the ones
// this suite writes (use a fresh prefix).
func RunStoreConformance(t *testing.T, store auth.SessionStore, count func() int) {
	ctx := context.Background()
	t.Run("SaveLoadDelete", func(t *testing.T) {
		id := "conformance-" + randomID(8)
		if _, err := store.Load(ctx, id); !errors.Is(err, auth.ErrSessionNotFound) {
			t.Fatalf("Load of an unknown id = %v, want ErrSessionNotFound", err)
		}
		if err := store.Save(ctx, id, []byte("one"), time.Minute); err != nil {
			t.Fatalf("Save: %v", err)
		}
		if v, err := store.Load(ctx, id); err != nil || !bytes.Equal(v, []byte("one")) {
			t.Fatalf("Load = %q, %v; want \"one\"", v, err)
		}
		if err := store.Save(ctx, id, []byte("two"), time.Minute); err != nil {
			t.Fatalf("Save over a value: %v", err)
		}
		if v, err := store.Load(ctx, id); err != nil || !bytes.Equal(v, []byte("two")) {
			t.Fatalf("Load after replacing = %q, %v; want \"two\"", v, err)
		}
		if err := store.Delete(ctx, id); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := store.Load(ctx, id); !errors.Is(err, auth.ErrSessionNotFound) {
			t.Fatalf("Load after Delete = %v, want ErrSessionNotFound", err)
		}
		if err := store.Delete(ctx, id); err != nil {
			t.Fatalf("Delete of an unknown id = %v, want nil", err)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		id := "conformance-" + randomID(8)
		if err := store.Replace(ctx, id, []byte("one"), time.Minute); !errors.Is(err, auth.ErrSessionNotFound) {
			t.Fatalf("Replace of an unknown id = %v, want ErrSessionNotFound", err)
		}
		if _, err := store.Load(ctx, id); !errors.Is(err, auth.ErrSessionNotFound) {
			t.Fatalf("Load after a failed Replace = %v, want ErrSessionNotFound: Replace must not create", err)
		}
		if err := store.Save(ctx, id, []byte("one"), time.Minute); err != nil {
			t.Fatalf("Save: %v", err)
		}
		if err := store.Replace(ctx, id, []byte("two"), time.Minute); err != nil {
			t.Fatalf("Replace of a saved id: %v", err)
		}
		if v, err := store.Load(ctx, id); err != nil || !bytes.Equal(v, []byte("two")) {
			t.Fatalf("Load after Replace = %q, %v; want \"two\"", v, err)
		}
		if err := store.Delete(ctx, id); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		// Replace of a deleted session fails with ErrSessionNotFound: a
		// renewal must not bring back a session a logout deleted.
		if err := store.Replace(ctx, id, []byte("three"), time.Minute); !errors.Is(err, auth.ErrSessionNotFound) {
			t.Fatalf("Replace of a deleted id = %v, want ErrSessionNotFound", err)
		}
		if _, err := store.Load(ctx, id); !errors.Is(err, auth.ErrSessionNotFound) {
			t.Fatalf("Load after Replace of a deleted id = %v, want ErrSessionNotFound", err)
		}
	})
	t.Run("Login", func(t *testing.T) { conformStoreLogin(t, store, count) })
}

func conformStoreLogin(t *testing.T, store auth.SessionStore, count func() int) {
	srv := NewServer(t, Config{})
	clientID, secret, redirect := srv.LoginClient()
	key := bytes.Repeat([]byte{7}, 32)
	l, err := auth.NewLogin(context.Background(), auth.LoginConfig{
		Issuer: srv.Issuer(), ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
		CookieKeys: [][]byte{key}, HTTPClient: srv.Client(), Now: srv.Now, Logger: quietLogger(),
		Posture: &paved.Posture{}, Events: paved.NopSink{}, Store: store,
		// A refresh token for the renewal: the Server, strict as OpenID
		// Connect Core 11, issues one only for a granted offline_access.
		Scopes: []string{"openid", scopeOfflineAccess},
	})
	if err != nil {
		t.Fatalf("NewLogin: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /login", l.LoginHandler())
	mux.Handle("GET /callback", l.CallbackHandler())
	mux.Handle("POST /logout", l.LogoutHandler())
	mux.Handle("GET /app", l.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := paved.PrincipalFrom(r.Context())
		_, _ = w.Write([]byte(p.Subject))
	})))
	do := func(method, target string, c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		r.Header.Set("Accept", "application/json")
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	find := func(w *httptest.ResponseRecorder, name string) *http.Cookie {
		for _, c := range w.Result().Cookies() {
			if c.Name == name && c.MaxAge >= 0 {
				return c
			}
		}
		return nil
	}
	w := do("GET", "/login?return_to=/app", nil)
	flow := find(w, auth.FlowCookie)
	if w.Code != http.StatusSeeOther || flow == nil {
		t.Fatalf("/login = %d", w.Code)
	}
	cb, err := srv.Authorize(context.Background(), w.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	w = do("GET", strings.TrimPrefix(cb, "https://app.example.test"), flow)
	sess := find(w, auth.SessionCookie)
	if w.Code != http.StatusSeeOther || sess == nil {
		t.Fatalf("callback = %d %s", w.Code, w.Body)
	}
	if len(sess.Value) > 200 {
		t.Fatalf("cookie with a store holds %d bytes, want only a sealed session ID", len(sess.Value))
	}
	if count != nil && count() != 1 {
		t.Fatalf("store holds %d sessions after sign-in, want 1", count())
	}
	if w := do("GET", "/app", sess); w.Code != http.StatusOK || w.Body.String() != DefaultSubject {
		t.Fatalf("/app = %d %s", w.Code, w.Body)
	}
	srv.Advance(DefaultTokenTTL + time.Minute) // the access token ran out
	if w := do("GET", "/app", sess); w.Code != http.StatusOK {
		t.Fatalf("renewal through the store = %d %s", w.Code, w.Body)
	}
	if w := do("POST", "/logout", sess); w.Code != http.StatusSeeOther {
		t.Fatalf("logout = %d", w.Code)
	}
	if count != nil && count() != 0 {
		t.Fatalf("logout left %d sessions in the store", count())
	}
	if w := do("GET", "/app", sess); w.Code != http.StatusUnauthorized {
		t.Fatalf("after logout = %d, want 401: logout must revoke the session in the store", w.Code)
	}
}
