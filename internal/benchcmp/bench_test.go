package benchcmp

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/httprate"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/benchharness"
)

// pavedServer is httpx.Server's full default chain logging to logger,
// serving the harness's mux.
func pavedServer(b *testing.B, logger *slog.Logger) *httpx.Server {
	s, err := httpx.New(httpx.Config{
		Logger:    logger,
		Posture:   new(paved.Posture),
		Events:    paved.NopSink{},
		RateLimit: httpx.RateLimitConfig{Policy: httpx.RatePolicy{Limit: HugeLimit, Window: time.Second}},
		OptOuts:   []paved.OptOut{httpx.AllowPlainHTTP("benchmark harness")},
		Handler:   benchharness.Mux(),
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkBare: the handler behind a ServeMux, nothing else.
func BenchmarkBare(b *testing.B) { benchharness.Run(b, benchharness.Mux()) }

// BenchmarkFloor: the bare handler also sending the eleven fields the
// paved chain sends, set the cheapest way (prebuilt values, no
// middleware): what no chain sending them can beat.
func BenchmarkFloor(b *testing.B) {
	benchharness.Run(b, benchharness.MuxWithHeaders(benchharness.ChainHeaders))
}

// BenchmarkPavedDefault: httpx.Server's full default chain with its access
// log turned off (a logger whose handler is disabled, so nothing is
// formatted). Compare with BenchmarkPopularStackNoLog.
func BenchmarkPavedDefault(b *testing.B) {
	benchharness.Run(b, pavedServer(b, slog.New(slog.DiscardHandler)))
}

// BenchmarkPavedDefaultLogged: the same chain writing its access log, as
// text, to a LogSink. Compare with BenchmarkPopularStack, whose chi Logger
// writes to a LogSink too.
func BenchmarkPavedDefaultLogged(b *testing.B) {
	benchharness.Run(b, pavedServer(b, PavedLogger(new(LogSink))))
}

// BenchmarkPopularStack: unrolled/secure + go-chi/httprate + chi's
// RequestID, Logger and Recoverer and the standard library's cross-origin
// protection and body limit, doing the work of the paved default chain
// (see PopularStack), logging to a LogSink.
func BenchmarkPopularStack(b *testing.B) {
	benchharness.Run(b, PopularStack(benchharness.Mux(), new(LogSink)))
}

// BenchmarkPopularStackNoLog: the popular stack without chi's Logger, which
// cannot be turned off but only left out.
func BenchmarkPopularStackNoLog(b *testing.B) {
	benchharness.Run(b, PopularStack(benchharness.Mux(), nil))
}

// BenchmarkPavedHeadersAndLimit: only paved's security headers and rate
// limit, the part the two libraries cover.
func BenchmarkPavedHeadersAndLimit(b *testing.B) {
	rl, err := httpx.RateLimit(httpx.RateLimitConfig{Policy: httpx.RatePolicy{Limit: HugeLimit, Window: time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	benchharness.Run(b, httpx.Chain(httpx.SecurityHeaders(httpx.ProfileAPI), rl)(benchharness.Mux()))
}

// BenchmarkSecureAndHttprate: unrolled/secure + go-chi/httprate alone.
func BenchmarkSecureAndHttprate(b *testing.B) {
	benchharness.Run(b, Chain(benchharness.Mux(), SecureHeaders(), NoStore, httprate.LimitBy(HugeLimit, time.Second, KeyByPeer)))
}

// TestStacksAnswerTheSame checks that the stacks under comparison all
// answer the harness's request with 200, the body, the security fields and
// a request ID, and that each logging stack writes one line per request, so
// that no benchmark measures a short cut.
func TestStacksAnswerTheSame(t *testing.T) {
	pavedSink, chiSink := new(LogSink), new(LogSink)
	ps, err := httpx.New(httpx.Config{
		Logger:    PavedLogger(pavedSink),
		Posture:   new(paved.Posture),
		Events:    paved.NopSink{},
		RateLimit: httpx.RateLimitConfig{Policy: httpx.RatePolicy{Limit: HugeLimit, Window: time.Second}},
		OptOuts:   []paved.OptOut{httpx.AllowPlainHTTP("benchmark harness")},
		Handler:   benchharness.Mux(),
	})
	if err != nil {
		t.Fatal(err)
	}
	stacks := []struct {
		name string
		h    http.Handler
		sink *LogSink
	}{
		{"paved", ps, pavedSink},
		{"popular", PopularStack(benchharness.Mux(), chiSink), chiSink},
		{"popular without log", PopularStack(benchharness.Mux(), nil), nil},
	}
	for _, s := range stacks {
		t.Run(s.name, func(t *testing.T) {
			var before int64 // lines written before any request (httpx.New logs its opt-outs)
			if s.sink != nil {
				before = s.sink.Lines()
			}
			for range 2 {
				w := httptest.NewRecorder()
				r := httptest.NewRequest("GET", "/hello", nil)
				r.RemoteAddr = "192.0.2.1:1234"
				s.h.ServeHTTP(w, r)
				if w.Code != http.StatusOK || w.Body.String() != "hello" {
					t.Fatalf("got %d %q, want 200 \"hello\"", w.Code, w.Body.String())
				}
				for k, v := range benchharness.RequiredHeaders {
					if got := w.Header().Get(k); got != v[0] {
						t.Errorf("%s = %q, want %q", k, got, v[0])
					}
				}
				if w.Header().Get("X-Request-Id") == "" {
					t.Error("no X-Request-Id")
				}
			}
			if s.sink != nil && s.sink.Lines()-before != 2 {
				t.Errorf("%d log lines for 2 requests, want 2", s.sink.Lines()-before)
			}
		})
	}
}
