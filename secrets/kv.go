package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pavedroad/paved"
)

// A Static is one key of a static (KV) secret, kept fresh by the
// [Client]: read from a cache that the client refreshes every
// Config.RefreshInterval, and during an outage of Vault served from the
// last good read for at most Config.MaxStale. Get one with
// [Client.Static]. Value is a single atomic load: call it on every use
// rather than copying the value out once.
type Static struct {
	ref  Ref
	p    *kvPath
	cur  atomic.Pointer[staticValue]
	subs struct {
		sync.Mutex
		fns []func(old, new Secret)
	}
}

type staticValue struct {
	val     Secret // with err set: the last good value (past the staleness bound), never served
	version int
	err     error
}

// Ref returns the reference s reads.
func (s *Static) Ref() Ref { return s.ref }

// Value returns the current value, or the error that replaced it: an
// *[Error] of reason [ReasonStale] past the staleness bound, or of reason
// [ReasonNotFound] or [ReasonMissingKey] when a refresh found the secret or
// key deleted. It never blocks and does not allocate.
func (s *Static) Value() (Secret, error) {
	v := s.cur.Load()
	if v.err != nil {
		return Secret{}, v.err
	}
	return v.val, nil
}

// Version returns the KV v2 version the current value came from (0 for
// KV v1).
func (s *Static) Version() int { return s.cur.Load().version }

// OnChange registers fn, called after a refresh finds a new value for s
// (a new KV v2 version, or a changed KV v1 value), with the old and new
// values. Calls come from the refresh goroutine, one at a time, in order;
// fn must not block for long.
func (s *Static) OnChange(fn func(old, new Secret)) {
	s.subs.Lock()
	s.subs.fns = append(s.subs.fns, fn)
	s.subs.Unlock()
}

// kvCache holds the static secrets a client serves, by secret (path and
// version): one read serves every key of a secret.
type kvCache struct {
	mu        sync.Mutex
	paths     map[string]*kvPath // by path "@" version
	mounts    map[string]mountInfo
	preflight map[string]chan struct{} // in flight, by first path segment
	started   bool
}

func (k *kvCache) init() {
	k.paths = map[string]*kvPath{}
	k.mounts = map[string]mountInfo{}
	k.preflight = map[string]chan struct{}{}
}

// A mountInfo is what the KV preflight said of a mount.
type mountInfo struct {
	path    string // "secret/"
	typ     string // "kv"
	version int    // 1 or 2
}

// kvPath is one secret (a path at a version) and the keys read from it.
type kvPath struct {
	path    string
	version int
	ready   chan struct{} // closed after the first read
	err     error         // of the first read, when it failed

	mu       sync.Mutex // guards below; held by refreshes
	keys     map[string]*Static
	lastGood time.Time
	data     map[string]any
	dataVer  int
	attempt  int
	nextTry  time.Time
	stale    bool
}

// Static returns the kept-fresh handle of the secret reference ref,
// reading it from Vault the first time (concurrent first calls for one
// secret share one read). Errors are *[Error]s: [ReasonBadReference],
// [ReasonWrongMount] (not a KV mount, or a version asked of KV v1),
// [ReasonNotFound], [ReasonMissingKey], [ReasonPermissionDenied],
// [ReasonUnavailable].
func (c *Client) Static(ctx context.Context, ref string) (*Static, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, &Error{Op: "read", Reason: ReasonBadReference, Err: err}
	}
	return c.StaticRef(ctx, r)
}

// StaticRef is [Client.Static] with a parsed reference.
func (c *Client) StaticRef(ctx context.Context, r Ref) (*Static, error) {
	if c.ctx.Err() != nil {
		return nil, &Error{Op: "read", Reason: ReasonClosed, Ref: r.String()}
	}
	if r.Version < 0 || checkPath(r.Path) != nil || r.Key == "" {
		return nil, &Error{Op: "read", Reason: ReasonBadReference, Ref: r.String(), Err: errors.New("invalid Ref; build it with ParseRef")}
	}
	k := &c.kv
	id := r.Path + "@" + strconv.Itoa(r.Version)
	k.mu.Lock()
	p, ok := k.paths[id]
	if !ok {
		p = &kvPath{path: r.Path, version: r.Version, ready: make(chan struct{}), keys: map[string]*Static{}}
		k.paths[id] = p
	}
	k.mu.Unlock()
	if !ok {
		p.err = c.firstRead(ctx, p)
		if p.err != nil {
			k.mu.Lock()
			delete(k.paths, id)
			k.mu.Unlock()
		}
		close(p.ready)
		if p.err == nil {
			c.startRefresher()
		}
	} else {
		select {
		case <-p.ready:
		case <-ctx.Done():
			return nil, &Error{Op: "read", Reason: ReasonUnavailable, Ref: r.String(), Err: ctx.Err()}
		}
	}
	if p.err != nil {
		if ok && ctx.Err() == nil && errors.Is(p.err, context.Canceled) {
			// The first reader gave up (its request ended), not Vault:
			// read with this caller's own context.
			return c.StaticRef(ctx, r)
		}
		return nil, refError(p.err, r)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.keys[r.Key]; ok {
		return s, nil
	}
	if p.stale {
		return nil, &Error{Op: "read", Reason: ReasonStale, Ref: r.String(), Err: errors.New("vault unreachable past the staleness bound")}
	}
	v, ok := p.data[r.Key]
	if !ok {
		return nil, &Error{Op: "read", Reason: ReasonMissingKey, Ref: r.String(), Err: ErrNotFound}
	}
	s := &Static{ref: r, p: p}
	s.cur.Store(&staticValue{val: NewSecret(stringify(v)), version: p.dataVer})
	p.keys[r.Key] = s
	return s, nil
}

// Get returns the current value of the secret reference ref; see
// [Client.Static]. A hot path should keep the *Static and call its Value.
func (c *Client) Get(ctx context.Context, ref string) (Secret, error) {
	s, err := c.Static(ctx, ref)
	if err != nil {
		return Secret{}, err
	}
	return s.Value()
}

// refError makes err (from reading r's secret) an *Error naming r.
func refError(err error, r Ref) error {
	var e *Error
	if errors.As(err, &e) {
		e2 := *e
		e2.Ref = r.String()
		return &e2
	}
	return &Error{Op: "read", Reason: reasonOf(err), Ref: r.String(), Err: err}
}

func reasonOf(err error) string {
	switch {
	case errors.Is(err, ErrNotFound):
		return ReasonNotFound
	case errors.Is(err, ErrPermissionDenied):
		return ReasonPermissionDenied
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrSealed), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return ReasonUnavailable
	}
	return ReasonUnavailable
}

// firstRead reads p for the first time, with the client's bounded retries
// for an unreachable Vault.
func (c *Client) firstRead(ctx context.Context, p *kvPath) error {
	var err error
	for attempt := 0; attempt < c.cfg.StartupAttempts; attempt++ {
		if attempt > 0 {
			if e := c.sleep(ctx, c.bo.Delay(attempt-1)); e != nil {
				return errors.Join(err, e)
			}
		}
		var data map[string]any
		var ver int
		data, ver, err = c.readKV(ctx, p.path, p.version)
		if err == nil {
			p.mu.Lock()
			p.data, p.dataVer, p.lastGood = data, ver, c.now()
			p.mu.Unlock()
			return nil
		}
		if !retryable(err) {
			return err
		}
	}
	return err
}

// mount returns the KV mount of path, asking Vault once per mount.
func (c *Client) mount(ctx context.Context, path string) (mountInfo, error) {
	k := &c.kv
	k.mu.Lock()
	var best mountInfo
	for mp, mi := range k.mounts {
		if strings.HasPrefix(path+"/", mp) && len(mp) > len(best.path) {
			best = mi
		}
	}
	if best.path != "" {
		k.mu.Unlock()
		return best, nil
	}
	// One preflight at a time per first segment: concurrent first reads
	// (Inject) of one mount share it.
	seg, _, _ := strings.Cut(path, "/")
	if ch, ok := k.preflight[seg]; ok {
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return mountInfo{}, ctx.Err()
		}
		return c.mount(ctx, path)
	}
	ch := make(chan struct{})
	k.preflight[seg] = ch
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		delete(k.preflight, seg)
		k.mu.Unlock()
		close(ch)
	}()
	r, err := c.do(ctx, "preflight", func(tok string) (*Response, error) {
		return c.b.Read(ctx, tok, "sys/internal/ui/mounts/"+path)
	})
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Status == 403 && mentions(se.Messages, "preflight") {
			// Vault answers alike for no mount and for a path the token
			// may not touch at all.
			return mountInfo{}, &Error{Op: "read", Reason: ReasonPermissionDenied, Err: fmt.Errorf("no mount at %s, or the token may not read it: %w", path, err)}
		}
		return mountInfo{}, err
	}
	mi := mountInfo{}
	mi.path, _ = r.Data["path"].(string)
	mi.typ, _ = r.Data["type"].(string)
	if opts, ok := r.Data["options"].(map[string]any); ok {
		if v, ok := jsonNumber(opts["version"]); ok {
			mi.version = int(v)
		}
	}
	if mi.path == "" || !strings.HasSuffix(mi.path, "/") || !strings.HasPrefix(path+"/", mi.path) {
		return mountInfo{}, &Error{Op: "read", Reason: ReasonWrongMount, Err: fmt.Errorf("vault answered the mount %q for %s", mi.path, path)}
	}
	if mi.typ != "kv" && mi.typ != "generic" {
		return mountInfo{}, &Error{Op: "read", Reason: ReasonWrongMount,
			Err: fmt.Errorf("%s is a %q mount, not KV: static references read only KV v1 and v2 (dynamic secrets have their own API)", mi.path, mi.typ)}
	}
	if mi.version != 2 {
		mi.version = 1
	}
	k.mu.Lock()
	k.mounts[mi.path] = mi
	k.mu.Unlock()
	return mi, nil
}

// readKV reads the secret at path (version 0: the current one) and
// returns its data and version (0 for KV v1).
func (c *Client) readKV(ctx context.Context, path string, version int) (map[string]any, int, error) {
	mi, err := c.mount(ctx, path)
	if err != nil {
		return nil, 0, err
	}
	rel := strings.TrimPrefix(path, mi.path)
	if rel == "" {
		return nil, 0, &Error{Op: "read", Reason: ReasonBadReference, Err: fmt.Errorf("%s is the mount itself, not a secret in it", path)}
	}
	p := path
	if mi.version == 2 {
		p = mi.path + "data/" + rel
		if version > 0 {
			p += "?version=" + strconv.Itoa(version)
		}
	} else if version > 0 {
		return nil, 0, &Error{Op: "read", Reason: ReasonWrongMount, Err: fmt.Errorf("%s is KV v1, which has no versions", mi.path)}
	}
	r, err := c.do(ctx, "read", func(tok string) (*Response, error) { return c.b.Read(ctx, tok, p) })
	if err != nil {
		return nil, 0, err
	}
	if r.LeaseID != "" {
		// A static read never holds a lease; refuse rather than sprawl.
		return nil, 0, &Error{Op: "read", Reason: ReasonWrongMount, Err: fmt.Errorf("%s answered with a lease: not a static secret", path)}
	}
	if mi.version == 1 {
		return r.Data, 0, nil
	}
	data, _ := r.Data["data"].(map[string]any)
	md, _ := r.Data["metadata"].(map[string]any)
	ver := 0
	if md != nil {
		if v, ok := jsonNumber(md["version"]); ok {
			ver = int(v)
		}
	}
	if data == nil {
		// Deleted or destroyed version: Vault answers 404 with metadata
		// or 200 with null data.
		return nil, ver, fmt.Errorf("%w: %s version %d is deleted", ErrNotFound, path, ver)
	}
	return data, ver, nil
}

func stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// startRefresher starts the refresh goroutine once.
func (c *Client) startRefresher() {
	c.kv.mu.Lock()
	defer c.kv.mu.Unlock()
	if c.kv.started || c.ctx.Err() != nil {
		return
	}
	c.kv.started = true
	c.wg.Add(1)
	go c.refreshLoop()
}

// refreshLoop re-reads every unpinned static secret each RefreshInterval.
// A secret whose read fails for a retryable cause is tried again with
// backoff (the next tries come sooner than the interval), and once its
// last good read is older than MaxStale its keys fail with ReasonStale.
func (c *Client) refreshLoop() {
	defer c.wg.Done()
	next := c.cfg.RefreshInterval
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.cfg.Clock.After(next):
		}
		next = c.refreshAll(c.ctx)
	}
}

// refreshAll refreshes what is due and returns how long to wait for the
// next round.
func (c *Client) refreshAll(ctx context.Context) time.Duration {
	c.kv.mu.Lock()
	paths := make([]*kvPath, 0, len(c.kv.paths))
	for _, p := range c.kv.paths {
		if p.version == 0 {
			paths = append(paths, p)
		}
	}
	c.kv.mu.Unlock()
	next := c.cfg.RefreshInterval
	now := c.now()
	var outage error
	for _, p := range paths {
		select {
		case <-p.ready:
		default:
			continue
		}
		if p.err != nil {
			continue
		}
		if ctx.Err() != nil {
			return next
		}
		p.mu.Lock()
		due := p.nextTry
		p.mu.Unlock()
		if !due.IsZero() && now.Before(due) {
			next = min(next, due.Sub(now))
			continue
		}
		d := c.refreshWith(ctx, p, outage)
		if d > 0 {
			next = min(next, d)
			if outage == nil {
				outage = fmt.Errorf("%w: skipped this round after a failure", ErrUnavailable)
			}
		}
	}
	return max(next, time.Millisecond)
}

// refreshOne re-reads p; it returns how soon p wants another try (0: at
// the normal interval).
func (c *Client) refreshOne(ctx context.Context, p *kvPath) time.Duration {
	return c.refreshWith(ctx, p, nil)
}

// refreshWith re-reads p, or, when outage is set (Vault just failed for
// another secret of this round), records that failure for p without
// calling Vault, so that an outage costs one timeout per round rather
// than one per secret, and every secret's staleness bound is kept.
func (c *Client) refreshWith(ctx context.Context, p *kvPath, outage error) time.Duration {
	var data map[string]any
	var ver int
	err := outage
	if err == nil {
		rctx, cancel := context.WithTimeout(ctx, c.cfg.Vault.Timeout)
		data, ver, err = c.readKV(rctx, p.path, 0)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	now := c.now()
	p.mu.Lock()
	if err != nil && retryable(err) {
		wait := c.bo.Delay(p.attempt)
		p.attempt++
		if !p.stale && now.Sub(p.lastGood) >= c.cfg.MaxStale {
			p.stale = true
			serr := &Error{Op: "read", Reason: ReasonStale, Err: fmt.Errorf("vault unreachable since the last good read at %s, past the %s bound: %w",
				p.lastGood.UTC().Format(time.RFC3339), c.cfg.MaxStale, err)}
			for _, s := range p.keys {
				e := *serr
				e.Ref = s.ref.String()
				// Keep the last good value, unserved, so that recovery
				// notifies only a real change, with the right old value.
				old := s.cur.Load()
				s.cur.Store(&staticValue{val: old.val, version: old.version, err: &e})
			}
			c.cfg.Logger.LogAttrs(ctx, slog.LevelError, "secrets: static secret past its staleness bound; reads fail", slog.String("path", p.path))
		}
		if left := p.lastGood.Add(c.cfg.MaxStale).Sub(now); !p.stale && left > 0 && left < wait {
			wait = left
		}
		p.nextTry = now.Add(wait)
		p.mu.Unlock()
		c.emit(ctx, paved.Event{Type: paved.EventSecretFailure, Outcome: paved.OutcomeFailure, Reason: "refresh",
			Attrs: []slog.Attr{slog.String("path", p.path), slog.String("error", errClass(err))}})
		return wait
	}
	p.attempt, p.nextTry = 0, time.Time{}
	type change struct {
		s        *Static
		old, new Secret
	}
	var changes []change
	if err != nil {
		// Authoritative: deleted, or no longer allowed. Fail closed.
		for _, s := range p.keys {
			s.cur.Store(&staticValue{err: refError(err, s.ref)})
		}
		p.data = nil
		p.mu.Unlock()
		c.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "secrets: static secret refresh refused; its reads fail", slog.String("path", p.path), slog.String("error", err.Error()))
		return 0
	}
	p.lastGood, p.stale = now, false
	changed := ver != p.dataVer || !maps.EqualFunc(data, p.data, func(a, b any) bool { return stringify(a) == stringify(b) })
	p.data, p.dataVer = data, ver
	for key, s := range p.keys {
		old := s.cur.Load()
		v, ok := data[key]
		if !ok {
			s.cur.Store(&staticValue{version: ver, err: &Error{Op: "read", Reason: ReasonMissingKey, Ref: s.ref.String(), Err: ErrNotFound}})
			continue
		}
		nv := NewSecret(stringify(v))
		if old.val.v != nil && old.val.Equal(nv) {
			if old.version != ver || old.err != nil {
				s.cur.Store(&staticValue{val: old.val, version: ver})
			}
			continue
		}
		s.cur.Store(&staticValue{val: nv, version: ver})
		changes = append(changes, change{s, old.val, nv})
	}
	p.mu.Unlock()
	if changed {
		c.emit(ctx, paved.Event{Type: paved.EventSecretRotation, Outcome: paved.OutcomeSuccess, Reason: "static",
			Attrs: []slog.Attr{slog.String("path", p.path), slog.Int("version", ver)}})
	}
	for _, ch := range changes {
		ch.s.subs.Lock()
		fns := append([]func(old, new Secret){}, ch.s.subs.fns...)
		ch.s.subs.Unlock()
		for _, fn := range fns {
			fn(ch.old, ch.new)
		}
	}
	return 0
}

// Refresh re-reads every static secret now, as the interval would, and
// reports the first failure. Tests and admin endpoints use it.
func (c *Client) Refresh(ctx context.Context) error {
	c.kv.mu.Lock()
	var paths []*kvPath
	for _, p := range c.kv.paths {
		if p.version == 0 {
			paths = append(paths, p)
		}
	}
	c.kv.mu.Unlock()
	var first error
	for _, p := range paths {
		<-p.ready
		if p.err != nil {
			continue
		}
		c.refreshOne(ctx, p)
		p.mu.Lock()
		for _, s := range p.keys {
			if v := s.cur.Load(); v.err != nil && first == nil {
				first = v.err
			}
		}
		if p.attempt > 0 && first == nil {
			first = &Error{Op: "refresh", Reason: ReasonUnavailable, Ref: p.path, Err: errors.New("vault unreachable; serving the last good value")}
		}
		p.mu.Unlock()
	}
	return first
}
