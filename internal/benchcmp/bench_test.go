package benchcmp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/go-chi/httprate"
	"github.com/unrolled/secure"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/benchharness"
)

const hugeLimit = 100_000_000

// BenchmarkBare: the handler behind a ServeMux, nothing else.
func BenchmarkBare(b *testing.B) { benchharness.Run(b, benchharness.Mux()) }

// BenchmarkPavedDefault: httpx.Server's full default chain.
func BenchmarkPavedDefault(b *testing.B) {
	s, err := httpx.New(httpx.Config{
		Logger:    slog.New(slog.DiscardHandler),
		Posture:   new(paved.Posture),
		Events:    paved.NopSink{},
		RateLimit: httpx.RateLimitConfig{Policy: httpx.Policy{Limit: hugeLimit, Window: time.Second}},
		OptOuts:   []paved.OptOut{httpx.AllowPlainHTTP("benchmark harness")},
		Handler:   benchharness.Mux(),
	})
	if err != nil {
		b.Fatal(err)
	}
	benchharness.Run(b, s)
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
	h := chain(benchharness.Mux(), requestID, accessLog(logger), recoverer, secureHeaders(), noStore,
		co.Handler, httprate.LimitBy(hugeLimit, time.Second, keyByPeer), bodyLimit)
	benchharness.Run(b, h)
}

// BenchmarkPavedHeadersAndLimit: only paved's security headers and rate
// limit, the part the two libraries cover.
func BenchmarkPavedHeadersAndLimit(b *testing.B) {
	rl, err := httpx.RateLimit(httpx.RateLimitConfig{Policy: httpx.Policy{Limit: hugeLimit, Window: time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	benchharness.Run(b, httpx.Chain(httpx.SecurityHeaders(httpx.ProfileAPI), rl)(benchharness.Mux()))
}

// BenchmarkSecureAndHttprate: unrolled/secure + go-chi/httprate alone.
func BenchmarkSecureAndHttprate(b *testing.B) {
	benchharness.Run(b, chain(benchharness.Mux(), secureHeaders(), noStore, httprate.LimitBy(hugeLimit, time.Second, keyByPeer)))
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
