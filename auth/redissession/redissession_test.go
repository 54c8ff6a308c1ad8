package redissession_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/auth/redissession"
	"github.com/pavedroad/paved/internal/testenv"
)

func TestNewValidation(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	noDeadlines := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer noDeadlines.Close()
	tests := []struct {
		name   string
		cfg    redissession.Config
		fields []string
	}{
		{"no client", redissession.Config{}, []string{"Config.Client"}},
		{"timeout too short", redissession.Config{Client: c, Timeout: time.Millisecond}, []string{"Config.Timeout"}},
		{"timeout too long", redissession.Config{Client: c, Timeout: time.Minute}, []string{"Config.Timeout"}},
		{"everything", redissession.Config{Prefix: "a*", Timeout: -1}, []string{"Config.Client", "Config.Timeout", "Config.Prefix"}},
		{"client ignores deadlines", redissession.Config{Client: noDeadlines}, []string{"Config.Client"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := redissession.New(tt.cfg)
			var got []string
			for _, ce := range paved.ConfigErrors(err) {
				if ce.Component != redissession.Component {
					t.Errorf("component %q", ce.Component)
				}
				got = append(got, ce.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Fatalf("New errors on %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
	s, err := redissession.New(redissession.Config{Client: c, Timeout: time.Second})
	if err != nil || !strings.Contains(s.String(), "(default 250ms)") {
		t.Fatalf("New = %v, %v", s, err)
	}
	_, err = redissession.New(redissession.Config{Client: noDeadlines})
	if ces := paved.ConfigErrors(err); len(ces) != 1 || !strings.Contains(ces[0].Fix, "ContextTimeoutEnabled: true") {
		t.Fatalf("client without ContextTimeoutEnabled: %v", err)
	}
	for _, cc := range []redissession.Client{
		redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}),
		redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}}),
	} {
		if _, err := redissession.New(redissession.Config{Client: cc}); len(paved.ConfigErrors(err)) != 1 {
			t.Fatalf("%T without ContextTimeoutEnabled: %v", cc, err)
		}
		_ = cc.(io.Closer).Close()
	}
}

// TestTimeoutAgainstHungRedis: a Redis that accepts connections and never
// answers fails each call after Config.Timeout, not go-redis's 3 s read
// timeout.
func TestTimeoutAgainstHungRedis(t *testing.T) {
	hung := testenv.SilentListener(t)
	rc := redis.NewClient(&redis.Options{Addr: hung, ContextTimeoutEnabled: true, MaxRetries: -1, Protocol: 2})
	defer rc.Close()
	store, err := redissession.New(redissession.Config{Client: rc, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = store.Load(context.Background(), "a")
	if d := time.Since(start); err == nil || errors.Is(err, auth.ErrSessionNotFound) || d > time.Second {
		t.Fatalf("Load from a hung Redis = %v after %v, want an error after about 100ms", err, d)
	}
}

// TestNoRedisInAuth: a service that imports auth (and not this package)
// does not link go-redis.
func TestNoRedisInAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/pavedroad/paved/auth").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/redis/go-redis") {
			t.Fatalf("package auth depends on %s; Redis belongs in auth/redissession", dep)
		}
	}
}

func TestStoreConformance(t *testing.T) {
	addr := testenv.RequireRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rc.Close() })
	ctx := context.Background()
	prefix := "paved:test:" + time.Now().Format("150405.000000") + ":"
	store, err := redissession.New(redissession.Config{Client: rc, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(ctx, "missing"); !errors.Is(err, auth.ErrSessionNotFound) {
		t.Fatalf("Load of a missing id = %v", err)
	}
	authtest.RunStoreConformance(t, store, func() int {
		keys, _ := rc.Keys(ctx, prefix+"*").Result()
		return len(keys)
	})
}

func TestStoreDown(t *testing.T) {
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rc.Close() })
	store, err := redissession.New(redissession.Config{Client: rc})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := store.Save(ctx, "a", []byte("v"), time.Minute); err == nil {
		t.Fatal("Save to an unreachable Redis succeeded")
	}
	if _, err := store.Load(ctx, "a"); err == nil || errors.Is(err, auth.ErrSessionNotFound) {
		t.Fatalf("Load from an unreachable Redis = %v, want an error that is not ErrSessionNotFound", err)
	}
}

// TestLogoutRevokesCopies: with sessions in Redis, logout stops every copy
// of the session cookie at once: a copy taken at sign-in, a copy from
// before a renewal (within the renewal grace), and a request whose
// renewal was running when the user logged out, whose result must not be
// saved back.
func TestLogoutRevokesCopies(t *testing.T) {
	addr := testenv.RequireRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rc.Close() })
	prefix := "paved:test:logout:" + time.Now().Format("150405.000000") + ":"
	testLogoutRevokesCopies(t, rc, prefix, func() int {
		keys, _ := rc.Keys(context.Background(), prefix+"*").Result()
		return len(keys)
	})
}

// TestLogoutRevokesCopiesFakeClient runs the same test in unit runs, with
// the Store over an in-memory stand-in for the three Redis calls.
func TestLogoutRevokesCopiesFakeClient(t *testing.T) {
	fc := &fakeClient{m: map[string]string{}}
	testLogoutRevokesCopies(t, fc, "paved:test:", fc.len)
}

// fakeClient is GET, SET and DEL on a map (expiry ignored).
type fakeClient struct {
	mu sync.Mutex
	m  map[string]string
}

func (f *fakeClient) Get(ctx context.Context, key string) *redis.StringCmd {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[key]
	if !ok {
		return redis.NewStringResult("", redis.Nil)
	}
	return redis.NewStringResult(v, nil)
}

func (f *fakeClient) Set(ctx context.Context, key string, value any, _ time.Duration) *redis.StatusCmd {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch v := value.(type) {
	case []byte:
		f.m[key] = string(v)
	case string:
		f.m[key] = v
	default:
		return redis.NewStatusResult("", fmt.Errorf("fake client: value of type %T", value))
	}
	return redis.NewStatusResult("OK", nil)
}

func (f *fakeClient) SetXX(ctx context.Context, key string, value any, ttl time.Duration) *redis.BoolCmd {
	f.mu.Lock()
	_, ok := f.m[key]
	f.mu.Unlock()
	if !ok {
		return redis.NewBoolResult(false, nil)
	}
	if err := f.Set(ctx, key, value, ttl).Err(); err != nil {
		return redis.NewBoolResult(false, err)
	}
	return redis.NewBoolResult(true, nil)
}

func (f *fakeClient) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, k := range keys {
		if _, ok := f.m[k]; ok {
			delete(f.m, k)
			n++
		}
	}
	return redis.NewIntResult(int64(n), nil)
}

func (f *fakeClient) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.m)
}

func testLogoutRevokesCopies(t *testing.T, rc redissession.Client, prefix string, count func() int) {
	store, err := redissession.New(redissession.Config{Client: rc, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	srv := authtest.NewServer(t, authtest.Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	var hold atomic.Bool // hold the next refresh until release
	var once sync.Once
	client := srv.Client()
	client.Transport = holdRefresh{base: client.Transport, hold: func() {
		if hold.Load() {
			once.Do(func() { close(entered) })
			<-release
		}
	}}
	clientID, secret, redirect := srv.LoginClient()
	l, err := auth.NewLogin(context.Background(), auth.LoginConfig{
		Issuer: srv.Issuer(), ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
		CookieKeys: [][]byte{bytes.Repeat([]byte{9}, 32)}, HTTPClient: client, Now: srv.Now,
		Logger: slog.New(slog.DiscardHandler), Posture: &paved.Posture{}, Events: paved.NopSink{},
		Store: store, Scopes: []string{"openid", auth.ScopeOfflineAccess},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /login", l.LoginHandler())
	mux.Handle("GET /callback", l.CallbackHandler())
	mux.Handle("POST /logout", l.LogoutHandler())
	mux.Handle("GET /app", l.Middleware()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
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
	session := func(w *httptest.ResponseRecorder) *http.Cookie {
		for _, c := range w.Result().Cookies() {
			if c.Name == auth.SessionCookie && c.MaxAge > 0 {
				return c
			}
		}
		t.Fatalf("no session cookie in %v", w.Header()["Set-Cookie"])
		return nil
	}
	signIn := func() *http.Cookie {
		w := do("GET", "/login?return_to=/app", nil)
		var flow *http.Cookie
		for _, c := range w.Result().Cookies() {
			if c.Name == auth.FlowCookie {
				flow = c
			}
		}
		cb, err := srv.Authorize(context.Background(), w.Header().Get("Location"))
		if err != nil || flow == nil {
			t.Fatalf("authorize: %v", err)
		}
		return session(do("GET", strings.TrimPrefix(cb, "https://app.example.test"), flow))
	}
	logout := func(c *http.Cookie) {
		if w := do("POST", "/logout", c); w.Code != http.StatusSeeOther {
			t.Fatalf("logout = %d", w.Code)
		}
	}

	c := signIn()
	copied := *c
	logout(c)
	if w := do("GET", "/app", &copied); w.Code != http.StatusUnauthorized {
		t.Fatalf("copy of the cookie after logout = %d, want 401 at once", w.Code)
	}

	old := signIn()
	srv.Advance(authtest.DefaultTokenTTL)
	logout(session(do("GET", "/app", old))) // renewed, then logged out
	srv.Advance(2 * time.Second)
	if w := do("GET", "/app", old); w.Code != http.StatusUnauthorized {
		t.Fatalf("cookie from before the renewal, after logout = %d, want 401", w.Code)
	}

	c = signIn()
	srv.Advance(authtest.DefaultTokenTTL)
	hold.Store(true)
	done := make(chan int)
	go func() { done <- do("GET", "/app", c).Code }()
	select {
	case <-entered:
	case code := <-done:
		t.Fatalf("request = %d without asking for a refresh", code)
	}
	logout(c)
	close(release)
	if code := <-done; code != http.StatusUnauthorized {
		t.Fatalf("request whose renewal ran across the logout = %d, want 401", code)
	}
	if n := count(); n != 0 {
		t.Fatalf("Redis holds %d sessions after every logout, want 0", n)
	}
	if w := do("GET", "/app", c); w.Code != http.StatusUnauthorized {
		t.Fatalf("cookie after logout = %d, want 401", w.Code)
	}
}

// holdRefresh calls hold before forwarding a refresh_token grant.
type holdRefresh struct {
	base http.RoundTripper
	hold func()
}

func (h holdRefresh) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		if strings.Contains(string(b), "grant_type=refresh_token") {
			h.hold()
		}
	}
	return h.base.RoundTrip(r)
}
