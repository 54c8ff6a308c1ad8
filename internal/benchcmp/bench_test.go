package benchcmp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/httprate"
	"github.com/unrolled/secure"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// benchWriter is the harness's ResponseWriter: a fresh header map per
// request, as net/http gives, and nothing else.
type benchWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
func (w *benchWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

var helloBody = []byte("hello")

func bareHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(helloBody)
}

func mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /hello", bareHandler)
	return m
}

func run(b *testing.B, h http.Handler) {
	r := httptest.NewRequest("GET", "/hello", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	b.ReportAllocs()
	for b.Loop() {
		r.Body = http.NoBody // conventional middleware replace it on the shared request
		w := &benchWriter{h: make(http.Header)}
		h.ServeHTTP(w, r)
		if w.code != 0 && w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
}

const hugeLimit = 100_000_000

// BenchmarkBare: the handler behind a ServeMux, nothing else.
func BenchmarkBare(b *testing.B) { run(b, mux()) }

// BenchmarkPavedDefault: httpx.Server's full default chain.
func BenchmarkPavedDefault(b *testing.B) {
	s, err := httpx.New(httpx.Config{
		Logger:    slog.New(slog.DiscardHandler),
		Posture:   new(paved.Posture),
		Events:    paved.NopSink{},
		RateLimit: httpx.RateLimitConfig{Policy: httpx.Policy{Limit: hugeLimit, Window: time.Second}},
		OptOuts:   []paved.OptOut{httpx.AllowPlainHTTP("benchmark harness")},
		Handler:   mux(),
	})
	if err != nil {
		b.Fatal(err)
	}
	run(b, s)
}

// secureHeaders is unrolled/secure configured for the same headers as
// httpx's API profile.
func secureHeaders() func(http.Handler) http.Handler {
	return secure.New(secure.Options{
		STSSeconds:                63072000,
		STSIncludeSubdomains:      true,
		ForceSTSHeader:            true,
		FrameDeny:                 true,
		ContentTypeNosniff:        true,
		ContentSecurityPolicy:     "default-src 'none'; frame-ancestors 'none'",
		ReferrerPolicy:            "no-referrer",
		CrossOriginOpenerPolicy:   "same-origin",
		CrossOriginResourcePolicy: "same-origin",
	}).Handler
}

// noStore sets Cache-Control, which unrolled/secure does not.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

type ridKey struct{}

// requestID is the conventional request-ID middleware.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ridKey{}, id)))
	})
}

// recoverer is the conventional panic recovery.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(c int) { s.status = c; s.ResponseWriter.WriteHeader(c) }
func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = 200
	}
	n, err := s.ResponseWriter.Write(p)
	s.bytes += n
	return n, err
}

// accessLog is the conventional slog access log.
func accessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
				slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr))
		})
	}
}

// bodyLimit is the conventional http.MaxBytesReader middleware.
func bodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		next.ServeHTTP(w, r)
	})
}

func chain(h http.Handler, mw ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// BenchmarkPopularStack: unrolled/secure + go-chi/httprate + conventional
// middleware doing the same work as the paved default chain.
func BenchmarkPopularStack(b *testing.B) {
	logger := slog.New(slog.DiscardHandler)
	co := http.NewCrossOriginProtection()
	h := chain(mux(), requestID, accessLog(logger), recoverer, secureHeaders(), noStore,
		co.Handler, httprate.LimitBy(hugeLimit, time.Second, keyByPeer), bodyLimit)
	run(b, h)
}

// BenchmarkPavedHeadersAndLimit: only paved's security headers and rate
// limit, the part the two libraries cover.
func BenchmarkPavedHeadersAndLimit(b *testing.B) {
	rl, err := httpx.RateLimit(httpx.RateLimitConfig{Policy: httpx.Policy{Limit: hugeLimit, Window: time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	run(b, httpx.Chain(httpx.SecurityHeaders(httpx.ProfileAPI), rl)(mux()))
}

// BenchmarkSecureAndHttprate: unrolled/secure + go-chi/httprate alone.
func BenchmarkSecureAndHttprate(b *testing.B) {
	run(b, chain(mux(), secureHeaders(), noStore, httprate.LimitBy(hugeLimit, time.Second, keyByPeer)))
}

// keyByPeer is httprate's key on the TCP peer, IPv6 grouped by /64, the
// same trust model as paved's default.
func keyByPeer(r *http.Request) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return httprate.CanonicalizeIP(host), nil
}
