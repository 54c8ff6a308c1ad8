package main

import (
	"net/http"
	"testing"

	"github.com/pavedroad/paved/internal/testenv"
)

// Two replicas with REDIS_ADDR share one limit: at 6 requests a minute per
// client, alternating calls reach 429 by the 7th in total, where replicas
// counting alone would allow 12. (Skipped in a unit run; fails under
// PAVED_INTEGRATION=1 without Redis.)
func TestTemplateRedisLimitShared(t *testing.T) {
	addr := testenv.RequireRedis(t)
	env := map[string]string{"REDIS_ADDR": addr, "RATE_LIMIT": "6",
		"REDIS_TLS": "false", "REDIS_PLAINTEXT_REASON": "the integration run's Redis listens on loopback only"}
	a, err := startWith(t, env, seams{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := startWith(t, env, seams{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		tp := []template{a, b}[i%2]
		resp, _ := tp.do(t, "GET", "/v1/orders", "") // 401 until the limit: the limit comes first
		if resp.StatusCode == http.StatusTooManyRequests {
			return
		}
	}
	t.Fatal("no 429 within 7 calls across two replicas at 6 a minute: the limit is not shared")
}
