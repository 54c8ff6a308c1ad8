package redisutil_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved/internal/redisutil"
)

func TestIgnoresDeadlines(t *testing.T) {
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer plain.Close()
	timed := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer timed.Close()
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	for _, tt := range []struct {
		name string
		c    any
		want bool
	}{
		{"client without ContextTimeoutEnabled", plain, true},
		{"client with it", timed, false},
		{"ring without it", ring, true},
		{"nil client", (*redis.Client)(nil), false},
		{"other value", struct{}{}, false},
	} {
		if got := redisutil.IgnoresDeadlines(tt.c); got != tt.want {
			t.Errorf("%s: IgnoresDeadlines = %v, want %v", tt.name, got, tt.want)
		}
	}
}
