package httpxtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved/httpx"
)

// slack is how far a store's reported durations may trail the exact
// figure: the time that passes between calls, and a network round trip.
const slack = 250 * time.Millisecond

// A storeCase is one check of the suite, run against a fresh store.
type storeCase struct {
	name string
	run  func(ctx context.Context, s httpx.Store) error
}

var storeCases = []storeCase{
	{"BurstThenDeny", burstThenDeny},
	{"KeysIndependent", keysIndependent},
	{"PoliciesIndependent", policiesIndependent},
	{"Refill", refill},
	{"Defaults", defaults},
	{"Concurrent", concurrent},
}

// RunStoreConformance runs the conformance suite as subtests of t, each
// against a store from newStore, which must return a store that has seen
// no requests (give a shared backend a fresh key prefix per call).
func RunStoreConformance(t *testing.T, newStore func(t *testing.T) httpx.Store) {
	t.Helper()
	for _, c := range storeCases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.run(t.Context(), newStore(t)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// CheckStore runs the conformance suite against stores from newStore (see
// [RunStoreConformance]) and returns every failure, joined, or nil. It
// takes about a third of a second, most of it waiting for a refill.
func CheckStore(ctx context.Context, newStore func() httpx.Store) error {
	var errs []error
	for _, c := range storeCases {
		if err := c.run(ctx, newStore()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

func near(got, want time.Duration) bool { return got <= want && got >= want-slack }

// take consumes one request and fails on an error.
func take(ctx context.Context, s httpx.Store, key string, p httpx.RatePolicy) (httpx.RateDecision, error) {
	d, err := s.Take(ctx, key, p)
	if err != nil {
		return d, fmt.Errorf("Take(%q, %+v): %w", key, p, err)
	}
	return d, nil
}

// conf is 4 requests per 20 seconds: one every 5 seconds, in bursts of 4.
var conf = httpx.RatePolicy{Name: "conf", Limit: 4, Window: 20 * time.Second, Burst: 4}

// burstThenDeny: a burst passes with the remaining count and reset
// counting down, the next request is denied with a retry-after of one
// interval, and a denied request consumes nothing.
func burstThenDeny(ctx context.Context, s httpx.Store) error {
	for i := range 4 {
		d, err := take(ctx, s, "client", conf)
		if err != nil {
			return err
		}
		if want := time.Duration(i+1) * 5 * time.Second; !d.Allowed || d.Remaining != 3-i || !near(d.Reset, want) || d.RetryAfter != 0 {
			return fmt.Errorf("take %d = %+v, want allowed, remaining %d, reset %v, no retry-after", i, d, 3-i, want)
		}
	}
	for i := range 2 {
		d, err := take(ctx, s, "client", conf)
		if err != nil {
			return err
		}
		if d.Allowed || d.Remaining != 0 || !near(d.RetryAfter, 5*time.Second) || !near(d.Reset, 20*time.Second) {
			return fmt.Errorf("denial %d = %+v, want denied, remaining 0, retry after ~5s, reset ~20s", i, d)
		}
	}
	return nil
}

// keysIndependent: one key's exhausted quota leaves another's whole.
func keysIndependent(ctx context.Context, s httpx.Store) error {
	for range 5 {
		if _, err := take(ctx, s, "busy", conf); err != nil {
			return err
		}
	}
	d, err := take(ctx, s, "quiet", conf)
	if err != nil {
		return err
	}
	if !d.Allowed || d.Remaining != 3 {
		return fmt.Errorf("other key = %+v, want allowed with 3 remaining", d)
	}
	return nil
}

// policiesIndependent: two policies on one store keep separate state for
// the same key, whether they differ in name or only in their numbers, so a
// strict limit holds beside a loose one.
func policiesIndependent(ctx context.Context, s httpx.Store) error {
	// One token a second at most, so that no refill between two calls
	// can blur the result.
	loose := httpx.RatePolicy{Name: "shared", Limit: 600, Window: 10 * time.Minute, Burst: 600}
	for _, strict := range []httpx.RatePolicy{
		{Name: "shared", Limit: 1, Window: time.Minute, Burst: 1},        // same name, other numbers
		{Name: "strict", Limit: 1, Window: time.Minute, Burst: 1},        // other name
		{Name: "shared", Limit: 600, Window: 10 * time.Minute, Burst: 1}, // only the burst differs
	} {
		key := fmt.Sprintf("client-%s-%d-%d", strict.Name, strict.Limit, strict.Burst)
		if _, err := take(ctx, s, key, loose); err != nil {
			return err
		}
		first, err := take(ctx, s, key, strict)
		if err != nil {
			return err
		}
		second, err := take(ctx, s, key, strict)
		if err != nil {
			return err
		}
		if !first.Allowed || first.Remaining != 0 || second.Allowed {
			return fmt.Errorf("policy %+v after %+v on the same key: first %+v, second %+v; want the first allowed with 0 remaining and the second denied",
				strict, loose, first, second)
		}
		d, err := take(ctx, s, key, loose)
		if err != nil {
			return err
		}
		if !d.Allowed || d.Remaining != 598 {
			return fmt.Errorf("policy %+v after the strict one = %+v, want allowed with 598 remaining", loose, d)
		}
	}
	// Windows that differ by less than a second are other policies too.
	for i, p := range []httpx.RatePolicy{
		{Name: "subsecond", Limit: 1, Window: time.Minute, Burst: 1},
		{Name: "subsecond", Limit: 1, Window: time.Minute + 500*time.Millisecond, Burst: 1},
	} {
		d, err := take(ctx, s, "client-subsecond", p)
		if err != nil {
			return err
		}
		if !d.Allowed {
			return fmt.Errorf("policy %d, %+v, on a key only the other window has seen = %+v, want allowed", i, p, d)
		}
	}
	return nil
}

// refill: a token returns after one interval (250ms).
func refill(ctx context.Context, s httpx.Store) error {
	fast := httpx.RatePolicy{Name: "fast", Limit: 4, Window: time.Second, Burst: 1}
	for i, want := range []bool{true, false} {
		d, err := take(ctx, s, "client", fast)
		if err != nil {
			return err
		}
		if d.Allowed != want {
			return fmt.Errorf("take %d = %+v, want allowed %v", i, d, want)
		}
	}
	time.Sleep(300 * time.Millisecond)
	d, err := take(ctx, s, "client", fast)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return fmt.Errorf("take after the refill interval = %+v, want allowed", d)
	}
	return nil
}

// defaults: a zero policy is the default one, 600 a minute, and shares
// its state with the same policy spelled out.
func defaults(ctx context.Context, s httpx.Store) error {
	d, err := take(ctx, s, "client", httpx.RatePolicy{})
	if err != nil {
		return err
	}
	if !d.Allowed || d.Remaining != 599 {
		return fmt.Errorf("zero policy = %+v, want allowed with 599 remaining", d)
	}
	d, err = take(ctx, s, "client", httpx.RatePolicy{}.WithDefaults())
	if err != nil {
		return err
	}
	if !d.Allowed || d.Remaining != 598 {
		return fmt.Errorf("default policy spelled out = %+v, want allowed with 598 remaining", d)
	}
	return nil
}

// concurrent: requests racing for one key get exactly the burst.
func concurrent(ctx context.Context, s httpx.Store) error {
	p := httpx.RatePolicy{Name: "race", Limit: 20, Window: time.Hour, Burst: 20}
	var (
		mu      sync.Mutex
		allowed int
		errs    []error
		wg      sync.WaitGroup
	)
	for range 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				d, err := take(ctx, s, "client", p)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if d.Allowed {
					allowed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if allowed != 20 {
		return fmt.Errorf("50 concurrent requests under a burst of 20: %d allowed", allowed)
	}
	return nil
}
