package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/httpx/httpxtest"
)

// The in-memory store passes the one suite every Store passes, as it is:
// one store for every policy of the suite, no per-policy wrapper. (The
// Redis store runs the same suite in package redislimit.)
func TestMemoryStoreConformance(t *testing.T) {
	httpxtest.RunStoreConformance(t, func(*testing.T) httpx.Store { return httpx.NewMemoryStore(1000) })
}

// Two limiters with different policies sharing one MemoryStore each keep
// their own limit for a client: the strict one (1 a minute, under the same
// default name as the loose one) denies the second request even after the
// loose one has seen the client.
func TestTwoLimitersShareOneMemoryStore(t *testing.T) {
	store := httpx.NewMemoryStore(1000)
	loose, err := httpx.NewRateLimiter(httpx.RateLimitConfig{Store: store, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	strict, err := httpx.NewRateLimiter(httpx.RateLimitConfig{Store: store, Logger: discard(),
		Policy: httpx.RatePolicy{Limit: 1, Window: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(okHandler)
	lh, sh := loose.Middleware(ok), strict.Middleware(ok)
	type step struct {
		h    http.Handler
		code int
		rl   string
	}
	for i, st := range []step{
		{lh, 200, `"default";r=599;t=1`},
		{sh, 200, `"default";r=0;t=60`},
		{sh, 429, `"default";r=0;t=60`},
		{sh, 429, `"default";r=0;t=60`},
		{lh, 200, `"default";r=598;t=1`},
	} {
		w := do(st.h, httptest.NewRequest("GET", "/", nil))
		if w.Code != st.code || w.Header().Get("RateLimit") != st.rl {
			t.Fatalf("step %d: %d RateLimit %q, want %d %q", i, w.Code, w.Header().Get("RateLimit"), st.code, st.rl)
		}
	}
	if n := store.Len(); n != 2 {
		t.Fatalf("store tracks %d (policy, key) pairs, want 2", n)
	}
}
