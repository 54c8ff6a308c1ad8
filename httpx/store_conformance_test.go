package httpx_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/testenv"
)

// testStoreConformance is the one suite every Store passes: the in-memory
// store in unit runs, Redis in the integration run.
func testStoreConformance(t *testing.T, s httpx.Store) {
	ctx := context.Background()
	p := httpx.Policy{Name: "conf", Limit: 4, Window: 20 * time.Second, Burst: 4} // one request per 5s
	key := fmt.Sprintf("client-%d", time.Now().UnixNano())
	const slack = 250 * time.Millisecond
	near := func(got, want time.Duration) bool { return got <= want && got >= want-slack }
	for i := range 4 {
		d, err := s.Take(ctx, key, p)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed || d.Remaining != 3-i || !near(d.Reset, time.Duration(i+1)*5*time.Second) || d.RetryAfter != 0 {
			t.Fatalf("take %d = %+v, want allowed, remaining %d, reset %v", i, d, 3-i, time.Duration(i+1)*5*time.Second)
		}
	}
	d, err := s.Take(ctx, key, p)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.Remaining != 0 || !near(d.RetryAfter, 5*time.Second) || !near(d.Reset, 20*time.Second) {
		t.Fatalf("take past the burst = %+v, want denied, retry after ~5s, reset ~20s", d)
	}
	// A denied request consumes nothing: still denied, same horizon.
	if d2, _ := s.Take(ctx, key, p); d2.Allowed || !near(d2.Reset, 20*time.Second) {
		t.Fatalf("second denial = %+v", d2)
	}
	// Other keys are independent.
	if d, _ := s.Take(ctx, key+"-other", p); !d.Allowed || d.Remaining != 3 {
		t.Fatalf("other key = %+v", d)
	}
	// Refill: with a fast policy, a token returns after its interval.
	fast := httpx.Policy{Name: "fast", Limit: 10, Window: time.Second, Burst: 1}
	if d, _ := s.Take(ctx, key, fast); !d.Allowed {
		t.Fatalf("fast first = %+v", d)
	}
	if d, _ := s.Take(ctx, key, fast); d.Allowed {
		t.Fatalf("fast second = %+v", d)
	}
	time.Sleep(150 * time.Millisecond)
	if d, _ := s.Take(ctx, key, fast); !d.Allowed {
		t.Fatalf("fast after refill = %+v", d)
	}
}

func TestMemoryStoreConformance(t *testing.T) {
	// One store per policy, as documented: the suite's two policies get a
	// store each through a small router.
	testStoreConformance(t, perPolicy{})
}

// perPolicy routes each policy to its own MemoryStore.
type perPolicy map[string]*httpx.MemoryStore

func (m perPolicy) Take(ctx context.Context, key string, p httpx.Policy) (httpx.Decision, error) {
	s, ok := m[p.Name]
	if !ok {
		s = httpx.NewMemoryStore(100)
		m[p.Name] = s
	}
	return s.Take(ctx, key, p)
}

func TestRedisStoreConformance(t *testing.T) {
	addr := testenv.RequireRedis(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	s, err := httpx.NewRedisStore(httpx.RedisStoreConfig{Client: c, Prefix: fmt.Sprintf("paved-conf:%d:", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	testStoreConformance(t, s)
}
