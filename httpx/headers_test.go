package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pavedroad/paved/httpx"
)

// tamper is a handler that rewrites, in place, the first value of every
// response field already set, and appends to each, as a careless handler
// might.
func tamper(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	for k, v := range h {
		if len(v) > 0 {
			v[0] = "public, max-age=3600"
			h[k] = append(v, "tampered")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// wantUntouched fails when a field of w carries a value tamper wrote.
func wantUntouched(t *testing.T, w *httptest.ResponseRecorder, fields ...string) {
	t.Helper()
	for _, k := range fields {
		if v := w.Header()[k]; len(v) != 1 || v[0] == "public, max-age=3600" {
			t.Errorf("%s = %q: changed by another response's handler", k, v)
		}
	}
}

var chainFields = []string{
	"Strict-Transport-Security", "Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
	"Referrer-Policy", "Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy", "Cache-Control",
	"X-Request-Id", "Ratelimit-Policy", "Ratelimit",
}

// No handler can change another response's headers: a handler that
// rewrites the values of the chain's fields in place, on one route, leaves
// every later response, on any route, as the chain made it.
func TestHandlerCannotChangeOtherResponsesHeaders(t *testing.T) {
	for _, profile := range []httpx.HeaderProfile{httpx.ProfileAPI, httpx.ProfileHTML} {
		t.Run(profile.String(), func(t *testing.T) {
			cfg := plainConfig()
			cfg.Headers = profile
			s := mustNew(t, cfg)
			s.HandleFunc("GET /cacheable", tamper)
			s.HandleFunc("GET /private", okHandler)
			if w := do(s, httptest.NewRequest("GET", "/cacheable", nil)); w.Header().Get("Cache-Control") != "public, max-age=3600" {
				t.Fatalf("the handler could not change its own response: %q", w.Header().Get("Cache-Control"))
			}
			for _, path := range []string{"/private", "/cacheable", "/livez", "/missing"} {
				w := do(s, httptest.NewRequest("GET", path, nil))
				if path == "/cacheable" {
					continue // tampers with itself, as it may
				}
				fields := chainFields
				if path == "/livez" {
					fields = fields[:len(fields)-2] // health endpoints are not rate limited
				}
				wantUntouched(t, w, fields...)
				if got := w.Header().Get("Cache-Control"); got != "no-store" {
					t.Errorf("%s: Cache-Control = %q, want no-store", path, got)
				}
			}
		})
	}
}

// The same holds for the middleware composed by hand.
func TestStandaloneMiddlewareHeadersPerResponse(t *testing.T) {
	rl, err := httpx.RateLimit(httpx.RateLimitConfig{Policy: httpx.RatePolicy{Limit: 1000, Window: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cacheable", tamper)
	mux.HandleFunc("GET /private", okHandler)
	h := httpx.Chain(httpx.RequestID, httpx.SecurityHeaders(httpx.ProfileAPI), rl)(mux)
	do(h, httptest.NewRequest("GET", "/cacheable", nil))
	w := do(h, httptest.NewRequest("GET", "/private", nil))
	wantUntouched(t, w, chainFields...)
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
}
