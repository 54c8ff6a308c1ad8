package auth

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"golang.org/x/oauth2"
)

// renewMargin is how long before the access token expires a session is
// renewed.
const renewMargin = 30 * time.Second

// renewalGrace is how long the outcome of a renewal is kept for requests
// that still carry the session's previous cookie: a browser sends several
// requests with the old cookie before the first response sets the new
// one. Within the grace they get the renewed session (the same new
// cookie) instead of spending the previous refresh token a second time,
// which a provider that rotates refresh tokens refuses, and a strict one
// answers by revoking the whole session.
const renewalGrace = 10 * time.Second

// maxRenewals bounds the renewals kept in memory; past it a renewal still
// happens but is not shared.
const maxRenewals = 100_000

// renewals serialises the renewal of each session within this process:
// keyed by the SHA-256 of the refresh token being spent, the first request
// renews and the others wait for it and share its result. It cannot
// serialise two replicas; see [Login.Middleware].
type renewals struct {
	mu        sync.Mutex
	m         map[[sha256.Size]byte]*renewal
	nextSweep int
	lastSweep time.Time // configured clock
	// ended holds the refresh-token hashes of sessions logged out here,
	// until no renewal of them can still be running or shared: a request
	// carrying a copy of the cookie from before the logout must not get
	// the renewed session from the grace, nor a renewal that was in
	// flight when the user logged out.
	ended map[[sha256.Size]byte]time.Time
}

// end records that the session whose refresh token hashes to key was
// logged out at now; a renewal of it that is kept for the grace is
// dropped. keep is how long a renewal may still run.
func (rs *renewals) end(key [sha256.Size]byte, now time.Time, keep time.Duration) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r := rs.m[key]; r != nil {
		select {
		case <-r.done:
			delete(rs.m, key)
		default: // in flight: isEnded tells its callers
		}
	}
	if rs.ended == nil {
		rs.ended = make(map[[sha256.Size]byte]time.Time)
	}
	if len(rs.ended) >= maxRenewals {
		maps.DeleteFunc(rs.ended, func(_ [sha256.Size]byte, until time.Time) bool { return !now.Before(until) })
	}
	if len(rs.ended) < maxRenewals {
		rs.ended[key] = now.Add(keep + renewalGrace)
	}
}

// isEnded reports whether a session holding one of these refresh-token
// hashes was logged out within the window end keeps.
func (rs *renewals) isEnded(now time.Time, keys ...[sha256.Size]byte) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, k := range keys {
		if until, ok := rs.ended[k]; ok {
			if now.Before(until) {
				return true
			}
			delete(rs.ended, k)
		}
	}
	return false
}

type renewal struct {
	done  chan struct{}
	until time.Time // kept until then (configured clock), once done
	// Set before done is closed:
	s     sessionState
	value string // the sealed session cookie
	ok    bool
}

// do returns the renewal of the session whose refresh token hashes to
// key, running renew for the first caller only. Later callers wait for it
// (or for their own ctx: then r is nil) and share its outcome; shared
// reports whether the outcome was another caller's. renew runs with a context that ignores the
// first caller's cancellation, so a client that goes away does not fail
// the renewal for the others.
func (rs *renewals) do(ctx context.Context, key [sha256.Size]byte, now time.Time, renew func(context.Context) (sessionState, string, bool)) (r *renewal, shared bool) {
	rs.mu.Lock()
	if r := rs.m[key]; r != nil {
		select {
		case <-r.done:
			if !now.Before(r.until) {
				delete(rs.m, key)
				r = nil
			}
		default:
		}
		if r != nil {
			rs.mu.Unlock()
			select {
			case <-r.done:
				return r, true
			case <-ctx.Done():
				return nil, true
			}
		}
	}
	r = &renewal{done: make(chan struct{})}
	if rs.m == nil {
		rs.m = make(map[[sha256.Size]byte]*renewal)
	}
	// Sweep when the map has doubled since the last sweep (or is full),
	// and at least once per grace whatever its size.
	if len(rs.m) >= min(rs.nextSweep, maxRenewals) || now.Sub(rs.lastSweep) >= renewalGrace {
		rs.sweepLocked(now)
	}
	kept := len(rs.m) < maxRenewals
	if kept {
		rs.m[key] = r
	}
	rs.mu.Unlock()

	r.s, r.value, r.ok = renew(context.WithoutCancel(ctx))
	rs.mu.Lock()
	r.until = now.Add(renewalGrace)
	close(r.done)
	rs.mu.Unlock()
	return r, false
}

// sweepLocked drops renewals past their grace, and with them the only
// reference to their tokens once their callers are done. It runs when
// the map has doubled since the last sweep, so its cost per renewal stays
// constant; when the map is full (then for every renewal that would not
// be kept, until one is); and at least once per grace whatever the size,
// so expired tokens do not stay in memory.
func (rs *renewals) sweepLocked(now time.Time) {
	for k, r := range rs.m {
		select {
		case <-r.done:
			if !now.Before(r.until) {
				delete(rs.m, k)
			}
		default:
		}
	}
	rs.nextSweep = 2*len(rs.m) + 1024
	rs.lastSweep = now
}

// readSession opens the session cookie, renewing it with the refresh
// token when the access token is about to expire. Concurrent requests
// with one session renew it once and all set the same new cookie. With no
// session it returns the reason: [ReasonNoSession] (no cookie, or one
// that does not open) or [ReasonSessionExpired] (the session ended now).
func (l *Login) readSession(w http.ResponseWriter, r *http.Request) (*Session, string) {
	if _, err := r.Cookie(SessionCookie); err != nil {
		return nil, ReasonNoSession
	}
	sp, err := l.openSession(r)
	if err != nil {
		if err == errNoSession {
			l.setCookie(w, SessionCookie, "", -1)
		} else {
			// The store failed: no session (fail closed), but the cookie
			// is kept for when the store is back.
			l.storeFailed(r.Context(), "reading a session", err)
		}
		return nil, ReasonNoSession
	}
	s := *sp
	now := l.cfg.Now()
	if now.Unix() >= s.Created+int64(l.cfg.SessionTTL.Seconds()) {
		l.setCookie(w, SessionCookie, "", -1)
		l.sessionEnded(r.Context(), &s, SessionEndExpired, slog.String("ended_by", "session_ttl"))
		return nil, ReasonSessionExpired
	}
	if now.Add(renewMargin).Unix() >= s.Expiry {
		if s.Refresh == "" {
			// The provider issued no refresh token: the session lasts as
			// long as its access token, and the user signs in again.
			l.setCookie(w, SessionCookie, "", -1)
			l.sessionEnded(r.Context(), &s, SessionEndExpired, slog.String("ended_by", "access_token"))
			return nil, ReasonSessionExpired
		}
		key := sha256.Sum256([]byte(s.Refresh))
		if l.renewals.isEnded(now, key) {
			// A copy of a cookie logged out here moments ago: do not
			// spend its refresh token.
			l.setCookie(w, SessionCookie, "", -1)
			return nil, ReasonNoSession
		}
		res, shared := l.renewals.do(r.Context(), key, now, func(ctx context.Context) (sessionState, string, bool) {
			ns := s
			if cause := l.renew(ctx, &ns, now); cause != "" {
				return sessionState{cause: cause}, "", false
			}
			v, reason := l.sealSession(ctx, &ns)
			if reason != "" {
				if ns.Refresh != s.Refresh {
					// Not kept: the rotated refresh token must not outlive it.
					l.revoke(ctx, ns.Refresh)
				}
				return sessionState{cause: reason}, "", false
			}
			return ns, v, true
		})
		if res == nil {
			return nil, ReasonNoSession // this request ended first; the session is left as it is
		}
		if res.ok && l.renewals.isEnded(now, key, sha256.Sum256([]byte(res.s.Refresh))) {
			// Logged out while the renewal ran or was kept for the
			// grace: the renewed session must not come back.
			if !shared {
				if res.s.SID != "" {
					_ = l.cfg.Store.Delete(r.Context(), res.s.SID)
				}
				if res.s.Refresh != s.Refresh {
					l.revoke(r.Context(), res.s.Refresh) // the rotated one, issued after the logout revoked the previous
				}
			}
			l.setCookie(w, SessionCookie, "", -1)
			return nil, ReasonNoSession
		}
		if !res.ok {
			l.setCookie(w, SessionCookie, "", -1)
			if !shared {
				l.sessionEnded(r.Context(), &s, SessionEndRefreshFailed, slog.String("cause", res.s.cause))
			}
			return nil, ReasonSessionExpired
		}
		if finished := res.until.Add(-renewalGrace); shared && now.After(finished) {
			// The previous cookie after the renewal finished: a browser
			// whose requests crossed the new cookie, or a replayed copy,
			// which gets the renewed session too (the grace's trade-off).
			l.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "auth: a request with the session's previous cookie got the renewed session within the renewal grace",
				slog.String("issuer", l.cfg.Issuer), slog.Duration("after_renewal", now.Sub(finished)), slog.String("request_id", httpx.RequestIDFrom(r.Context())))
		}
		s = res.s
		l.setCookie(w, SessionCookie, res.value, int(l.cfg.SessionTTL.Seconds()))
	}
	p, err := l.principal(&s)
	if err != nil {
		return nil, ReasonNoSession
	}
	return &Session{Principal: p, AccessToken: s.Access, Expiry: time.Unix(s.Expiry, 0), IDToken: s.IDToken}, ""
}

// Causes of a failed renewal, in the cause attribute of the
// [paved.EventSessionEnded] with reason refresh_failed.
const (
	causeRefreshRefused = "refresh_refused" // the token endpoint refused or failed
	causeIDToken        = "id_token_invalid"
	causeOtherSubject   = "other_subject"
	// The session left the store while it was renewed (a logout on
	// another replica): the renewal does not bring it back.
	causeSessionDeleted = "session_deleted"
)

// renew spends s's refresh token and updates s. It returns "" on
// success, else the cause of the failure.
func (l *Login) renew(ctx context.Context, s *sessionState, now time.Time) string {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	src := l.oauth.TokenSource(l.clientCtx(ctx), &oauth2.Token{RefreshToken: s.Refresh, Expiry: now.Add(-time.Hour)})
	tok, err := src.Token()
	if err != nil {
		return causeRefreshRefused
	}
	if raw, _ := tok.Extra("id_token").(string); raw != "" {
		ns, reason := l.newSession(ctx, tok, "", now)
		if reason != "" {
			return causeIDToken
		}
		// OpenID Connect Core 12.2: the same user, or no session.
		was, err1 := l.principal(s)
		is, err2 := l.principal(ns)
		if err1 != nil || err2 != nil || was.Subject != is.Subject {
			return causeOtherSubject
		}
		ns.Created, ns.SID = s.Created, s.SID
		*s = *ns
		if s.Refresh == "" {
			s.Refresh = tok.RefreshToken
		}
		return ""
	}
	s.Access, s.Expiry = tok.AccessToken, accessExpiry(tok, now).Unix()
	if tok.RefreshToken != "" {
		s.Refresh = tok.RefreshToken
	}
	return ""
}

// sessionEnded emits [paved.EventSessionEnded] for s with reason and the
// given attributes.
func (l *Login) sessionEnded(ctx context.Context, s *sessionState, reason string, attrs ...slog.Attr) {
	if !paved.EventsEnabled(ctx, l.cfg.Events, paved.EventSessionEnded) {
		return
	}
	var sub string
	if p, err := l.principal(s); err == nil {
		sub = p.Subject
	}
	outcome := paved.OutcomeSuccess
	if reason == SessionEndRefreshFailed {
		outcome = paved.OutcomeFailure
	}
	paved.Emit(ctx, l.cfg.Events, paved.Event{Type: paved.EventSessionEnded, Component: Component, Outcome: outcome,
		Reason: reason, Subject: sub, RequestID: httpx.RequestIDFrom(ctx), Attrs: append([]slog.Attr{slog.String("flow", "browser")}, attrs...)})
}
