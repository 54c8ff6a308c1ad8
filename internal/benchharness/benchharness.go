// Package benchharness is the one harness the paved benchmarks share: the
// in-process request loop of httpx's benchmarks and of the competitor
// comparison in internal/benchcmp, the handler they all serve, and the
// response fields the httpx chain sends, which the comparison servers of
// internal/benchcmp/cmd/tlsload send as well. Keeping them in one place
// keeps "the same harness" and "the same headers" true.
package benchharness

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// writer is the harness's ResponseWriter: a fresh header map per request,
// as net/http gives, and nothing else.
type writer struct {
	h    http.Header
	code int
	n    int
}

func (w *writer) Header() http.Header         { return w.h }
func (w *writer) WriteHeader(code int)        { w.code = code }
func (w *writer) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

var helloBody = []byte("hello")

// Hello is the handler under every benchmark: a short text/plain body.
func Hello(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(helloBody)
}

// Mux serves Hello at GET /hello, as every benchmark routes it.
func Mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /hello", Hello)
	return m
}

// MuxWithHeaders serves Hello at GET /hello as [Mux] does, also sending
// hdr the cheapest way ([WithHeaders]): the floor servers and benchmarks,
// routed like every other server under comparison.
func MuxWithHeaders(hdr http.Header) *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("GET /hello", WithHeaders(Hello, hdr))
	return m
}

// Run measures h serving GET /hello from one client address, one request
// per iteration, and fails on any status but 200.
func Run(b *testing.B, h http.Handler) {
	r := httptest.NewRequest("GET", "/hello", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	b.ReportAllocs()
	for b.Loop() {
		r.Body = http.NoBody // conventional middleware replace it on the shared request
		w := &writer{h: make(http.Header)}
		h.ServeHTTP(w, r)
		if w.code != 0 && w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
}

// RequiredHeaders are the eight security fields the httpx issue requires
// on every response, with httpx's API-profile values.
var RequiredHeaders = http.Header{
	"Strict-Transport-Security":    {"max-age=63072000; includeSubDomains"},
	"Content-Security-Policy":      {"default-src 'none'; frame-ancestors 'none'"},
	"X-Content-Type-Options":       {"nosniff"},
	"X-Frame-Options":              {"DENY"},
	"Referrer-Policy":              {"no-referrer"},
	"Cross-Origin-Opener-Policy":   {"same-origin"},
	"Cross-Origin-Resource-Policy": {"same-origin"},
	"Cache-Control":                {"no-store"},
}

// ChainHeaders are the eleven fields the httpx default chain adds:
// RequiredHeaders plus X-Request-Id and the two RateLimit fields, with
// values of the same length as the chain's under a limit of 100,000,000
// a second.
var ChainHeaders = func() http.Header {
	h := RequiredHeaders.Clone()
	h["X-Request-Id"] = []string{"0123456789abcdef0123456789abcdef"}
	h["Ratelimit-Policy"] = []string{`"default";q=100000000;w=1`}
	h["Ratelimit"] = []string{`"default";r=99999999;t=1`}
	return h
}()

// WithHeaders returns next also sending hdr, set the cheapest way there
// is: each prebuilt value assigned to its canonical key, no middleware.
// The values are shared by every response, which is safe only because
// nothing in the benchmarks modifies them.
func WithHeaders(next http.HandlerFunc, hdr http.Header) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range hdr {
			h[k] = v
		}
		next(w, r)
	})
}
