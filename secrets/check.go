package secrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/pavedroad/paved/httpx"
)

// Check is the client's readiness, an [httpx.Check]: nil while Vault
// answers; an error wrapping [httpx.ErrDegraded] (still ready) while Vault
// is unreachable or sealed and the client serves last good values; a
// plain error (not ready) once the client is closed, its token has
// expired, or a static secret is past the staleness bound.
//
//	srv.AddCheck("vault", client)
func (c *Client) Check(ctx context.Context) error {
	if c.ctx.Err() != nil {
		return &Error{Op: "check", Reason: ReasonClosed}
	}
	if t := c.tok.Load(); t != nil && !t.expires.IsZero() && !c.now().Before(t.expires) {
		return &Error{Op: "check", Reason: ReasonUnavailable, Target: c.target(), Err: errors.New("the client token has expired and no login succeeded since")}
	}
	c.kv.mu.Lock()
	stale := ""
	for _, p := range c.kv.paths {
		p.mu.Lock()
		if p.stale {
			stale = p.path
		}
		p.mu.Unlock()
		if stale != "" {
			break
		}
	}
	c.kv.mu.Unlock()
	if stale != "" {
		return &Error{Op: "check", Reason: ReasonStale, Ref: stale, Target: c.target(), Err: errors.New("vault unreachable past the staleness bound")}
	}
	if h := c.health.Load(); h != nil && !h.ok {
		return fmt.Errorf("secrets: vault (%s) unreachable since %s, serving last good values: %s: %w",
			c.target(), h.since.UTC().Format("15:04:05Z07:00"), h.lastError, httpx.ErrDegraded)
	}
	return nil
}

var _ httpx.Check = (*Client)(nil)
