package httpx_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/benchharness"
)

// benchServer is the full default chain with a limit high enough never to
// deny, logging to a discarding handler.
func benchServer(b *testing.B, logger *slog.Logger) http.Handler {
	s, err := httpx.New(httpx.Config{
		Logger:    logger,
		Posture:   new(paved.Posture),
		Events:    paved.NopSink{},
		RateLimit: httpx.RateLimitConfig{Policy: httpx.RatePolicy{Limit: 100_000_000, Window: time.Second}},
		OptOuts:   []paved.OptOut{httpx.AllowPlainHTTP("benchmark harness")},
	})
	if err != nil {
		b.Fatal(err)
	}
	s.HandleFunc("GET /hello", benchharness.Hello)
	return s
}

// BenchmarkBare is the baseline: the handler alone, behind a ServeMux as
// in the full chain.
func BenchmarkBare(b *testing.B) {
	benchharness.Run(b, benchharness.Mux())
}

// BenchmarkBareSameHeaders is the bare handler also setting the fields
// the default chain adds, the cheapest way (prebuilt values, no
// middleware): what sending them costs before any middleware work, so
// DefaultChain minus this is the chain's own cost.
func BenchmarkBareSameHeaders(b *testing.B) {
	mux := http.NewServeMux()
	mux.Handle("GET /hello", benchharness.WithHeaders(benchharness.Hello, benchharness.ChainHeaders))
	benchharness.Run(b, mux)
}

// BenchmarkDefaultChain is the server's full default chain (client IP,
// request ID, access log to slog.DiscardHandler, recovery, security headers,
// cross-origin, in-memory rate limit, body limit) around the same mux.
func BenchmarkDefaultChain(b *testing.B) {
	benchharness.Run(b, benchServer(b, slog.New(slog.DiscardHandler)))
}

// BenchmarkDefaultChainJSONLog is the same with the access log formatted
// as JSON into io.Discard.
func BenchmarkDefaultChainJSONLog(b *testing.B) {
	benchharness.Run(b, benchServer(b, slog.New(slog.NewJSONHandler(io.Discard, nil))))
}

// BenchmarkComposedMiddleware is the exported middleware composed by hand,
// as a user of another router would.
func BenchmarkComposedMiddleware(b *testing.B) {
	ip, _ := httpx.ResolveClientIP(httpx.ClientIPConfig{})
	co, _ := httpx.CrossOrigin(nil, paved.NopSink{})
	rl, _ := httpx.RateLimit(httpx.RateLimitConfig{Policy: httpx.RatePolicy{Limit: 100_000_000, Window: time.Second}})
	logger := slog.New(slog.DiscardHandler)
	h := httpx.Chain(ip, httpx.RequestID, httpx.AccessLog(logger), httpx.Recover(logger, paved.NopSink{}),
		httpx.SecurityHeaders(httpx.ProfileAPI), co, rl, httpx.BodyLimit(0))(http.HandlerFunc(benchharness.Hello))
	benchharness.Run(b, h)
}

// BenchmarkBareLimiterAllow is one x/time/rate limiter's Allow, the unit
// the in-memory store is measured against.
func BenchmarkBareLimiterAllow(b *testing.B) {
	l := rate.NewLimiter(rate.Limit(1e9), 1<<30)
	b.ReportAllocs()
	for b.Loop() {
		l.Allow()
	}
}

const oneMillion = 1_000_000

// takeCycling is the measured loop of the store benchmarks: one take per
// iteration, cycling through keys.
func takeCycling(b *testing.B, s *httpx.MemoryStore, keys []string, p httpx.RatePolicy) {
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = s.Take(ctx, keys[i], p)
		if i++; i == len(keys) {
			i = 0
		}
	}
}

func millionKeys() []string {
	keys := make([]string, oneMillion)
	for i := range keys {
		keys[i] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	}
	return keys
}

// BenchmarkMemoryStore1M takes from a store holding one million distinct
// keys (under a cap of 1.1 million, so none is evicted), cycling through
// all of them.
func BenchmarkMemoryStore1M(b *testing.B) {
	keys := millionKeys()
	p := httpx.RatePolicy{Name: "p", Limit: 100_000_000, Window: time.Second, Burst: 100_000_000}
	ctx := context.Background()
	s := httpx.NewMemoryStore(oneMillion * 11 / 10)
	for _, k := range keys {
		_, _ = s.Take(ctx, k, p)
	}
	if s.Len() != oneMillion {
		b.Fatalf("store holds %d keys", s.Len())
	}
	runtime.GC()
	takeCycling(b, s, keys, p)
}

// BenchmarkMemoryStoreAtCap fills a store capped at one million keys with
// more distinct keys than it may hold, reports its memory per tracked key
// (B/key) at the cap, then measures takes of new keys, each of which
// evicts one.
func BenchmarkMemoryStoreAtCap(b *testing.B) {
	keys := millionKeys()
	p := httpx.RatePolicy{Name: "p", Limit: 100_000_000, Window: time.Second, Burst: 100_000_000}
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := httpx.NewMemoryStore(oneMillion)
	for _, k := range keys {
		_, _ = s.Take(ctx, k, p)
	}
	for _, k := range keys[:oneMillion/10] {
		_, _ = s.Take(ctx, "x"+k, p)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if s.Len() != s.Cap() {
		b.Fatalf("store holds %d keys, cap %d", s.Len(), s.Cap())
	}
	perKey := float64(after.HeapAlloc-before.HeapAlloc) / float64(s.Len())
	takeCycling(b, s, keys, p)
	b.ReportMetric(perKey, "B/key")
	b.ReportMetric(float64(s.Len()), "keys")
	runtime.KeepAlive(s)
}

// BenchmarkMemoryStore1K is BenchmarkMemoryStore1M with a thousand keys,
// all in cache: the store's compute cost without memory misses.
func BenchmarkMemoryStore1K(b *testing.B) {
	keys := millionKeys()[:1000]
	p := httpx.RatePolicy{Name: "p", Limit: 100_000_000, Window: time.Second, Burst: 100_000_000}
	s := httpx.NewMemoryStore(2000)
	takeCycling(b, s, keys, p)
}
