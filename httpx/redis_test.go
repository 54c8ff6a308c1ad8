package httpx_test

import (
	"errors"
	"fmt"
	"io"
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
	"github.com/pavedroad/paved/internal/testenv"
)

func TestNewRedisStoreValidation(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	tests := []struct {
		name string
		cfg  httpx.RedisStoreConfig
		want string
	}{
		{"no client", httpx.RedisStoreConfig{}, "RedisStoreConfig.Client is nil"},
		{"negative timeout", httpx.RedisStoreConfig{Client: c, Timeout: -1}, "RedisStoreConfig.Timeout"},
		{"fallback without reason", httpx.RedisStoreConfig{Client: c, LocalFallback: httpx.RedisLocalFallback("")}, "RedisStoreConfig.LocalFallback"},
		{"wrong opt-out", httpx.RedisStoreConfig{Client: c, LocalFallback: httpx.DisableRateLimit("x")}, "want httpx.RedisLocalFallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpx.NewRedisStore(tt.cfg)
			var ce *httpx.ConfigError
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "RedisStoreConfig.") {
				t.Fatalf("err = %v, want a ConfigError containing %q", err, tt.want)
			}
		})
	}
}

// redisServer is a plain-HTTP server whose limit lives in the Redis at
// addr (through an optional proxy), with policy 3 per 10s.
func redisServer(t *testing.T, addr, prefix string, fallback paved.OptOut) (*httpx.Server, *paved.Posture) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	store, err := httpx.NewRedisStore(httpx.RedisStoreConfig{Client: c, Prefix: prefix, Timeout: 300 * time.Millisecond, LocalFallback: fallback, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := plainConfig()
	cfg.RateLimit = httpx.RateLimitConfig{Policy: httpx.Policy{Limit: 3, Window: 10 * time.Second}, Store: store}
	s := mustNew(t, cfg)
	s.HandleFunc("GET /", okHandler)
	return s, cfg.Posture
}

func get(h http.Handler, peer string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = peer
	return do(h, r)
}

func TestRedisStoreUnreachableDenies(t *testing.T) {
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

func TestRedisStoreUnreachableFallback(t *testing.T) {
	s, posture := redisServer(t, "127.0.0.1:1", "t:", httpx.RedisLocalFallback("availability over a shared limit"))
	codes := []int{}
	for range 4 {
		codes = append(codes, get(s, "192.0.2.1:1").Code)
	}
	if fmt.Sprint(codes) != "[200 200 200 429]" {
		t.Fatalf("codes = %v, want the local limit to apply", codes)
	}
	r := posture.Report()
	if len(r.OptOuts) != 2 || r.OptOuts[1].Name != httpx.OptOutRedisLocalLimits {
		t.Fatalf("posture opt-outs = %+v", r.OptOuts)
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

func TestRedisStoreSharedLimit(t *testing.T) {
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

func TestRedisStoreConcurrentClients(t *testing.T) {
	addr := testenv.RequireRedis(t)
	prefix := fmt.Sprintf("paved-test:%d:", time.Now().UnixNano())
	a, _ := redisServer(t, addr, prefix, paved.OptOut{})
	b, _ := redisServer(t, addr, prefix, paved.OptOut{})
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
		{"local fallback opt-out", httpx.RedisLocalFallback("tests"), 200},
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

// BenchmarkRedisStore measures one GCRA round trip (integration run only).
func BenchmarkRedisStore(b *testing.B) {
	addr := testenv.RequireRedis(b)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	s, err := httpx.NewRedisStore(httpx.RedisStoreConfig{Client: c, Prefix: fmt.Sprintf("paved-bench:%d:", time.Now().UnixNano())})
	if err != nil {
		b.Fatal(err)
	}
	p := httpx.Policy{Limit: 100_000_000, Window: time.Second}
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
