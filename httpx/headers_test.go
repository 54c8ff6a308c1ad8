package httpx_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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

// spoil is a handler that sets its own fields, weakens the chain's (a
// public Cache-Control, no X-Frame-Options, a CSP of its own) and then
// fails: by reading a body over the limit, or by panicking.
func spoil(fail func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Cache-Control"][0] = "public, max-age=3600"
		h.Del("X-Frame-Options")
		h.Set("Content-Security-Policy", "default-src *")
		h.Set("Content-Encoding", "gzip")
		h.Set("Etag", `"v1"`)
		fail(w, r)
	}
}

// The error responses the chain writes in place of a handler's (500 after
// a panic, 413 for a body over the limit) carry the chain's fields as the
// chain set them, whatever the handler did to them: a 500 is never made
// publicly cacheable, nor a problem+json body labelled gzip. The request
// ID and the RateLimit fields stay.
func TestChainErrorResponsesCarryTheChainsFields(t *testing.T) {
	for _, profile := range []httpx.HeaderProfile{httpx.ProfileAPI, httpx.ProfileHTML} {
		t.Run(profile.String(), func(t *testing.T) {
			cfg := plainConfig()
			cfg.Headers = profile
			cfg.MaxBodyBytes = 8
			s := mustNew(t, cfg)
			s.HandleFunc("GET /panic", spoil(func(http.ResponseWriter, *http.Request) { panic("boom") }))
			s.HandleFunc("POST /big", spoil(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
				okHandler(w, r)
			}))
			clean := do(s, httptest.NewRequest("GET", "/missing", nil)).Header()
			for _, tt := range []struct {
				req  *http.Request
				code int
			}{
				{httptest.NewRequest("GET", "/panic", nil), 500},
				{httptest.NewRequest("POST", "/big", strings.NewReader(strings.Repeat("x", 100))), 413},
			} {
				w := do(s, tt.req)
				h := w.Header()
				if w.Code != tt.code || h.Get("Content-Type") != httpx.ContentTypeProblem {
					t.Fatalf("%s: %d %q, want %d problem+json", tt.req.URL.Path, w.Code, h.Get("Content-Type"), tt.code)
				}
				for _, k := range chainFields {
					got, want := h.Get(k), clean.Get(k)
					switch {
					case k == "X-Request-Id" || k == "Ratelimit":
						// per request; checked below
					case k == "Content-Security-Policy" && profile == httpx.ProfileHTML:
						if !strings.HasPrefix(got, "default-src 'self'; script-src 'nonce-") {
							t.Errorf("%s: %s = %q, want the chain's nonce-based policy", tt.req.URL.Path, k, got)
						}
					case got != want:
						t.Errorf("%s: %s = %q, want the chain's %q", tt.req.URL.Path, k, got, want)
					}
				}
				if h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" || h.Get("X-Request-Id") == "" ||
					!strings.HasPrefix(h.Get("Ratelimit"), `"default";r=`) {
					t.Errorf("%s: Cache-Control %q X-Frame-Options %q X-Request-Id %q RateLimit %q", tt.req.URL.Path,
						h.Get("Cache-Control"), h.Get("X-Frame-Options"), h.Get("X-Request-Id"), h.Get("Ratelimit"))
				}
				if h.Get("Content-Encoding") != "" || h.Get("Etag") != "" {
					t.Errorf("%s: the handler's Content-Encoding %q and ETag %q reached the chain's error", tt.req.URL.Path, h.Get("Content-Encoding"), h.Get("Etag"))
				}
			}
		})
	}
}
