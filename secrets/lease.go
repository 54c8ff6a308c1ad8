package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/backoff"
)

// ErrLeaseExpired is returned (wrapped) by [Dynamic.Check] once the current
// lease has expired without a fresh one to replace it: its credentials no
// longer work.
var ErrLeaseExpired = errors.New("secrets: dynamic secret's lease expired")

// liveLeases counts the leases this process holds and has not revoked or
// seen expire, over every [Dynamic]; it is the Value of EventLeaseCount.
var liveLeases atomic.Int64

// DynamicConfig configures a dynamic secret: a credential Vault issues with
// a lease, such as database/creds/ROLE. The zero value of every field but
// Path is the default.
type DynamicConfig struct {
	// Path issues the secret, such as "database/creds/app". Required.
	Path string
	// Data, when non-nil, is written to Path to issue the secret (for an
	// engine that issues on write); otherwise Path is read.
	Data map[string]any
	// OnRotate is called when a fresh secret is to replace the current one
	// (renewal refused, max TTL near, or a re-login), with the lease in use
	// and the new one. Returning nil says the new one is in use: it becomes
	// [Dynamic.Current] and the old lease is revoked. Returning an error
	// keeps the old one, revokes the new one and retries later with
	// backoff. It runs on the renewal goroutine, never concurrently with
	// itself, and not once Close has begun; its ctx ends when Close
	// begins (the new lease is then revoked, whatever it returns).
	// Default: none (readers of Current see the new lease at once).
	OnRotate func(ctx context.Context, old, new *Lease) error
	// Name names this secret in events, logs and the posture report.
	// Default: Path.
	Name string
	// Retry is the backoff between failed fetches, renewals and
	// revocations. Default: base 500ms, cap 30s (always jittered).
	Retry backoff.Policy
	// StartAttempts bounds the fetches [NewDynamic] makes before failing
	// closed. Default 3.
	StartAttempts int
	// Clock schedules renewals. Default: the Client's clock.
	Clock Clock
	// Events receives renewal, rotation, failure and lease-count events.
	// Default: paved.DefaultSink at the time of each event.
	Events paved.Sink
	// Posture records the renewal controls and the lease's age. Default:
	// paved.DefaultPosture().
	Posture *paved.Posture
	// Logger logs rotations and failures. Default: slog.Default().
	Logger *slog.Logger
}

// A Lease is one issued dynamic secret. Its data is revealed only through
// [Lease.Reveal]; every other way of printing or encoding it is redacted.
// A Lease is safe for concurrent use; its expiry moves forward on renewal.
type Lease struct {
	id        string
	path      string
	data      map[string]Secret
	user, pw  Secret // data["username"], data["password"]: the hot path of database credentials
	renewable bool
	issued    time.Time
	duration  time.Duration // the first TTL granted: the increment asked at each renewal
	expires   atomic.Int64  // Unix nanoseconds
}

// ID returns the lease ID (it names the lease; it is not the secret).
func (l *Lease) ID() string { return l.id }

// Path returns the path that issued the lease.
func (l *Lease) Path() string { return l.path }

// Issued returns when the lease was issued.
func (l *Lease) Issued() time.Time { return l.issued }

// Expires returns when the lease ends unless renewed.
func (l *Lease) Expires() time.Time { return time.Unix(0, l.expires.Load()) }

// Renewable reports whether Vault said the lease can be renewed.
func (l *Lease) Renewable() bool { return l.renewable }

// Secret returns the value of key in the secret's data ("username",
// "password"), or the zero Secret when there is none (or it is not a
// string). It does not allocate.
func (l *Lease) Secret(key string) Secret { return l.data[key] }

// Username returns the secret's "username" (database engines issue one),
// without a map lookup.
func (l *Lease) Username() Secret { return l.user }

// Password returns the secret's "password", without a map lookup.
func (l *Lease) Password() Secret { return l.pw }

// Reveal returns the plain value of key: l.Secret(key).Reveal().
func (l *Lease) Reveal(key string) string { return l.data[key].Reveal() }

// Has reports whether the secret's data has key.
func (l *Lease) Has(key string) bool {
	_, ok := l.data[key]
	return ok
}

// String describes the lease without its data.
func (l *Lease) String() string {
	if l == nil {
		return "<nil lease>"
	}
	return fmt.Sprintf("lease %s (data redacted, expires %s)", l.path, l.Expires().UTC().Format(time.RFC3339))
}

// GoString is String, so %#v does not print the data.
func (l *Lease) GoString() string { return l.String() }

// Format prints String for every verb.
func (l *Lease) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(l.String())) }

// LogValue logs the path and expiry only.
func (l *Lease) LogValue() slog.Value {
	return slog.GroupValue(slog.String("path", l.path), slog.Time("expires", l.Expires()), slog.String("data", "REDACTED"))
}

// MarshalJSON encodes the path and expiry only.
func (l *Lease) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"path":%q,"expires":%q,"data":"REDACTED"}`, l.path, l.Expires().UTC().Format(time.RFC3339)), nil
}

// A Dynamic keeps one dynamic secret valid: it renews the lease at about 2/3
// of each granted duration, fetches a fresh secret when the lease cannot be
// renewed further (max TTL: with a third of the lease's duration left),
// when Vault refuses a renewal, or after the
// backend logs in again (leases die with the token that created them), and
// revokes the old lease once the new one is in use. It never holds more
// than two leases (the one in use and, during a rotation, its successor),
// and one at rest: nothing else fetches the path, so no refresh of static
// secrets can mint leases (vault#14531, vault#29507).
//
// Current is a lock-free load: renewals and rotations never block it.
//
// The Client's token needs, beside read on Path, update on
// sys/leases/renew and sys/leases/revoke (Vault's default policy grants
// renew, not revoke). A revocation the policy denies is not retried and
// does not cause a re-login: the old lease is left to expire on its own,
// and a secrets.failure event (reason "revoke") says so.
type Dynamic struct {
	ops   leaseOps
	cfg   DynamicConfig
	name  string
	clock Clock
	reg   *paved.Registration

	cur     atomic.Pointer[Lease]
	failing atomic.Pointer[dynFailure]
	held    atomic.Int64 // leases of this Dynamic not yet revoked

	relogin  chan struct{} // a re-login happened: the lease died with the old token
	unsub    func()        // ends the re-login subscription (at Close)
	loginGen atomic.Uint64 // the newest re-login heard of
	leaseGen uint64        // the login generation the current lease was fetched under (renewal goroutine)

	// Owned by the renewal goroutine (and NewDynamic before it starts).
	grantAt  time.Time
	grantTTL time.Duration
	final    bool // Vault granted less than asked: the lease ends at its max TTL

	stop     context.CancelFunc
	done     chan struct{}
	stopping chan struct{}
	revokes  sync.WaitGroup
	once     sync.Once
}

type dynFailure struct {
	err   error
	since time.Time
}

// Dynamic fetches the secret at cfg.Path (retrying up to
// cfg.StartAttempts times with backoff, then failing closed with an error
// that says what failed) and keeps it renewed until [Dynamic.Close].
func (c *Client) Dynamic(ctx context.Context, cfg DynamicConfig) (*Dynamic, error) {
	if c == nil {
		return nil, &paved.ConfigError{Component: "secrets", Field: "Client", Problem: "nil", Fix: "create it with secrets.New"}
	}
	if cfg.Clock == nil {
		cfg.Clock = c.cfg.Clock
	}
	return newDynamic(ctx, c.leaseOps(), cfg)
}

func newDynamic(ctx context.Context, ops leaseOps, cfg DynamicConfig) (*Dynamic, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &Dynamic{ops: ops, cfg: cfg, name: cmpOr(cfg.Name, cfg.Path), clock: cfg.Clock, relogin: make(chan struct{}, 1)}
	if d.clock == nil {
		d.clock = SystemClock{}
	}
	if d.cfg.Retry.Base <= 0 {
		d.cfg.Retry.Base = 500 * time.Millisecond
	}
	if d.cfg.StartAttempts <= 0 {
		d.cfg.StartAttempts = 3
	}
	// Subscribe before the first fetch, so that a re-login during it is
	// not missed.
	d.unsub = ops.subscribeLogin(func(gen uint64) {
		for {
			old := d.loginGen.Load()
			if gen <= old || d.loginGen.CompareAndSwap(old, gen) {
				break
			}
		}
		select {
		case d.relogin <- struct{}{}:
		default:
		}
	})
	var l *Lease
	var err error
	d.leaseGen = ops.generation()
	for attempt := range d.cfg.StartAttempts {
		if attempt > 0 {
			if serr := d.sleep(ctx, d.cfg.Retry.Delay(attempt-1)); serr != nil {
				d.unsub()
				return nil, fmt.Errorf("secrets: dynamic secret %s: %w (last error: %w)", d.name, serr, err)
			}
		}
		if l, err = d.fetch(ctx); err == nil {
			break
		}
		d.emit(ctx, paved.EventSecretFailure, paved.OutcomeFailure, "fetch", 0)
		if refused(err) {
			break
		}
	}
	if err != nil {
		d.unsub()
		return nil, fmt.Errorf("secrets: dynamic secret %s: start-up fetch of %s failed: %w", d.name, cfg.Path, err)
	}
	d.cur.Store(l)
	d.grant(l, l.duration)
	d.reg = paved.PostureOrDefault(cfg.Posture).Register("secrets", "dynamic:"+d.name)
	d.reg.SetControl("lease-renewal", true, "renewed at 2/3 of each lease; a fresh secret before max TTL, on refusal and after a re-login; at most one live lease at rest")
	d.reg.SetControl("lease-revocation", true, "the old lease revoked once the new one is in use; the current one revoked at Close")
	d.posture()
	d.emit(ctx, paved.EventSecretRotation, paved.OutcomeSuccess, "issued", 0)
	d.emitCount(ctx)

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.stop, d.done, d.stopping = stop, make(chan struct{}), make(chan struct{})
	go d.run(runCtx)
	return d, nil
}

func (cfg DynamicConfig) validate() error {
	var errs []error
	if p := strings.Trim(cfg.Path, "/"); p == "" || strings.Contains(p, "//") || strings.ContainsAny(p, " #?") {
		errs = append(errs, &paved.ConfigError{Component: "secrets", Field: "DynamicConfig.Path", Problem: fmt.Sprintf("%q is not a Vault path", cfg.Path), Fix: `want a path that issues a lease, such as "database/creds/app"`})
	}
	if cfg.StartAttempts < 0 {
		errs = append(errs, &paved.ConfigError{Component: "secrets", Field: "DynamicConfig.StartAttempts", Problem: "negative", Fix: "want 0 (default 3) or more"})
	}
	return errors.Join(errs...)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Current returns the lease in use. It never returns nil before Close and
// does not allocate.
func (d *Dynamic) Current() *Lease { return d.cur.Load() }

// LiveLeases returns how many leases this secret holds that are neither
// revoked nor known to be expired: 1 at rest, 2 during a rotation.
func (d *Dynamic) LiveLeases() int { return int(d.held.Load()) }

// Check reports readiness: nil when the lease is valid and renewals work, an
// error wrapping [httpx.ErrDegraded] while renewals fail but the lease is
// still valid, and one wrapping [ErrLeaseExpired] once it has expired.
func (d *Dynamic) Check(context.Context) error {
	l := d.cur.Load()
	if l == nil {
		return fmt.Errorf("secrets: dynamic secret %s closed: %w", d.name, ErrLeaseExpired)
	}
	if !d.clock.Now().Before(l.Expires()) {
		return fmt.Errorf("secrets: dynamic secret %s: %w", d.name, ErrLeaseExpired)
	}
	if f := d.failing.Load(); f != nil {
		return fmt.Errorf("secrets: dynamic secret %s: renewal failing since %s (%v), serving the current lease until %s: %w",
			d.name, f.since.UTC().Format(time.RFC3339), f.err, l.Expires().UTC().Format(time.RFC3339), httpx.ErrDegraded)
	}
	return nil
}

// Close stops renewing and revokes the current lease (and waits for pending
// revocations) within ctx. Close it before the Client: the revocation
// runs with the Client's token.
func (d *Dynamic) Close(ctx context.Context) error {
	var err error
	d.once.Do(func() {
		close(d.stopping)
		if d.unsub != nil {
			d.unsub()
		}
		d.stop()
		<-d.done
		if l := d.cur.Swap(nil); l != nil {
			err = d.revokeNow(ctx, l)
		}
		waited := make(chan struct{})
		go func() { d.revokes.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-ctx.Done():
			err = errors.Join(err, ctx.Err())
		}
		d.emitCount(ctx)
	})
	return err
}

func (d *Dynamic) fetch(ctx context.Context) (*Lease, error) {
	var r *Response
	err := d.ops.call(ctx, "lease.fetch", func(b Backend, token string) (err error) {
		if d.cfg.Data != nil {
			r, err = b.Write(ctx, token, d.cfg.Path, d.cfg.Data)
		} else {
			r, err = b.Read(ctx, token, d.cfg.Path)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if r == nil || r.LeaseID == "" || r.LeaseDuration <= 0 {
		return nil, fmt.Errorf("%w: %s answered without a lease (a static secret? read it as KV)", ErrInvalidRequest, d.cfg.Path)
	}
	now := d.clock.Now()
	l := &Lease{id: r.LeaseID, path: d.cfg.Path, data: secretData(r.Data), renewable: r.Renewable, issued: now,
		duration: r.LeaseDuration}
	l.user, l.pw = l.data["username"], l.data["password"]
	l.expires.Store(now.Add(l.duration).UnixNano())
	d.held.Add(1)
	liveLeases.Add(1)
	return l, nil
}

// secretData keeps the string values of data, each as a [Secret].
func secretData(data map[string]any) map[string]Secret {
	out := make(map[string]Secret, len(data))
	for k, v := range data {
		if s, ok := v.(string); ok {
			out[k] = NewSecret(s)
		}
	}
	return out
}

func (d *Dynamic) grant(l *Lease, ttl time.Duration) {
	d.grantAt, d.grantTTL = d.clock.Now(), ttl
	l.expires.Store(d.grantAt.Add(ttl).UnixNano())
}

func (d *Dynamic) run(ctx context.Context) {
	defer close(d.done)
	attempt := 0 // failed renewals in a row
	for {
		l := d.cur.Load()
		var wait time.Duration
		if attempt > 0 {
			wait = min(d.cfg.Retry.Delay(attempt-1), max(l.Expires().Sub(d.clock.Now()), time.Millisecond))
		} else {
			wait = max(d.grantAt.Add(d.due(l)).Sub(d.clock.Now()), 0)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.relogin:
			if d.loginGen.Load() <= d.leaseGen {
				continue // the current lease is from that login or a later one
			}
			d.rotate(ctx, "relogin")
			attempt = 0
			continue
		case <-d.clock.After(wait):
		}
		if !l.renewable || d.final {
			d.rotate(ctx, cond(d.final, "max_ttl", "not_renewable"))
			attempt = 0
			continue
		}
		err := d.renew(ctx, l)
		switch {
		case err == nil:
			attempt = 0
		case ctx.Err() != nil:
			return
		case refused(err):
			d.rotate(ctx, "renewal_refused")
			attempt = 0
		case !d.clock.Now().Before(l.Expires()):
			d.rotate(ctx, "expired")
			attempt = 0
		default:
			attempt++
		}
	}
}

// due is when, after the last grant, l is renewed (at 2/3 of the grant)
// or, when the grant was the last (capped at max TTL), rotated: with a
// third of the lease's duration left, the margin a renewal has, so the
// swap has that long before the old lease ends. Vault caps a renewal at
// max TTL minus now, at least the third of a duration the renewal left,
// so that moment has not passed; 2/3 of a capped grant could leave a
// fraction of a second.
func (d *Dynamic) due(l *Lease) time.Duration {
	if d.final {
		return max(d.grantTTL-l.duration/3, 0)
	}
	return d.grantTTL * 2 / 3
}

func cond(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

func (d *Dynamic) renew(ctx context.Context, l *Lease) error {
	start := d.clock.Now()
	var s *Response
	err := d.ops.call(ctx, "lease.renew", func(b Backend, token string) (err error) {
		s, err = RenewLease(ctx, b, token, l.id, l.duration)
		return err
	})
	if err == nil && (s == nil || s.LeaseDuration <= 0) {
		err = fmt.Errorf("%w: renewal of %s granted no time", ErrInvalidRequest, l.path)
		if s != nil && s.LeaseDuration == 0 {
			// Vault renews to zero at max TTL: nothing left to extend.
			d.final = true
			d.emit(ctx, paved.EventSecretRenewal, paved.OutcomeFailure, "max_ttl", 0)
			return nil
		}
	}
	if err != nil {
		if d.failing.Load() == nil {
			d.failing.Store(&dynFailure{err: err, since: start})
		}
		d.emit(ctx, paved.EventSecretFailure, paved.OutcomeFailure, cond(refused(err), "renewal_refused", "renewal_error"), 0)
		d.log().WarnContext(ctx, "secrets: lease renewal failed", "secret", d.name, "error", err, "expires", l.Expires())
		return err
	}
	ttl := s.LeaseDuration
	if ttl < l.duration {
		// Vault capped the renewal at the lease's max TTL: rotate at 2/3
		// of what is left instead of renewing again.
		d.final = true
	}
	d.grant(l, ttl)
	d.failing.Store(nil)
	d.posture()
	if paved.EventsEnabled(ctx, d.cfg.Events, paved.EventSecretRenewal) {
		e := d.event(paved.EventSecretRenewal, paved.OutcomeSuccess, cond(d.final, "capped", "renewed"), ttl.Seconds())
		e.Duration = d.clock.Now().Sub(start)
		paved.Emit(ctx, d.cfg.Events, e)
	}
	return nil
}

// rotate fetches a fresh secret, hands it to OnRotate, makes it current and
// revokes the old lease. It retries with backoff until it succeeds or ctx
// ends; the old lease keeps serving meanwhile.
func (d *Dynamic) rotate(ctx context.Context, reason string) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if d.sleep(ctx, d.cfg.Retry.Delay(attempt-1)) != nil {
				return
			}
		}
		gen := d.ops.generation()
		nl, err := d.fetch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.noteFailure(ctx, err, "fetch")
			continue
		}
		if ctx.Err() != nil {
			// Closed during the fetch: the new lease is never used.
			d.discard(ctx, nl)
			return
		}
		old := d.cur.Load()
		if d.cfg.OnRotate != nil {
			if err := d.callback(ctx, old, nl); err != nil {
				d.noteFailure(ctx, err, "rotate_callback")
				d.discard(ctx, nl)
				if ctx.Err() != nil {
					return
				}
				continue
			}
		}
		d.cur.Store(nl)
		d.leaseGen = gen
		d.grant(nl, nl.duration)
		d.final = false
		d.failing.Store(nil)
		d.posture()
		d.log().InfoContext(ctx, "secrets: dynamic secret rotated", "secret", d.name, "reason", reason, "expires", nl.Expires())
		d.emit(ctx, paved.EventSecretRotation, paved.OutcomeSuccess, reason, 0)
		d.revokeLater(old)
		return
	}
}

func (d *Dynamic) callback(ctx context.Context, old, nl *Lease) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("secrets: OnRotate panicked: %v", r)
		}
	}()
	return d.cfg.OnRotate(ctx, old, nl)
}

func (d *Dynamic) noteFailure(ctx context.Context, err error, reason string) {
	if d.failing.Load() == nil {
		d.failing.Store(&dynFailure{err: err, since: d.clock.Now()})
	}
	d.emit(ctx, paved.EventSecretFailure, paved.OutcomeFailure, reason, 0)
	d.log().WarnContext(ctx, "secrets: dynamic secret rotation failed", "secret", d.name, "step", reason, "error", err)
}

// revokeNow revokes l once, bounded by ctx and 10 seconds.
func (d *Dynamic) revokeNow(ctx context.Context, l *Lease) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := d.revoke(ctx, l)
	if err == nil {
		d.dropped()
		return nil
	}
	d.emit(ctx, paved.EventSecretFailure, paved.OutcomeFailure, "revoke", 0)
	return fmt.Errorf("secrets: revoking the lease of %s: %w", d.name, err)
}

// discard revokes nl, a lease that was never put in use: at once, or in
// the background (where Close waits for it) when ctx has ended (Close
// cancelled it: a revocation with it would not be sent, and the lease
// would outlive the process) or the revocation failed.
func (d *Dynamic) discard(ctx context.Context, nl *Lease) {
	if ctx.Err() == nil && d.revokeNow(ctx, nl) == nil {
		return
	}
	d.revokeLater(nl)
}

// revokeLater revokes l in the background, retrying with backoff while the
// lease is alive (a dead lease needs no revocation) and at most 5 times.
func (d *Dynamic) revokeLater(l *Lease) {
	d.revokes.Add(1)
	go func() {
		defer d.revokes.Done()
		defer d.emitCount(context.Background())
		for attempt := range 5 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := d.revoke(ctx, l)
			cancel()
			if err == nil {
				d.dropped()
				return
			}
			d.emit(context.Background(), paved.EventSecretFailure, paved.OutcomeFailure, "revoke", 0)
			if refused(err) || !d.clock.Now().Before(l.Expires()) {
				d.dropped() // refused for good or expired: nothing left to do
				d.log().Warn("secrets: old lease not revoked", "secret", d.name, "error", err, "expires", l.Expires())
				return
			}
			select {
			case <-d.stopping: // Close: one last try at once
			case <-d.clock.After(d.cfg.Retry.Delay(attempt)):
			}
		}
		d.dropped()
	}()
}

func (d *Dynamic) revoke(ctx context.Context, l *Lease) error {
	return d.ops.call(ctx, "lease.revoke", func(b Backend, token string) error {
		return RevokeLease(ctx, b, token, l.id)
	})
}

func (d *Dynamic) dropped() {
	d.held.Add(-1)
	liveLeases.Add(-1)
}

// sleep waits d on the clock or until ctx ends.
func (d *Dynamic) sleep(ctx context.Context, dur time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-d.clock.After(dur):
		return nil
	}
}

func (d *Dynamic) posture() {
	if d.reg == nil {
		return
	}
	l := d.cur.Load()
	now := d.clock.Now()
	d.reg.SetControl("lease", true, fmt.Sprintf("%s: age %s, expires in %s, renewable %t, live leases %d",
		d.cfg.Path, now.Sub(l.issued).Round(time.Second), l.Expires().Sub(now).Round(time.Second), l.renewable, d.held.Load()))
}

func (d *Dynamic) log() *slog.Logger {
	if d.cfg.Logger != nil {
		return d.cfg.Logger
	}
	return slog.Default()
}

func (d *Dynamic) event(t paved.EventType, o paved.Outcome, reason string, v float64) paved.Event {
	return paved.Event{Type: t, Time: d.clock.Now(), Component: "secrets", Outcome: o, Reason: reason, Value: v,
		Attrs: []slog.Attr{slog.String("secret", d.name), slog.String("path", d.cfg.Path)}}
}

func (d *Dynamic) emit(ctx context.Context, t paved.EventType, o paved.Outcome, reason string, v float64) {
	if paved.EventsEnabled(ctx, d.cfg.Events, t) {
		paved.Emit(ctx, d.cfg.Events, d.event(t, o, reason, v))
	}
}

func (d *Dynamic) emitCount(ctx context.Context) {
	d.emit(ctx, paved.EventLeaseCount, paved.OutcomeSuccess, "live", float64(liveLeases.Load()))
}
