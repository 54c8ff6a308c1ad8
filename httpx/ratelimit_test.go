package httpx_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedroad/paved/httpx"
)

func TestMemoryStoreDecisions(t *testing.T) {
	s := httpx.NewMemoryStore(10)
	p := httpx.RatePolicy{Name: "p", Limit: 3, Window: 3 * time.Second, Burst: 3}
	want := []httpx.RateDecision{
		{Allowed: true, Remaining: 2, Reset: time.Second},
		{Allowed: true, Remaining: 1, Reset: 2 * time.Second},
		{Allowed: true, Remaining: 0, Reset: 3 * time.Second},
		{Allowed: false, Remaining: 0, Reset: 3 * time.Second, RetryAfter: time.Second},
	}
	for i, w := range want {
		d, err := s.Take(context.Background(), "k", p)
		if err != nil {
			t.Fatal(err)
		}
		// Allow for the time that passes between calls.
		if d.Allowed != w.Allowed || d.Remaining != w.Remaining ||
			(w.Reset-d.Reset) > 50*time.Millisecond || (w.RetryAfter-d.RetryAfter) > 50*time.Millisecond {
			t.Fatalf("take %d = %+v, want %+v", i, d, w)
		}
	}
}

func TestMemoryStoreCap(t *testing.T) {
	s := httpx.NewMemoryStore(100)
	p := httpx.RatePolicy{Name: "p", Limit: 1, Window: time.Minute, Burst: 1}
	for i := range 5000 {
		if _, err := s.Take(context.Background(), fmt.Sprintf("client-%d", i), p); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Len(); n > 100 || n > s.Cap() {
		t.Fatalf("Len = %d, cap %d", n, s.Cap())
	}
	if s.Evicted() < 4900 {
		t.Fatalf("Evicted = %d", s.Evicted())
	}
	// The most recent client is still tracked (and limited).
	if d, _ := s.Take(context.Background(), "client-4999", p); d.Allowed {
		t.Fatal("most recent client forgotten")
	}
}

// TestManyClientsHammering: 2,000 distinct clients, each sending many
// requests concurrently, never get more than burst plus the refill through
// one limit each, and the store stays under its cap.
func TestManyClientsHammering(t *testing.T) {
	const clients, perClient, burst = 2000, 20, 5
	store := httpx.NewMemoryStore(4096)
	l, err := httpx.NewRateLimiter(httpx.RateLimitConfig{
		Policy: httpx.RatePolicy{Limit: 60, Window: time.Minute, Burst: burst}, Store: store, Logger: discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var passed atomic.Int64
	perIP := make([]atomic.Int64, clients)
	h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { passed.Add(1) }))
	began := time.Now()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := w; c < clients; c += 8 {
				for range perClient {
					r := httptest.NewRequest("GET", "/", nil)
					r.RemoteAddr = fmt.Sprintf("10.%d.%d.1:1", c/256, c%256)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, r)
					if rec.Code == 200 {
						perIP[c].Add(1)
					} else if rec.Code != 429 {
						t.Errorf("status %d", rec.Code)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	// At 1 request a second, a client gains at most one token per elapsed
	// second beyond its burst.
	allowed := int64(burst) + int64(time.Since(began)/time.Second) + 1
	for c := range clients {
		if n := perIP[c].Load(); n > allowed {
			t.Fatalf("client %d passed %d requests, limit %d", c, n, allowed)
		}
	}
	if total := passed.Load(); total > clients*allowed || total < clients*burst {
		t.Fatalf("passed %d in total", total)
	}
	if store.Len() > store.Cap() || store.Len() != clients {
		t.Fatalf("store tracks %d keys, cap %d", store.Len(), store.Cap())
	}
}

func TestRateLimitMiddlewareStandalone(t *testing.T) {
	mw, err := httpx.RateLimit(httpx.RateLimitConfig{Policy: httpx.RatePolicy{Limit: 1, Window: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	h := mw(http.HandlerFunc(okHandler))
	if w := do(h, httptest.NewRequest("GET", "/", nil)); w.Code != 200 || w.Header().Get("RateLimit") != `"default";r=0;t=1` {
		t.Fatalf("first = %d %q", w.Code, w.Header().Get("RateLimit"))
	}
	w := do(h, httptest.NewRequest("GET", "/", nil))
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("second = %d retry %q", w.Code, w.Header().Get("Retry-After"))
	}
	if _, err := httpx.RateLimit(httpx.RateLimitConfig{Policy: httpx.RatePolicy{Window: time.Millisecond}}); err == nil {
		t.Fatal("sub-second window accepted")
	}
}
