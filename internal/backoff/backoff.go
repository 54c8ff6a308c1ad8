// Package backoff computes retry delays: exponential growth from a base to a
// cap, with full jitter, so that many replicas retrying after one outage do
// not arrive together. It is shared by every paved package that retries
// (secrets' login and renewal, policy's bundle polling), so that no error
// path anywhere can loop without sleeping.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy describes a backoff. The zero value is usable: Base 100ms, Cap 30s.
type Policy struct {
	// Base is the first delay before jitter. Default 100ms.
	Base time.Duration
	// Cap bounds every delay. Default 30s.
	Cap time.Duration
}

func (p Policy) norm() Policy {
	if p.Base <= 0 {
		p.Base = 100 * time.Millisecond
	}
	if p.Cap <= 0 {
		p.Cap = 30 * time.Second
	}
	if p.Cap < p.Base {
		p.Cap = p.Base
	}
	return p
}

// Ceiling returns the largest delay for the attempt'th retry (0-based):
// min(Cap, Base*2^attempt), before jitter.
func (p Policy) Ceiling(attempt int) time.Duration {
	p = p.norm()
	d := p.Base
	for i := 0; i < attempt && d < p.Cap; i++ {
		d *= 2
	}
	return min(d, p.Cap)
}

// Delay returns the delay before the attempt'th retry (0-based): a uniformly
// random duration in [Ceiling/2, Ceiling], never zero. Half the ceiling is
// kept as a floor so that a retry loop always sleeps a real amount.
func (p Policy) Delay(attempt int) time.Duration {
	c := p.Ceiling(attempt)
	half := c / 2
	return half + rand.N(c-half+1)
}

// Sleep waits for d or until ctx ends, reporting ctx.Err() in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
