package pgxsecrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
)

// DefaultDrainTimeout is Config.DrainTimeout's default.
const DefaultDrainTimeout = 30 * time.Second

// Config configures a [Pool].
type Config struct {
	// ConnString is the database's connection string without
	// credentials, such as
	// "postgres://db.internal:5432/app?sslmode=verify-full"; the user and
	// password come from the lease. Required.
	ConnString string
	// Dynamic configures the lease: Path (such as "database/creds/app")
	// is required; OnRotate must be nil, since the Pool handles rotations.
	Dynamic secrets.DynamicConfig
	// Configure, when set, adjusts each pool's configuration before it is
	// created (pool sizes, AfterConnect, tracers); it must not change the
	// credentials.
	Configure func(*pgxpool.Config)
	// UsernameKey and PasswordKey name the lease's fields. Defaults
	// "username" and "password", as Vault's database engine issues.
	UsernameKey, PasswordKey string
	// DrainTimeout bounds how long a rotation waits for requests on the
	// old pool to finish before closing it and revoking its lease.
	// Default 30s.
	DrainTimeout time.Duration
	// Logger logs rotations of the pool. Default slog.Default().
	Logger *slog.Logger
}

// A Pool is a PostgreSQL connection pool whose credentials are a Vault
// lease, swapped on rotation without dropping requests.
type Pool struct {
	cfg  Config
	base *pgxpool.Config
	d    *secrets.Dynamic
	cur  atomic.Pointer[generation]
	mu   sync.Mutex // serializes swaps with Close
	done bool
}

// generation is one pool and the calls in flight on it. A call holds a
// read lock from picking the pool until it has its connection; retiring
// takes the write lock, so it waits for those calls, while a call that
// comes during the retirement fails TryRLock at once and moves to the newer
// pool (already current by then): no caller ever waits for a rotation.
type generation struct {
	pool *pgxpool.Pool
	user string
	mu   sync.RWMutex
}

func newGeneration(pool *pgxpool.Pool, user string) *generation {
	return &generation{pool: pool, user: user}
}

// enter registers a call on g; false when g is retiring.
func (g *generation) enter() bool { return g.mu.TryRLock() }

func (g *generation) leave() { g.mu.RUnlock() }

// retire stops new calls on g and waits (up to timeout) for the calls in
// flight to pick their connections, then closes the pool, which waits for
// those connections to be released (also within timeout). g stays locked:
// it is never used again.
func (g *generation) retire(timeout time.Duration) {
	// One deadline for both waits: its Done stays closed once passed (a
	// timer's channel fires once, so a second wait on it would block
	// until the pool closed, however long a held connection takes).
	deadline, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	locked := make(chan struct{})
	go func() { g.mu.Lock(); close(locked) }()
	select {
	case <-locked:
	case <-deadline.Done():
	}
	closed := make(chan struct{})
	go func() { g.pool.Close(); close(closed) }()
	select {
	case <-closed:
	case <-deadline.Done():
	}
}

// New fetches credentials through c (failing closed as
// [secrets.Client.Dynamic] does), connects a pool with them, and keeps it
// current across rotations until [Pool.Close].
func New(ctx context.Context, c *secrets.Client, cfg Config) (*Pool, error) {
	base, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	p := &Pool{cfg: cfg, base: base}
	if p.cfg.UsernameKey == "" {
		p.cfg.UsernameKey = "username"
	}
	if p.cfg.PasswordKey == "" {
		p.cfg.PasswordKey = "password"
	}
	if p.cfg.DrainTimeout <= 0 {
		p.cfg.DrainTimeout = DefaultDrainTimeout
	}
	if p.cfg.Logger == nil {
		p.cfg.Logger = slog.Default()
	}
	dc := cfg.Dynamic
	dc.OnRotate = p.rotate
	if dc.Logger == nil {
		dc.Logger = p.cfg.Logger
	}
	d, err := c.Dynamic(ctx, dc)
	if err != nil {
		return nil, err
	}
	p.d = d
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur.Load() == nil { // a rotation may have come first
		g, err := p.open(ctx, d.Current())
		if err != nil {
			_ = d.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("pgxsecrets: connecting with the credentials of %s: %w", dc.Path, err)
		}
		p.cur.Store(g)
	}
	return p, nil
}

func (cfg Config) validate() (*pgxpool.Config, error) {
	var errs []error
	base, err := pgxpool.ParseConfig(cfg.ConnString)
	switch {
	case cfg.ConnString == "":
		errs = append(errs, &paved.ConfigError{Component: "pgxsecrets", Field: "Config.ConnString", Problem: "empty",
			Fix: `want the database without credentials, such as "postgres://db.internal:5432/app?sslmode=verify-full"`})
	case err != nil:
		errs = append(errs, &paved.ConfigError{Component: "pgxsecrets", Field: "Config.ConnString", Problem: "not a PostgreSQL connection string",
			Fix: `want such as "postgres://db.internal:5432/app?sslmode=verify-full"`})
	case base.ConnConfig.Password != "":
		errs = append(errs, &paved.ConfigError{Component: "pgxsecrets", Field: "Config.ConnString", Problem: "holds a password",
			Fix: "leave the credentials out: they come from the lease"})
	}
	if cfg.Dynamic.OnRotate != nil {
		errs = append(errs, &paved.ConfigError{Component: "pgxsecrets", Field: "Config.Dynamic.OnRotate", Problem: "set",
			Fix: "leave it nil: the Pool swaps itself on rotation"})
	}
	if cfg.Dynamic.Path == "" {
		errs = append(errs, &paved.ConfigError{Component: "pgxsecrets", Field: "Config.Dynamic.Path", Problem: "empty",
			Fix: `want the path that issues the credentials, such as "database/creds/app"`})
	}
	if cfg.DrainTimeout < 0 {
		errs = append(errs, &paved.ConfigError{Component: "pgxsecrets", Field: "Config.DrainTimeout", Problem: "negative",
			Fix: "want 0 (default 30s) or more"})
	}
	return base, errors.Join(errs...)
}

// open connects a pool with l's credentials and checks that it logs in.
func (p *Pool) open(ctx context.Context, l *secrets.Lease) (*generation, error) {
	pc := p.base.Copy()
	if p.cfg.Configure != nil {
		p.cfg.Configure(pc)
	}
	user := l.Reveal(p.cfg.UsernameKey)
	pc.ConnConfig.User = user
	pc.ConnConfig.Password = l.Reveal(p.cfg.PasswordKey)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, err
	}
	return newGeneration(pool, user), nil
}

// rotate is the Dynamic's OnRotate: the new pool must log in before it
// takes over; the old one drains before the old lease is revoked.
func (p *Pool) rotate(ctx context.Context, _, nl *secrets.Lease) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return errors.New("pgxsecrets: pool closed")
	}
	g, err := p.open(ctx, nl)
	if err != nil {
		return fmt.Errorf("pgxsecrets: the rotated credentials do not connect: %w", err)
	}
	old := p.cur.Swap(g)
	p.cfg.Logger.InfoContext(ctx, "pgxsecrets: pool rotated to fresh credentials", "path", nl.Path(), "user", g.user)
	if old != nil {
		old.retire(p.cfg.DrainTimeout)
	}
	return nil
}

// enter returns the generation in use, with a call registered on it.
func (p *Pool) enter() (*generation, error) {
	for {
		g := p.cur.Load()
		if g == nil {
			return nil, errors.New("pgxsecrets: pool closed")
		}
		if g.enter() {
			return g, nil
		}
		// g is retiring: a newer one is already current, or the Pool
		// closed. Yield so the retirement's Lock can be taken.
		runtime.Gosched()
	}
}

// Exec runs sql on the pool in use.
func (p *Pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	g, err := p.enter()
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer g.leave()
	return g.pool.Exec(ctx, sql, args...)
}

// Query runs sql on the pool in use; the rows hold their connection (and
// keep a retiring pool open) until closed.
func (p *Pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	g, err := p.enter()
	if err != nil {
		return nil, err
	}
	defer g.leave()
	return g.pool.Query(ctx, sql, args...)
}

// QueryRow runs sql on the pool in use.
func (p *Pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	g, err := p.enter()
	if err != nil {
		return errRow{err}
	}
	defer g.leave()
	return g.pool.QueryRow(ctx, sql, args...)
}

// Begin starts a transaction on the pool in use.
func (p *Pool) Begin(ctx context.Context) (pgx.Tx, error) {
	g, err := p.enter()
	if err != nil {
		return nil, err
	}
	defer g.leave()
	return g.pool.Begin(ctx)
}

// Acquire takes a connection from the pool in use; Release it promptly, as
// a held connection delays the retirement of its pool after a rotation (up
// to Config.DrainTimeout).
func (p *Pool) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	g, err := p.enter()
	if err != nil {
		return nil, err
	}
	defer g.leave()
	return g.pool.Acquire(ctx)
}

// Ping checks the pool in use.
func (p *Pool) Ping(ctx context.Context) error {
	g, err := p.enter()
	if err != nil {
		return err
	}
	defer g.leave()
	return g.pool.Ping(ctx)
}

// Stat returns the statistics of the pool in use.
func (p *Pool) Stat() *pgxpool.Stat {
	g := p.cur.Load()
	if g == nil {
		return nil
	}
	return g.pool.Stat()
}

// User returns the database user of the pool in use (not a secret: the
// password is).
func (p *Pool) User() string {
	if g := p.cur.Load(); g != nil {
		return g.user
	}
	return ""
}

// Dynamic returns the lease manager behind the pool.
func (p *Pool) Dynamic() *secrets.Dynamic { return p.d }

// Check is the readiness check: the lease's ([secrets.Dynamic.Check]).
func (p *Pool) Check(ctx context.Context) error { return p.d.Check(ctx) }

// Close closes the pool (waiting for the calls in flight, up to
// Config.DrainTimeout) and revokes the lease.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	p.done = true
	g := p.cur.Swap(nil)
	p.mu.Unlock()
	if g != nil {
		g.retire(p.cfg.DrainTimeout)
	}
	return p.d.Close(ctx)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
