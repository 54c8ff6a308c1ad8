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
	"github.com/pavedroad/paved/internal/backoff"
)

// A Client logs in to Vault, keeps its token alive, and serves secrets:
// static (KV) ones from a cache refreshed on an interval, dynamic ones
// through leases. Build one with [New]; it is safe for concurrent use.
// [Client.Close] stops its background work and revokes its token.
type Client struct {
	cfg     Config
	b       Backend
	ownsB   bool // b was built by New from Config.Vault: Close releases its connections
	reg     *paved.Registration
	method  string
	bo      backoff.Policy
	ctx     context.Context // ends at Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closeMu sync.Once

	tok atomic.Pointer[tokenState]
	gen atomic.Uint64

	loginMu   sync.Mutex // one login at a time
	loginSubs struct {
		sync.Mutex
		next int
		fns  map[int]func(uint64)
	}
	renewKick chan struct{}

	health atomic.Pointer[healthState]

	kv kvCache
}

type tokenState struct {
	token     string
	accessor  string
	gen       uint64
	issued    time.Time     // when this token (or its last renewal) was granted
	ttl       time.Duration // granted at issued
	loginTTL  time.Duration // granted by the login itself
	renewable bool
	expires   time.Time
}

// healthState is the client's view of Vault, for readiness and posture.
type healthState struct {
	ok        bool
	since     time.Time
	lastError string
}

// New validates cfg, logs in (retrying with backoff up to
// cfg.StartupAttempts times) and starts renewing the token. It fails
// closed: when Vault stays unreachable or refuses the login, it returns
// an *[Error] of reason [ReasonStartup] that names the address and the
// last cause. Cancelling ctx aborts the start-up; the Client's background
// work runs until [Client.Close].
func New(ctx context.Context, cfg Config) (*Client, error) {
	c0, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	b := c0.Backend
	if b == nil {
		b, err = newVaultBackend(c0.Vault, c0.InjectConcurrency)
		if err != nil {
			return nil, &paved.ConfigError{Component: Component, Field: "Config.Vault", Problem: err.Error(), Err: err}
		}
	}
	bg, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg:       c0,
		b:         b,
		ownsB:     c0.Backend == nil,
		method:    c0.Login.Method(),
		bo:        backoff.Policy{Base: c0.RetryBase, Cap: c0.RetryCap},
		ctx:       bg,
		cancel:    cancel,
		renewKick: make(chan struct{}, 1),
	}
	c.kv.init()
	c.reg = paved.PostureOrDefault(c0.Posture).Register(Component, c0.Name)
	for _, o := range c0.OptOuts {
		_ = c.reg.AddOptOut(o)
	}
	paved.PostureOrDefault(c0.Posture).LogOptOuts(ctx, c0.Logger)

	var last error
	for attempt := 0; attempt < c0.StartupAttempts; attempt++ {
		if attempt > 0 {
			if err := c.sleep(ctx, c.bo.Delay(attempt-1)); err != nil {
				last = err
				break
			}
		}
		last = c.login(ctx)
		if last == nil || !retryable(last) {
			break
		}
	}
	if last != nil {
		cancel()
		return nil, &Error{Op: "start", Reason: ReasonStartup, Target: c.target(), Err: last}
	}
	c.setHealth(true, "")
	c.updatePosture()
	select { // the first login's kick: the loop starts from this token anyway
	case <-c.renewKick:
	default:
	}
	c.wg.Add(1)
	go c.renewLoop()
	return c, nil
}

// target names what the client talks to, for errors and logs.
func (c *Client) target() string {
	if c.cfg.Backend == nil {
		return c.cfg.Vault.Address
	}
	if s, ok := c.cfg.Backend.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", c.cfg.Backend)
}

// Close stops the background work and revokes the client token (which
// revokes the leases it created), unless the token is the caller's own
// ([TokenLogin]): that one is left as it was. Calls through a closed
// client fail with [ReasonClosed]. It is safe to call more than once.
func (c *Client) Close(ctx context.Context) error {
	var err error
	c.closeMu.Do(func() {
		c.cancel()
		c.wg.Wait()
		// Under loginMu: a re-login that began before Close has installed
		// its token, and none begins after (they check c.ctx under it).
		c.loginMu.Lock()
		if t := c.tok.Load(); t != nil && c.method != "token" {
			err = revokeSelf(ctx, c.b, t.token)
		}
		c.loginMu.Unlock()
		c.setHealth(false, "closed")
		if vb, ok := c.b.(*vaultBackend); ok && c.ownsB && vb.hc != nil {
			// Idle keep-alive connections to Vault (two goroutines
			// each) would outlive the Client otherwise.
			vb.hc.CloseIdleConnections()
		}
	})
	return err
}

// Login logs in again now and replaces the client token, as the client
// does by itself when its token cannot be renewed. Call it after rotating
// the login credential. A client with a fixed token ([TokenLogin]) looks
// its token up again.
func (c *Client) Login(ctx context.Context) error {
	if c.ctx.Err() != nil {
		return &Error{Op: "login", Reason: ReasonClosed}
	}
	if err := c.login(ctx); err != nil {
		return &Error{Op: "login", Reason: reasonOf(err), Target: c.target(), Err: err}
	}
	return nil
}

// TokenAccessor returns the accessor of the current client token: it
// names the token (for an operator's lookup or revocation) without being
// it.
func (c *Client) TokenAccessor() string {
	if t := c.tok.Load(); t != nil {
		return t.accessor
	}
	return ""
}

// Backend returns the client's backend.
func (c *Client) Backend() Backend { return c.b }

// now returns the time of the client's clock.
func (c *Client) now() time.Time { return c.cfg.Clock.Now() }

// sleep waits d on the client's clock, or until ctx ends.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.cfg.Clock.After(d):
		return nil
	}
}

// backoffPolicy returns the retry policy of every loop of the client.
func (c *Client) backoffPolicy() backoff.Policy { return c.bo }

// emit sends e to the configured sink, filling Component.
func (c *Client) emit(ctx context.Context, e paved.Event) {
	if !paved.EventsEnabled(ctx, c.cfg.Events, e.Type) {
		return
	}
	e.Component = Component
	if e.Time.IsZero() {
		e.Time = c.now()
	}
	paved.Emit(ctx, c.cfg.Events, e)
}

// loginGeneration returns the number of successful logins so far; it
// changes whenever the client token is replaced.
func (c *Client) loginGeneration() uint64 { return c.gen.Load() }

// onLogin registers fn to be called, in its own goroutine, after every
// re-login (not the first login), with the new generation. Leases die
// with the token that created them, so the lease manager re-fetches them
// then. The returned function removes fn, so that a closed subscriber
// (a closed Dynamic) is not kept alive by the Client.
func (c *Client) onLogin(fn func(gen uint64)) (unsubscribe func()) {
	c.loginSubs.Lock()
	defer c.loginSubs.Unlock()
	if c.loginSubs.fns == nil {
		c.loginSubs.fns = make(map[int]func(uint64))
	}
	id := c.loginSubs.next
	c.loginSubs.next++
	c.loginSubs.fns[id] = fn
	return func() {
		c.loginSubs.Lock()
		delete(c.loginSubs.fns, id)
		c.loginSubs.Unlock()
	}
}

// call runs fn with the backend and the current token, as [Client.do]
// does (one re-login on ErrPermissionDenied). It is the lease manager's
// view of the client (with subscribeLogin).
func (c *Client) call(ctx context.Context, op string, fn func(b Backend, token string) error) error {
	_, err := c.do(ctx, op, func(tok string) (*Response, error) { return nil, fn(c.b, tok) })
	return err
}

// subscribeLogin is onLogin, under the lease manager's name.
func (c *Client) subscribeLogin(fn func(gen uint64)) (unsubscribe func()) { return c.onLogin(fn) }

// token returns the current client token ("" before the first login).
func (c *Client) token() string {
	if t := c.tok.Load(); t != nil {
		return t.token
	}
	return ""
}

// do runs fn with the current token. When fn fails with
// ErrPermissionDenied, the token may have expired or been revoked: do logs
// in again (unless another caller already did since fn started), after one
// backoff step, and runs fn once more with the new token. op names the
// operation in logs.
func (c *Client) do(ctx context.Context, op string, fn func(token string) (*Response, error)) (*Response, error) {
	t := c.tok.Load()
	if t == nil {
		return nil, &Error{Op: op, Reason: ReasonClosed, Err: errors.New("secrets: client has no token")}
	}
	if c.ctx.Err() != nil {
		// Closed: the token is revoked, and a re-login would mint one
		// that nothing revokes.
		return nil, &Error{Op: op, Reason: ReasonClosed}
	}
	r, err := fn(t.token)
	if err == nil || !errors.Is(err, ErrPermissionDenied) || c.method == "token" || !c.tokenInvalid(ctx, err, t.token) {
		c.observe(err)
		return r, err
	}
	if err2 := c.relogin(ctx, t.gen, op); err2 != nil {
		return nil, errors.Join(err, err2)
	}
	r, err = fn(c.token())
	c.observe(err)
	return r, err
}

// tokenInvalid reports whether err (a 403) means the token itself is no
// longer valid, rather than a policy that denies this path: Vault says
// "invalid token" then, and otherwise the token's own lookup tells. A
// denial by policy must not cause a login.
func (c *Client) tokenInvalid(ctx context.Context, err error, token string) bool {
	var se *StatusError
	if errors.As(err, &se) {
		if mentions(se.Messages, "invalid token") {
			return true
		}
		if mentions(se.Messages, "preflight") {
			return false
		}
	}
	_, lerr := c.b.Read(ctx, token, "auth/token/lookup-self")
	return errors.Is(lerr, ErrPermissionDenied)
}

// observe updates health from the outcome of a call to Vault.
func (c *Client) observe(err error) {
	switch {
	case err == nil:
		if h := c.health.Load(); h == nil || !h.ok {
			c.setHealth(true, "")
		}
	case retryable(err):
		c.setHealth(false, err.Error())
	}
}

// relogin logs in again unless the token generation already moved past
// seen. It waits one backoff step first, so that a storm of 403s makes at
// most one login per step.
func (c *Client) relogin(ctx context.Context, seen uint64, why string) error {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	if c.gen.Load() != seen {
		return nil
	}
	if c.ctx.Err() != nil {
		return &Error{Op: "login", Reason: ReasonClosed}
	}
	if err := c.sleep(ctx, c.bo.Delay(0)); err != nil {
		return err
	}
	c.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "secrets: logging in again", slog.String("cause", why), slog.String("method", c.method))
	return c.loginLocked(ctx)
}

// login performs a login and installs the new token.
func (c *Client) login(ctx context.Context) error {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	if c.ctx.Err() != nil {
		return &Error{Op: "login", Reason: ReasonClosed}
	}
	return c.loginLocked(ctx)
}

func (c *Client) loginLocked(ctx context.Context) error {
	start := c.now()
	a, err := c.cfg.Login.Login(ctx, c.b)
	if err != nil {
		c.emit(ctx, paved.Event{Type: paved.EventSecretFailure, Outcome: paved.OutcomeFailure, Reason: "login", Duration: c.now().Sub(start),
			Attrs: []slog.Attr{slog.String("method", c.method), slog.String("error", errClass(err))}})
		c.observe(err)
		return err
	}
	gen := c.gen.Add(1)
	now := c.now()
	ts := &tokenState{
		token: a.ClientToken.Reveal(), accessor: a.Accessor, gen: gen,
		issued: now, ttl: a.LeaseDuration, loginTTL: a.LeaseDuration, renewable: a.Renewable,
	}
	if a.LeaseDuration > 0 {
		ts.expires = now.Add(a.LeaseDuration)
	}
	c.tok.Store(ts)
	c.emit(ctx, paved.Event{Type: paved.EventSecretLogin, Outcome: paved.OutcomeSuccess, Reason: c.method, Duration: now.Sub(start),
		Attrs: []slog.Attr{slog.String("accessor", a.Accessor), slog.Duration("ttl", a.LeaseDuration), slog.Uint64("generation", gen)}})
	c.observe(nil)
	if gen > 1 {
		c.loginSubs.Lock()
		fns := make([]func(uint64), 0, len(c.loginSubs.fns))
		for _, fn := range c.loginSubs.fns {
			fns = append(fns, fn)
		}
		c.loginSubs.Unlock()
		for _, fn := range fns {
			go fn(gen)
		}
	}
	select {
	case c.renewKick <- struct{}{}:
	default:
	}
	c.updatePosture()
	return nil
}

// errClass names the class of err for events: the sentinel it wraps.
func errClass(err error) string {
	switch {
	case errors.Is(err, ErrPermissionDenied):
		return "permission_denied"
	case errors.Is(err, ErrSealed):
		return "sealed"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrInvalidRequest):
		return "invalid_request"
	case errors.Is(err, ErrLogin):
		return "login"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}

func (c *Client) setHealth(ok bool, why string) {
	old := c.health.Load()
	if old != nil && old.ok == ok && old.lastError == why {
		return
	}
	h := &healthState{ok: ok, lastError: why, since: c.now()}
	if old != nil && old.ok == ok {
		h.since = old.since
	}
	c.health.Store(h)
}

// updatePosture writes the client's controls.
func (c *Client) updatePosture() {
	if c.reg == nil {
		return
	}
	c.reg.SetControl("auth-method", c.method != "token", c.method)
	t := c.tok.Load()
	detail := "not logged in"
	if t != nil {
		detail = fmt.Sprintf("renewable=%t ttl=%s generation=%d", t.renewable, t.ttl, t.gen)
	}
	h := c.health.Load()
	ok := h != nil && h.ok
	if !ok && h != nil {
		detail += "; degraded since " + h.since.UTC().Format(time.RFC3339)
	}
	c.reg.SetControl("token-renewal", t != nil && (t.renewable || t.ttl == 0) && ok, detail)
	tls := true // an in-memory backend has no transport
	if ac := APIClient(c.b); ac != nil {
		tls = !hasPrefixFold(ac.Address(), "http:")
	}
	c.reg.SetControl("transport-tls", tls, c.target())
	c.reg.SetControl("staleness-bound", true, "static secrets served at most "+c.cfg.MaxStale.String()+" past their last good read; refresh every "+c.cfg.RefreshInterval.String())
}

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}
