package redislimit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/httpx/httpxtest"
	"github.com/pavedroad/paved/httpx/redislimit"
	"github.com/pavedroad/paved/internal/testenv"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func okHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "ok")
}

// The Redis store passes the one suite every httpx.Store passes, each
// check under a fresh key prefix (integration run only).
func TestConformance(t *testing.T) {
	addr := testenv.RequireRedis(t)
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	httpxtest.RunStoreConformance(t, func(t *testing.T) httpx.Store {
		s, err := redislimit.New(redislimit.Config{Client: c, Prefix: fmt.Sprintf("paved-conf:%d:", time.Now().UnixNano())})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestNewValidation(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	tests := []struct {
		name string
		cfg  redislimit.Config
		want []string // every ConfigError message, in order
		is   error
	}{
		{"no client", redislimit.Config{},
			[]string{`redislimit: Config.Client: nil; pass a go-redis client, such as redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})`}, nil},
		{"negative timeout", redislimit.Config{Client: c, Timeout: -1},
			[]string{"redislimit: Config.Timeout: -1ns is outside the allowed range 10ms to 5s; set it from 10ms to 5s, or leave it 0 for the default 250ms"}, nil},
		{"fallback without reason", redislimit.Config{Client: c, LocalFallback: redislimit.AllowLocalFallback("")},
			[]string{`redislimit: Config.LocalFallback: the reason given to redislimit.AllowLocalFallback is empty; say why a per-replica limit is acceptable here, such as redislimit.AllowLocalFallback("availability matters more than a shared limit")`}, paved.ErrNoReason},
		{"wrong opt-out", redislimit.Config{Client: c, LocalFallback: httpx.DisableRateLimit("x")},
			[]string{"redislimit: Config.LocalFallback: is httpx/disable-rate-limit; want redislimit.AllowLocalFallback(reason)"}, nil},
		{"local cap without fallback", redislimit.Config{Client: c, MaxLocalClients: 5000},
			[]string{"redislimit: Config.MaxLocalClients: 5000 is set without LocalFallback; leave it 0, or add LocalFallback"}, nil},
		{"every field at once", redislimit.Config{Timeout: time.Minute, LocalFallback: redislimit.AllowLocalFallback("x"), MaxLocalClients: 10},
			[]string{
				`redislimit: Config.Client: nil; pass a go-redis client, such as redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})`,
				"redislimit: Config.Timeout: 1m0s is outside the allowed range 10ms to 5s; set it from 10ms to 5s, or leave it 0 for the default 250ms",
				"redislimit: Config.MaxLocalClients: 10 is outside the allowed range 1000 to 10000000; set it from 1000 to 10000000, or leave it 0 for the default 100000",
			}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := redislimit.New(tt.cfg)
			var got []string
			for _, ce := range paved.ConfigErrors(err) {
				got = append(got, ce.Error())
			}
			if s != nil || strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("New = %v, errors\n%s\nwant\n%s", s, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

// redisServer is a plain-HTTP server whose limit lives in the Redis at
// addr (through an optional proxy), with policy 3 per 10s.
func redisServer(t *testing.T, addr, prefix string, fallback paved.OptOut) (*httpx.Server, *paved.Posture) {
	t.Helper()
	return redisServerTimeout(t, addr, prefix, fallback, 300*time.Millisecond)
}

// redisServerTimeout is redisServer with the store's per-call timeout (and
// the dial timeout) set to timeout: tests of counting under heavy
// concurrency use a long one, so that a loaded CI machine's slowness shows
// as time, not as the 503 that a timed-out store rightly answers.
func redisServerTimeout(t *testing.T, addr, prefix string, fallback paved.OptOut, timeout time.Duration) (*httpx.Server, *paved.Posture) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: min(timeout, 2*time.Second), ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	store, err := redislimit.New(redislimit.Config{Client: c, Prefix: prefix, Timeout: timeout, LocalFallback: fallback, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	posture := new(paved.Posture)
	s, err := httpx.New(httpx.Config{
		Logger:    discard(),
		Posture:   posture,
		Events:    paved.NopSink{},
		OptOuts:   []paved.OptOut{httpx.AllowPlainHTTP("tests run the handler in process")},
		RateLimit: httpx.RateLimitConfig{Policy: httpx.RatePolicy{Limit: 3, Window: 10 * time.Second}, Store: store},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.HandleFunc("GET /", okHandler)
	return s, posture
}

func get(h http.Handler, peer string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = peer
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestUnreachableDenies(t *testing.T) {
	s, _ := redisServer(t, "127.0.0.1:1", "t:", paved.OptOut{})
	began := time.Now()
	w := get(s, "192.0.2.1:1")
	if w.Code != 503 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("status = %d, want 503", w.Code)
	}
	if time.Since(began) > 2*time.Second {
		t.Fatal("denial took too long")
	}
}

func TestUnreachableFallback(t *testing.T) {
	s, posture := redisServer(t, "127.0.0.1:1", "t:", redislimit.AllowLocalFallback("availability over a shared limit"))
	codes := []int{}
	for range 4 {
		codes = append(codes, get(s, "192.0.2.1:1").Code)
	}
	if fmt.Sprint(codes) != "[200 200 200 429]" {
		t.Fatalf("codes = %v, want the local limit to apply", codes)
	}
	r := posture.Report()
	if len(r.OptOuts) != 2 || r.OptOuts[1].Component != redislimit.Component || r.OptOuts[1].Name != redislimit.OptOutAllowLocalFallback ||
		r.OptOuts[1].Instance != s.Instance() {
		t.Fatalf("posture opt-outs = %+v", r.OptOuts)
	}
	storeControl := false
	for _, c := range r.Controls {
		if want := `"default" 3 (default 600) per 10s (default 1m), burst 3, in Redis, timeout 300ms (default 250ms), local fallback (opt-out) of at most 100000 keys`; c.Name == "rate-limit" && c.Detail != want {
			t.Fatalf("rate-limit detail %q, want %q", c.Detail, want)
		}
		if c.Name == "rate-limit-store" {
			storeControl = !c.Enabled && c.Detail == "opt-out redislimit/allow-local-fallback"
		}
	}
	if !storeControl || r.Score() == 1 {
		t.Fatalf("posture %+v scores %v: want rate-limit-store disabled by the fallback, and a score below 1", r.Controls, r.Score())
	}
}

// tcpProxy forwards to target until closed, so a test can cut Redis off
// without stopping the shared instance.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(p.Close)
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

func TestSharedLimit(t *testing.T) {
	addr := testenv.RequireRedis(t)
	prefix := fmt.Sprintf("paved-test:%d:", time.Now().UnixNano())
	a, _ := redisServer(t, addr, prefix, paved.OptOut{})
	b, _ := redisServer(t, addr, prefix, paved.OptOut{})
	type step struct {
		srv  *httpx.Server
		code int
		rl   string
	}
	steps := []step{
		{a, 200, `"default";r=2;t=4`},
		{b, 200, `"default";r=1;t=7`},
		{a, 200, `"default";r=0;t=10`},
		{b, 429, `"default";r=0;t=4`}, // t names the Retry-After instant
		{a, 429, `"default";r=0;t=4`},
	}
	for i, st := range steps {
		w := get(st.srv, "198.51.100.1:1")
		if w.Code != st.code || w.Header().Get("RateLimit") != st.rl {
			t.Fatalf("step %d: %d %q, want %d %q", i, w.Code, w.Header().Get("RateLimit"), st.code, st.rl)
		}
		if st.code == 429 && w.Header().Get("Retry-After") != "4" {
			t.Fatalf("step %d: Retry-After %q, want 4", i, w.Header().Get("Retry-After"))
		}
	}
	// Another client is independent.
	if w := get(b, "198.51.100.2:1"); w.Code != 200 {
		t.Fatalf("other client: %d", w.Code)
	}
}

func TestConcurrentClients(t *testing.T) {
	addr := testenv.RequireRedis(t)
	prefix := fmt.Sprintf("paved-test:%d:", time.Now().UnixNano())
	a, _ := redisServerTimeout(t, addr, prefix, paved.OptOut{}, 5*time.Second)
	b, _ := redisServerTimeout(t, addr, prefix, paved.OptOut{}, 5*time.Second)
	const clients = 200
	var mu sync.Mutex
	passed := map[int]int{}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 {
				srv := a
				if i%2 == 1 {
					srv = b
				}
				if w := get(srv, fmt.Sprintf("10.0.%d.%d:1", c/256, c%256)); w.Code == 200 {
					mu.Lock()
					passed[c]++
					mu.Unlock()
				} else if w.Code != 429 {
					t.Errorf("status %d", w.Code)
				}
			}
		}()
	}
	wg.Wait()
	for c := range clients {
		if passed[c] != 3 {
			t.Fatalf("client %d passed %d, want exactly the burst of 3", c, passed[c])
		}
	}
}

func TestRedisStoppedMidTest(t *testing.T) {
	addr := testenv.RequireRedis(t)
	for _, tt := range []struct {
		name     string
		fallback paved.OptOut
		want     int
	}{
		{"deny by default", paved.OptOut{}, 503},
		{"local fallback opt-out", redislimit.AllowLocalFallback("tests"), 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newProxy(t, addr)
			prefix := fmt.Sprintf("paved-test:%d:", time.Now().UnixNano())
			s, _ := redisServer(t, proxy.Addr(), prefix, tt.fallback)
			if w := get(s, "198.51.100.9:1"); w.Code != 200 || w.Header().Get("RateLimit") != `"default";r=2;t=4` {
				t.Fatalf("before the cut: %d %q", w.Code, w.Header().Get("RateLimit"))
			}
			proxy.Close()
			began := time.Now()
			w := get(s, "198.51.100.9:1")
			if w.Code != tt.want {
				t.Fatalf("after the cut: %d, want %d", w.Code, tt.want)
			}
			if d := time.Since(began); d > 2*time.Second {
				t.Fatalf("answer took %v", d)
			}
		})
	}
}

// BenchmarkTake measures one GCRA round trip (integration run only).
func BenchmarkTake(b *testing.B) {
	addr := testenv.RequireRedis(b)
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer c.Close()
	s, err := redislimit.New(redislimit.Config{Client: c, Prefix: fmt.Sprintf("paved-bench:%d:", time.Now().UnixNano())})
	if err != nil {
		b.Fatal(err)
	}
	p := httpx.RatePolicy{Limit: 100_000_000, Window: time.Second}
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Take(ctx, fmt.Sprintf("k%d", i%1000), p); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// noScript is the error Redis answers EVALSHA with for a script it does
// not have.
type noScript struct{}

func (noScript) Error() string { return "NOSCRIPT No matching script. Please use EVAL." }
func (noScript) RedisError()   {}

// fakeClient answers like a Redis that has not cached the script yet, and
// records the calls.
type fakeClient struct {
	mu    sync.Mutex
	calls []string
	keys  []string
}

func (f *fakeClient) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls, f.keys = append(f.calls, "evalsha"), append(f.keys, keys...)
	return redis.NewCmdResult(nil, noScript{})
}

func (f *fakeClient) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls, f.keys = append(f.calls, "eval"), append(f.keys, keys...)
	return redis.NewCmdResult([]any{int64(1), int64(9), int64(0), int64(100_000)}, nil)
}

// The store needs only Eval and EvalSha: it runs the cached script and
// sends the source when Redis lacks it, and its key names the whole
// policy.
func TestNarrowClient(t *testing.T) {
	f := &fakeClient{}
	s, err := redislimit.New(redislimit.Config{Client: f, Prefix: "p:"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Take(context.Background(), "198.51.100.1", httpx.RatePolicy{Name: "api", Limit: 10, Window: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allowed || d.Remaining != 9 || d.Reset != 100*time.Millisecond {
		t.Fatalf("decision %+v", d)
	}
	if got := strings.Join(f.calls, ","); got != "evalsha,eval" {
		t.Fatalf("calls %s, want evalsha,eval", got)
	}
	if f.keys[0] != "p:api/10/1/10:198.51.100.1" || f.keys[1] != f.keys[0] {
		t.Fatalf("keys %q, want the prefix, the whole policy and the client key", f.keys)
	}
}

// Config.Timeout bounds a call to a Redis that never answers. go-redis
// ignores a context's deadline unless its client was built with
// ContextTimeoutEnabled (it then waits its own ReadTimeout, 3s by
// default), so New refuses a client that would ignore the timeout, naming
// the option that fixes it, and with it the call ends at the timeout.
func TestTimeoutBoundsAHungRedis(t *testing.T) {
	addr := testenv.SilentListener(t)
	ignoring := redis.NewClient(&redis.Options{Addr: addr})
	defer ignoring.Close()
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}})
	defer cluster.Close()
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": addr}})
	defer ring.Close()
	for _, c := range []redislimit.Client{ignoring, cluster, ring} {
		_, err := redislimit.New(redislimit.Config{Client: c})
		ces := paved.ConfigErrors(err)
		if len(ces) != 1 || ces[0].Field != "Config.Client" || !strings.Contains(ces[0].Problem, "ContextTimeoutEnabled") {
			t.Fatalf("New with a %T that ignores context deadlines = %v, want a ConfigError for Config.Client naming ContextTimeoutEnabled", c, err)
		}
	}

	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer c.Close()
	s, err := redislimit.New(redislimit.Config{Client: c, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err = s.Take(context.Background(), "198.51.100.1", httpx.RatePolicy{})
	if d := time.Since(began); !errors.Is(err, httpx.ErrStoreUnavailable) || d > time.Second {
		t.Fatalf("Take against a hung Redis = %v after %v, want ErrStoreUnavailable within the 100ms timeout", err, d)
	}
}

// The key names the window exactly: two policies whose windows differ by
// less than a second (which a Store may be given, though a RateLimiter
// allows whole seconds only) never share a key. Whole seconds keep their
// plain form.
func TestKeyNamesTheExactWindow(t *testing.T) {
	f := &fakeClient{}
	s, err := redislimit.New(redislimit.Config{Client: f, Prefix: "p:"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []time.Duration{time.Second, 1500 * time.Millisecond} {
		if _, err := s.Take(context.Background(), "k", httpx.RatePolicy{Name: "api", Limit: 10, Window: w}); err != nil {
			t.Fatal(err)
		}
	}
	if f.keys[0] != "p:api/10/1/10:k" || f.keys[2] != "p:api/10/1.5s/10:k" {
		t.Fatalf("keys %q, want p:api/10/1/10:k then p:api/10/1.5s/10:k", f.keys)
	}
}
