package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/backoff"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

type dynFixture struct {
	clock  *secretstest.Clock
	e      *secretstest.Engines
	b      *engineBackend
	ops    *secrets.TokenOps
	events *eventLog
}

func newDynFixture(t *testing.T, ttl, maxTTL time.Duration) *dynFixture {
	t.Helper()
	f := &dynFixture{clock: secretstest.NewClock(time.Time{}), events: &eventLog{}}
	f.e = secretstest.NewEngines(f.clock)
	f.b = &engineBackend{e: f.e}
	f.ops = secrets.NewTokenOps(f.b, "token-1")
	if _, err := f.b.Write(context.Background(), "root", "database/roles/t", map[string]any{"default_ttl": int(ttl / time.Second), "max_ttl": int(maxTTL / time.Second)}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *dynFixture) config() secrets.DynamicConfig {
	return secrets.DynamicConfig{Path: "database/creds/t", Clock: f.clock, Events: f.events, Posture: &paved.Posture{},
		Logger: slog.New(slog.DiscardHandler), Retry: backoff.Policy{Base: time.Second, Cap: 4 * time.Second}}
}

func (f *dynFixture) leases() int { return len(f.e.Leases("database/creds/t/")) }

func TestDynamicRenewsAtTwoThirds(t *testing.T) {
	f := newDynFixture(t, 60*time.Second, time.Hour)
	ctx := context.Background()
	d, err := f.ops.Dynamic(ctx, f.config())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	l := d.Current()
	t0 := f.clock.Now()
	if got, want := l.Expires(), t0.Add(60*time.Second); !got.Equal(want) {
		t.Fatalf("expires %v, want %v", got, want)
	}
	step(t, f.clock, 1, 39*time.Second)
	if f.events.count(paved.EventSecretRenewal, "") != 0 {
		t.Fatal("renewed before 2/3 of the lease")
	}
	step(t, f.clock, 1, time.Second)
	waitFor(t, "a renewal", func() bool { return f.events.count(paved.EventSecretRenewal, "renewed") == 1 })
	if got, want := d.Current().Expires(), t0.Add(100*time.Second); !got.Equal(want) {
		t.Fatalf("after renewal expires %v, want %v", got, want)
	}
	if d.Current() != l || f.leases() != 1 || d.LiveLeases() != 1 {
		t.Fatalf("renewal replaced the lease: same=%v leases=%d live=%d", d.Current() == l, f.leases(), d.LiveLeases())
	}
	step(t, f.clock, 1, 40*time.Second)
	waitFor(t, "a second renewal", func() bool { return f.events.count(paved.EventSecretRenewal, "renewed") == 2 })
	if err := d.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

// TestDynamicRotatesBeforeMaxTTL: a renewal capped by max TTL is the last;
// a fresh secret comes at 2/3 of what is left, OnRotate gets (old, new),
// and the old lease is revoked once OnRotate returns.
func TestDynamicRotatesBeforeMaxTTL(t *testing.T) {
	f := newDynFixture(t, 60*time.Second, 90*time.Second)
	ctx := context.Background()
	type pair struct{ old, new *secrets.Lease }
	rotations := make(chan pair, 4)
	cfg := f.config()
	var liveInCallback atomic.Int64
	cfg.OnRotate = func(_ context.Context, old, nl *secrets.Lease) error {
		liveInCallback.Store(int64(f.leases()))
		if !f.e.ValidLogin(nl.Reveal("username"), nl.Reveal("password")) || !f.e.ValidLogin(old.Reveal("username"), old.Reveal("password")) {
			return errors.New("both logins must work during the swap")
		}
		rotations <- pair{old, nl}
		return nil
	}
	d, err := f.ops.Dynamic(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	first := d.Current()
	step(t, f.clock, 1, 40*time.Second) // renewal capped at 50s left
	waitFor(t, "the capped renewal", func() bool { return f.events.count(paved.EventSecretRenewal, "capped") == 1 })
	if got, want := first.Expires(), f.clock.Now().Add(50*time.Second); !got.Equal(want) {
		t.Fatalf("capped lease expires %v, want %v", got, want)
	}
	// With a third of the 60s duration left: 30s after the capped renewal.
	step(t, f.clock, 1, 29*time.Second)
	if len(rotations) != 0 {
		t.Fatal("rotated too early")
	}
	step(t, f.clock, 1, time.Second)
	var p pair
	select {
	case p = <-rotations:
	case <-time.After(10 * time.Second):
		t.Fatal("no rotation before max TTL")
	}
	if p.old != first || p.new == first {
		t.Fatalf("OnRotate got old=%v new=%v", p.old == first, p.new != first)
	}
	waitFor(t, "the new lease to be current", func() bool { return d.Current() == p.new })
	if liveInCallback.Load() != 2 {
		t.Fatalf("%d leases during the callback, want 2", liveInCallback.Load())
	}
	waitFor(t, "the old lease's revocation", func() bool { return f.leases() == 1 && d.LiveLeases() == 1 })
	if f.e.ValidLogin(first.Reveal("username"), first.Reveal("password")) {
		t.Fatal("the old credentials still work after the rotation")
	}
	if got := f.events.count(paved.EventSecretRotation, "max_ttl"); got != 1 {
		t.Fatalf("%d max_ttl rotation events", got)
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.leases(); n != 0 {
		t.Fatalf("%d leases after Close, want 0", n)
	}
	if d.Current() != nil {
		t.Fatal("Current after Close")
	}
}

func TestDynamicRenewalRefusedRotates(t *testing.T) {
	f := newDynFixture(t, 60*time.Second, time.Hour)
	ctx := context.Background()
	d, err := f.ops.Dynamic(ctx, f.config())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	first := d.Current()
	// Someone revokes the lease: the next renewal is refused.
	if _, err := f.b.Write(ctx, "root", "sys/leases/revoke", map[string]any{"lease_id": first.ID()}); err != nil {
		t.Fatal(err)
	}
	step(t, f.clock, 1, 40*time.Second)
	waitFor(t, "a rotation", func() bool { return f.events.count(paved.EventSecretRotation, "renewal_refused") == 1 })
	if d.Current() == first || f.leases() != 1 {
		t.Fatalf("after refusal: rotated=%v leases=%d", d.Current() != first, f.leases())
	}
	if f.events.count(paved.EventSecretFailure, "renewal_refused") != 1 {
		t.Fatal("no failure event for the refused renewal")
	}
}

// TestDynamicReloginRefetches: leases die with the token that created them,
// so a re-login brings a fresh lease at once, under the new token.
func TestDynamicReloginRefetches(t *testing.T) {
	f := newDynFixture(t, time.Hour, 24*time.Hour)
	ctx := context.Background()
	d, err := f.ops.Dynamic(ctx, f.config())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	first := d.Current()
	f.e.RevokeToken("token-1")
	f.ops.Relogin("token-2")
	waitFor(t, "a rotation after the re-login", func() bool { return f.events.count(paved.EventSecretRotation, "relogin") == 1 })
	cur := d.Current()
	if cur == first || !f.e.ValidLogin(cur.Reveal("username"), cur.Reveal("password")) {
		t.Fatal("no working lease after the re-login")
	}
	waitFor(t, "one live lease", func() bool { return f.leases() == 1 && d.LiveLeases() == 1 })
}

// TestDynamicCallbackFailureKeepsOld: a rotation whose callback fails
// revokes the new lease and keeps the old one; it is retried with backoff.
func TestDynamicCallbackFailureKeepsOld(t *testing.T) {
	f := newDynFixture(t, 60*time.Second, 60*time.Second)
	ctx := context.Background()
	cfg := f.config()
	var calls atomic.Int64
	cfg.OnRotate = func(context.Context, *secrets.Lease, *secrets.Lease) error {
		if calls.Add(1) == 1 {
			return errors.New("pool would not start")
		}
		return nil
	}
	d, err := f.ops.Dynamic(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	first := d.Current()
	step(t, f.clock, 1, 40*time.Second) // renewal capped to 20s left (a third of 60s): rotation at once; callback fails
	waitFor(t, "the capped renewal", func() bool { return f.events.count(paved.EventSecretRenewal, "capped") == 1 })
	waitFor(t, "the failed callback", func() bool { return f.events.count(paved.EventSecretFailure, "rotate_callback") == 1 })
	waitFor(t, "the rejected lease's revocation", func() bool { return f.leases() == 1 })
	if d.Current() != first {
		t.Fatal("a failed callback replaced the current lease")
	}
	step(t, f.clock, 1, 4*time.Second) // backoff (at most the 1s base)... then success
	waitFor(t, "the retried rotation", func() bool { return calls.Load() == 2 && d.Current() != first })
	waitFor(t, "one live lease", func() bool { return f.leases() == 1 })
}

// TestDynamicOutage: renewals that fail keep the lease serving (readiness
// degraded) with backoff between tries; renewal resumes when the backend
// returns.
func TestDynamicOutage(t *testing.T) {
	f := newDynFixture(t, 60*time.Second, time.Hour)
	ctx := context.Background()
	d, err := f.ops.Dynamic(ctx, f.config())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	first := d.Current()
	f.b.setDown(fmt.Errorf("%w: connection refused", secrets.ErrUnavailable))
	step(t, f.clock, 1, 40*time.Second)
	waitFor(t, "a failed renewal", func() bool { return f.events.count(paved.EventSecretFailure, "renewal_error") == 1 })
	if err := d.Check(ctx); !errors.Is(err, httpx.ErrDegraded) {
		t.Fatalf("Check during the outage: %v, want degraded", err)
	}
	// Each retry waits a backoff step: advancing less than the base fires nothing.
	step(t, f.clock, 1, 400*time.Millisecond)
	if got := f.events.count(paved.EventSecretFailure, "renewal_error"); got != 1 {
		t.Fatalf("%d renewal attempts within one backoff step, want 1", got)
	}
	f.b.setDown(nil)
	step(t, f.clock, 1, 4*time.Second)
	waitFor(t, "the renewal after the outage", func() bool { return f.events.count(paved.EventSecretRenewal, "renewed") == 1 })
	if err := d.Check(ctx); err != nil {
		t.Fatalf("Check after the outage: %v", err)
	}
	if d.Current() != first || f.leases() != 1 {
		t.Fatal("the outage replaced the lease")
	}
}

// TestDynamicExpiredDuringOutage: past the lease's end, Check fails with
// ErrLeaseExpired, and a fresh lease comes when the backend returns.
func TestDynamicExpiredDuringOutage(t *testing.T) {
	f := newDynFixture(t, 60*time.Second, time.Hour)
	ctx := context.Background()
	d, err := f.ops.Dynamic(ctx, f.config())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	f.b.setDown(fmt.Errorf("%w: connection refused", secrets.ErrUnavailable))
	step(t, f.clock, 1, 40*time.Second)
	for f.clock.Now().Before(d.Current().Expires()) {
		step(t, f.clock, 1, 5*time.Second)
	}
	if err := d.Check(ctx); !errors.Is(err, secrets.ErrLeaseExpired) {
		t.Fatalf("Check past expiry: %v", err)
	}
	f.b.setDown(nil)
	waitFor(t, "a fresh lease", func() bool {
		// "expired" when the retry after the end was still failing,
		// "renewal_refused" when it reached the backend (the lease is gone).
		if f.events.count(paved.EventSecretRotation, "expired")+f.events.count(paved.EventSecretRotation, "renewal_refused") == 1 {
			return true
		}
		if n, ok := f.clock.Next(); ok {
			f.clock.Advance(n)
		}
		return false
	})
	if err := d.Check(ctx); err != nil {
		t.Fatalf("Check after recovery: %v", err)
	}
	if n := f.leases(); n != 1 {
		t.Fatalf("%d leases, want 1", n)
	}
}

func TestDynamicStartFailsClosed(t *testing.T) {
	f := newDynFixture(t, time.Minute, time.Hour)
	ctx := context.Background()
	cfg := f.config()
	cfg.Path = "database/creds/nope"
	if _, err := f.ops.Dynamic(ctx, cfg); !errors.Is(err, secrets.ErrInvalidRequest) || !strings.Contains(err.Error(), "database/creds/nope") {
		t.Fatalf("unknown role: %v", err)
	}
	cfg.Path = "database/creds/t"
	f.b.setDown(fmt.Errorf("%w: connection refused", secrets.ErrUnavailable))
	done := make(chan error, 1)
	go func() { _, err := f.ops.Dynamic(ctx, cfg); done <- err }()
	step(t, f.clock, 1, time.Second)
	step(t, f.clock, 1, 2*time.Second)
	if err := <-done; !errors.Is(err, secrets.ErrUnavailable) {
		t.Fatalf("unreachable at start: %v", err)
	}
	if got := f.events.count(paved.EventSecretFailure, "fetch"); got != 4 {
		t.Fatalf("%d failed fetches, want 1 + 3", got)
	}
	if f.leases() != 0 {
		t.Fatal("a lease leaked")
	}
}

func TestDynamicConfigErrors(t *testing.T) {
	f := newDynFixture(t, time.Minute, time.Hour)
	for _, tc := range []struct {
		cfg   secrets.DynamicConfig
		field string
	}{
		{secrets.DynamicConfig{}, "DynamicConfig.Path"},
		{secrets.DynamicConfig{Path: "database/creds/t?x=1"}, "DynamicConfig.Path"},
		{secrets.DynamicConfig{Path: "a//b"}, "DynamicConfig.Path"},
		{secrets.DynamicConfig{Path: "database/creds/t", StartAttempts: -1}, "DynamicConfig.StartAttempts"},
	} {
		_, err := f.ops.Dynamic(context.Background(), tc.cfg)
		ces := paved.ConfigErrors(err)
		if len(ces) != 1 || ces[0].Field != tc.field {
			t.Errorf("%+v: %v, want one ConfigError on %s", tc.cfg, err, tc.field)
		}
	}
}

func TestLeaseRedacted(t *testing.T) {
	f := newDynFixture(t, time.Minute, time.Hour)
	ctx := context.Background()
	d, err := f.ops.Dynamic(ctx, f.config())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	l := d.Current()
	pw := l.Reveal("password")
	if pw == "" || l.Secret("password").Reveal() != pw {
		t.Fatal("no password")
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "lease", l)
	js, _ := json.Marshal(l)
	for _, s := range []string{fmt.Sprint(l), fmt.Sprintf("%v %+v %#v %s %q %x %d", l, l, l, l, l, l, l), string(js), logged.String(), l.String()} {
		if strings.Contains(s, pw) || strings.Contains(s, l.Reveal("username")) {
			t.Fatalf("lease leaked its data: %s", s)
		}
	}
}

// TestDynamicPostureAndCounts: the posture names the renewal controls and
// the lease's age; lease-count events follow rotations and Close.
func TestDynamicPostureAndCounts(t *testing.T) {
	f := newDynFixture(t, 60*time.Second, 60*time.Second)
	ctx := context.Background()
	cfg := f.config()
	cfg.Name = "orders-db"
	d, err := f.ops.Dynamic(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := cfg.Posture.Report()
	names := map[string]paved.Control{}
	for _, c := range rep.Controls {
		if c.Component != "secrets" || c.Instance != "dynamic:orders-db" {
			t.Fatalf("control of %s/%s", c.Component, c.Instance)
		}
		names[c.Name] = c
	}
	for _, n := range []string{"lease-renewal", "lease-revocation", "lease"} {
		if !names[n].Enabled {
			t.Fatalf("control %s missing or disabled: %+v", n, rep.Controls)
		}
	}
	if got := names["lease"].Detail; got != "database/creds/t: age 0s, expires in 1m0s, renewable true, live leases 1" {
		t.Fatalf("lease detail %q", got)
	}
	if f.events.count(paved.EventLeaseCount, "live") != 1 {
		t.Fatal("no lease-count event at start")
	}
	step(t, f.clock, 1, 40*time.Second) // capped: 20s left, a third of 60s: rotation at once
	waitFor(t, "the rotation's lease count", func() bool { return f.events.count(paved.EventLeaseCount, "live") == 2 })
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.events.count(paved.EventLeaseCount, "live"); got != 3 {
		t.Fatalf("%d lease-count events, want 3 (start, rotation, Close)", got)
	}
}

// TestDynamicCloseDuringRotation: Close while OnRotate runs (it gives up
// when its context ends, as a pool's Ping does) leaves no lease in Vault:
// the rejected new lease is revoked although the renewal context is
// cancelled, and OnRotate is not called again after Close.
func TestDynamicCloseDuringRotation(t *testing.T) {
	f := newDynFixture(t, 60*time.Second, 60*time.Second)
	ctx := context.Background()
	cfg := f.config()
	entered := make(chan struct{}, 4)
	var calls atomic.Int64
	cfg.OnRotate = func(ctx context.Context, _, _ *secrets.Lease) error {
		calls.Add(1)
		entered <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	d, err := f.ops.Dynamic(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	step(t, f.clock, 1, 40*time.Second) // capped: 20s left, a third of 60s: rotation at once
	<-entered
	if n := f.leases(); n != 2 {
		t.Fatalf("%d leases during the rotation, want 2", n)
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.leases(); n != 0 {
		t.Fatalf("%d leases left in Vault after Close, want 0", n)
	}
	if n := d.LiveLeases(); n != 0 {
		t.Fatalf("LiveLeases %d after Close, want 0", n)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("OnRotate called %d times, want 1", n)
	}
}

// TestDynamicAndPKINoGoroutinesAfterClose: after rotations and Close, no
// renewal, rotation or revocation goroutine is left.
func TestDynamicAndPKINoGoroutinesAfterClose(t *testing.T) {
	before := runtime.NumGoroutine()
	f := newDynFixture(t, 60*time.Second, 60*time.Second)
	ctx := context.Background()
	d, err := f.ops.Dynamic(ctx, f.config())
	if err != nil {
		t.Fatal(err)
	}
	pf := newPKIFixture(t)
	p, err := pf.ops.PKI(ctx, pf.config())
	if err != nil {
		t.Fatal(err)
	}
	step(t, f.clock, 1, 40*time.Second) // capped: the lease rotates
	waitFor(t, "the rotation", func() bool { return f.events.count(paved.EventSecretRotation, "max_ttl") == 1 })
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}
