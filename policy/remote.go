package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/backoff"
)

// remoteSource polls a bundle server.
type remoteSource struct {
	e        *Engine
	client   *http.Client
	poll     time.Duration
	backoff  backoff.Policy
	etag     string // of the active bundle
	failures int
	// timeout bounds a fetch when client has no Timeout of its own.
	timeout time.Duration
	// running is set while Run polls: a second Run would race on etag
	// and failures.
	running atomic.Bool
}

func newRemote(e *Engine) *remoteSource {
	c := e.cfg.Bundle.Client
	if c == nil {
		c = &http.Client{Timeout: DefaultFetchTimeout, CheckRedirect: checkBundleRedirect}
	} else {
		// A caller's client gets the same refusal of redirects off https
		// (before the request is sent), then its own redirect policy.
		cp := *c
		next := c.CheckRedirect
		cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if err := checkBundleRedirect(req, via); err != nil || next == nil {
				return err
			}
			return next(req, via)
		}
		c = &cp
	}
	return &remoteSource{e: e, client: c, poll: e.cfg.Bundle.PollInterval, timeout: DefaultFetchTimeout,
		backoff: backoff.Policy{Base: time.Second, Cap: e.cfg.Bundle.PollInterval}}
}

// fetch downloads the bundle once and activates it when it changed. Any
// failure leaves the active bundle in place and is recorded for readiness.
func (r *remoteSource) fetch(ctx context.Context) error {
	err := r.fetchOnce(ctx)
	r.e.mu.Lock()
	r.e.lastErr = err
	r.e.lastFetch = time.Now()
	r.e.mu.Unlock()
	if err != nil {
		r.failures++
	} else {
		r.failures = 0
	}
	return err
}

func (r *remoteSource) fetchOnce(ctx context.Context) error {
	cfg := r.e.cfg.Bundle
	if r.client.Timeout == 0 {
		// A server that never answers must not hold the poll (and
		// readiness, which reports the last fetch) forever.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.URL, nil)
	if err != nil {
		return err
	}
	for k, vs := range cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.etag != "" && r.e.snap.Load() != nil {
		req.Header.Set("If-None-Match", r.etag)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch bundle: %w", err)
	}
	defer resp.Body.Close()
	// A redirect (followed by a Client of the service's own) must keep to
	// what Bundle.URL may be: https, or http on a loopback host.
	if resp.Request != nil && resp.Request.URL != nil && !secureBundleURL(resp.Request.URL) {
		return fmt.Errorf("fetch bundle: redirected to %s, neither https nor loopback", redactURL(resp.Request.URL.String()))
	}
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil
	case http.StatusOK:
	default:
		return fmt.Errorf("fetch bundle: %s", resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, cfg.MaxBytes+1))
	if err != nil {
		return fmt.Errorf("fetch bundle: %w", err)
	}
	etag := resp.Header.Get("ETag")
	b, err := r.e.readTarball(raw, etag, len(cfg.Keys) == 0)
	if err != nil {
		err = fmt.Errorf("bundle rejected, last good bundle kept: %w", err)
		r.e.logger.LogAttrs(ctx, slog.LevelError, "policy: bundle rejected", slog.String("url", redactURL(cfg.URL)), slog.String("error", err.Error()))
		return err
	}
	if err := r.e.activate(ctx, b); err != nil {
		r.e.logger.LogAttrs(ctx, slog.LevelError, "policy: bundle rejected", slog.String("url", redactURL(cfg.URL)), slog.String("error", err.Error()))
		return fmt.Errorf("bundle rejected, last good bundle kept: %w", err)
	}
	r.etag = etag
	return nil
}

// Run polls the bundle server until ctx ends: every PollInterval while
// fetches succeed, after a jittered backoff from 1s up to PollInterval
// while they fail. It returns nil at once for a local source, whose policy
// New loaded, and ctx's error otherwise. One Run at a time: a second one
// while the first polls returns an error at once.
func (e *Engine) Run(ctx context.Context) error {
	r := e.remote
	if r == nil {
		return nil
	}
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("policy: Engine.Run is already running")
	}
	defer r.running.Store(false)
	for {
		wait := r.poll
		if r.failures > 0 {
			wait = r.backoff.Delay(r.failures - 1)
		}
		if err := backoff.Sleep(ctx, wait); err != nil {
			return err
		}
		if err := r.fetch(ctx); err != nil && ctx.Err() == nil {
			e.logger.LogAttrs(ctx, slog.LevelWarn, "policy: bundle fetch failed", slog.String("url", redactURL(e.cfg.Bundle.URL)), slog.Int("failures", r.failures), slog.String("error", err.Error()))
		}
	}
}

// Revision returns the revision of the active bundle ("" for a source
// without a manifest revision), and whether a policy is loaded.
func (e *Engine) Revision() (string, bool) {
	s := e.snap.Load()
	if s == nil {
		return "", false
	}
	return s.revision, true
}

// Check implements httpx.Check: not ready until a policy is loaded; ready
// but degraded (an error wrapping httpx.ErrDegraded) while the last fetch
// from the bundle server failed and the last good bundle serves.
func (e *Engine) Check(ctx context.Context) error {
	s := e.snap.Load()
	e.mu.Lock()
	lastErr := e.lastErr
	e.mu.Unlock()
	if s == nil {
		if lastErr != nil {
			return fmt.Errorf("%w: %w", ErrNotLoaded, lastErr)
		}
		return ErrNotLoaded
	}
	if lastErr != nil {
		return fmt.Errorf("policy: bundle server failing, serving revision %q: %w: %w", s.revision, httpx.ErrDegraded, lastErr)
	}
	return nil
}

var _ httpx.Check = (*Engine)(nil)

// validateBundle checks Bundle's fields and applies their defaults.
func validateBundle(c *paved.ConfigCheck, cfg *Config) {
	b := &cfg.Bundle
	if b.MaxBytes == 0 {
		b.MaxBytes = DefaultBundleMaxBytes
	} else if b.MaxBytes < 1<<10 || b.MaxBytes > 1<<30 {
		c.Add("Config.Bundle.MaxBytes", fmt.Sprintf("%d is out of range", b.MaxBytes), "want from 1 KiB to 1 GiB, or 0 for 16 MiB")
	}
	b.PollInterval = durationField(c, "Config.Bundle.PollInterval", b.PollInterval, DefaultPollInterval, time.Second, 24*time.Hour)
	if b.URL != "" {
		u, err := url.Parse(b.URL)
		switch {
		case err != nil || u.Host == "":
			c.Add("Config.Bundle.URL", "not an absolute URL", `want such as "https://bundles.example.com/bundles/app.tar.gz"`)
		case u.Scheme == "https":
		case u.Scheme == "http" && isLoopback(u.Hostname()):
		default:
			c.Add("Config.Bundle.URL", fmt.Sprintf("scheme %q", u.Scheme), "want https (http only on a loopback host)")
		}
	}
	for id, k := range b.Keys {
		if k.Key == "" {
			c.Add("Config.Bundle.Keys["+id+"].Key", "empty", "give the PEM public key")
		}
	}
	if b.KeyID != "" {
		if _, ok := b.Keys[b.KeyID]; !ok {
			c.Add("Config.Bundle.KeyID", fmt.Sprintf("%q is not in Keys", b.KeyID), "name a key of Keys")
		}
	}
	if (len(b.Keys) > 0 || b.KeyID != "" || b.Scope != "") && b.URL == "" && b.File == "" {
		c.Add("Config.Bundle.Keys", "set without a bundle", "set Bundle.URL or Bundle.File")
	}
}

// secureBundleURL reports whether u is https, or http on a loopback host.
func secureBundleURL(u *url.URL) bool {
	return u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname()))
}

// checkBundleRedirect refuses a redirect off https (or off loopback http),
// before the request, and its Header, are sent.
func checkBundleRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if !secureBundleURL(req.URL) {
		return fmt.Errorf("redirect to %s refused: neither https nor loopback", redactURL(req.URL.String()))
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
