package secrets

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/pavedroad/paved"
)

// renewLoop keeps the client token alive. It renews at 2/3 of the granted
// TTL; it logs in again when renewal is refused (403), when the token is
// not renewable, or when max TTL nears (a renewal grants less than a third
// of what the login did); it retries every failure with backoff, and never
// loops without sleeping.
func (c *Client) renewLoop() {
	defer c.wg.Done()
	ctx := c.ctx
	attempt := 0
	for {
		t := c.tok.Load()
		wait := c.nextRenewal(t)
		if attempt > 0 {
			wait = c.bo.Delay(attempt - 1)
			// Never wait past the token's expiry when it can still be saved.
			if !t.expires.IsZero() {
				if left := t.expires.Sub(c.now()); left > 0 && left < wait {
					wait = max(left, c.bo.Base)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-c.renewKick:
			attempt = 0
			continue
		case <-c.cfg.Clock.After(wait):
		}
		if ctx.Err() != nil {
			return
		}
		if err := c.renewOnce(ctx); err != nil {
			attempt++
			c.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "secrets: token renewal failed", slog.String("error", err.Error()), slog.Int("attempt", attempt))
		} else {
			attempt = 0
		}
		c.updatePosture()
	}
}

// nextRenewal returns how long to wait before the next renewal of t.
func (c *Client) nextRenewal(t *tokenState) time.Duration {
	if t == nil || t.ttl <= 0 {
		// A token without TTL (root) needs no renewal; look again at
		// the refresh interval, which also notices a revoked one.
		return c.cfg.RefreshInterval
	}
	at := t.issued.Add(t.ttl * 2 / 3)
	return max(at.Sub(c.now()), time.Millisecond)
}

// renewOnce renews the token, or logs in again when renewal cannot help.
func (c *Client) renewOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Vault.Timeout)
	defer cancel()
	t := c.tok.Load()
	if t.ttl <= 0 {
		// Check the token is still valid.
		_, err := c.do(ctx, "lookup-self", func(tok string) (*Response, error) {
			return c.b.Read(ctx, tok, "auth/token/lookup-self")
		})
		return err
	}
	if !t.renewable {
		return c.reloginFrom(ctx, t, "token not renewable")
	}
	start := c.now()
	a, err := renewSelf(ctx, c.b, t.token, t.loginTTL)
	if err != nil {
		c.observe(err)
		c.emit(ctx, paved.Event{Type: paved.EventSecretFailure, Outcome: paved.OutcomeFailure, Reason: "token_renewal",
			Attrs: []slog.Attr{slog.String("error", errClass(err))}})
		if errors.Is(err, ErrPermissionDenied) || errors.Is(err, ErrInvalidRequest) {
			return c.reloginFrom(ctx, t, "renewal refused")
		}
		if !t.expires.IsZero() && !c.now().Before(t.expires) {
			return c.reloginFrom(ctx, t, "token expired during outage")
		}
		return err
	}
	c.observe(nil)
	now := c.now()
	nt := *t
	nt.issued, nt.ttl, nt.renewable = now, a.LeaseDuration, a.Renewable
	nt.expires = now.Add(a.LeaseDuration)
	c.tok.Store(&nt)
	c.emit(ctx, paved.Event{Type: paved.EventSecretRenewal, Outcome: paved.OutcomeSuccess, Reason: "token", Duration: now.Sub(start),
		Attrs: []slog.Attr{slog.Duration("ttl", a.LeaseDuration)}})
	if t.loginTTL > 0 && a.LeaseDuration < t.loginTTL/3 {
		// Max TTL nears: the next renewal would grant even less.
		return c.reloginFrom(ctx, &nt, "max TTL near")
	}
	return nil
}

// reloginFrom logs in again unless t has already been replaced.
func (c *Client) reloginFrom(ctx context.Context, t *tokenState, why string) error {
	if c.method == "token" {
		return errors.New("secrets: " + why + " and a fixed token cannot be replaced")
	}
	c.loginMu.Lock()
	if c.gen.Load() != t.gen || c.ctx.Err() != nil {
		c.loginMu.Unlock()
		return nil
	}
	c.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "secrets: logging in again", slog.String("cause", why), slog.String("method", c.method))
	err := c.loginLocked(ctx)
	c.loginMu.Unlock()
	if err != nil {
		return err
	}
	// The old token is no longer used; revoke it unless it is already
	// gone. This runs here, in the renewal loop that Close waits for (a
	// goroutine of its own would outlive Close), bounded by Vault.Timeout
	// and not cut short by Close.
	if why == "max TTL near" || why == "token not renewable" {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Vault.Timeout)
		defer cancel()
		if err := revokeSelf(rctx, c.b, t.token); err != nil {
			c.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "secrets: revoking the superseded token failed; it lives until its TTL ends",
				slog.String("accessor", t.accessor), slog.String("error", errClass(err)))
		}
	}
	return nil
}
