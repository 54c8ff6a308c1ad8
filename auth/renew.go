package auth

import (
	"context"
	"crypto/sha256"
	"log/slog"
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
	if len(rs.m) >= rs.nextSweep {
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

// sweepLocked drops renewals past their grace. It runs when the map has
// doubled since the last sweep, so its cost per renewal stays constant.
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
}

// readSession opens the session cookie, renewing it with the refresh
// token when the access token is about to expire. Concurrent requests
// with one session renew it once and all set the same new cookie.
func (l *Login) readSession(w http.ResponseWriter, r *http.Request) (*Session, bool) {
	if _, err := r.Cookie(SessionCookie); err != nil {
		return nil, false
	}
	sp, ok := l.openSession(r)
	if !ok {
		l.setCookie(w, SessionCookie, "", -1)
		return nil, false
	}
	s := *sp
	now := l.cfg.Now()
	if now.Unix() >= s.Created+int64(l.cfg.SessionTTL.Seconds()) {
		l.setCookie(w, SessionCookie, "", -1)
		l.sessionEnded(r.Context(), &s, SessionEndExpired)
		return nil, false
	}
	if now.Add(renewMargin).Unix() >= s.Expiry {
		if s.Refresh == "" {
			l.setCookie(w, SessionCookie, "", -1)
			l.sessionEnded(r.Context(), &s, SessionEndRefreshFailed)
			return nil, false
		}
		res, shared := l.renewals.do(r.Context(), sha256.Sum256([]byte(s.Refresh)), now, func(ctx context.Context) (sessionState, string, bool) {
			ns := s
			if !l.renew(ctx, &ns, now) {
				return sessionState{}, "", false
			}
			v, reason := l.sealSession(ctx, &ns)
			return ns, v, reason == ""
		})
		if res == nil {
			return nil, false // this request ended first; the session is left as it is
		}
		if !res.ok {
			l.setCookie(w, SessionCookie, "", -1)
			if !shared {
				l.sessionEnded(r.Context(), &s, SessionEndRefreshFailed)
			}
			return nil, false
		}
		s = res.s
		l.setCookie(w, SessionCookie, res.value, int(l.cfg.SessionTTL.Seconds()))
	}
	p, err := l.principal(&s)
	if err != nil {
		return nil, false
	}
	return &Session{Principal: p, AccessToken: s.Access, Expiry: time.Unix(s.Expiry, 0), IDToken: s.IDToken}, true
}

func (l *Login) renew(ctx context.Context, s *sessionState, now time.Time) bool {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	src := l.oauth.TokenSource(l.clientCtx(ctx), &oauth2.Token{RefreshToken: s.Refresh, Expiry: now.Add(-time.Hour)})
	tok, err := src.Token()
	if err != nil {
		return false
	}
	if raw, _ := tok.Extra("id_token").(string); raw != "" {
		ns, reason := l.newSession(ctx, tok, "", now)
		if reason != "" {
			return false
		}
		// OpenID Connect Core 12.2: the same user, or no session.
		was, err1 := l.principal(s)
		is, err2 := l.principal(ns)
		if err1 != nil || err2 != nil || was.Subject != is.Subject {
			return false
		}
		ns.Created, ns.SID = s.Created, s.SID
		*s = *ns
		if s.Refresh == "" {
			s.Refresh = tok.RefreshToken
		}
		return true
	}
	s.Access, s.Expiry = tok.AccessToken, accessExpiry(tok, now).Unix()
	if tok.RefreshToken != "" {
		s.Refresh = tok.RefreshToken
	}
	return true
}

// sessionEnded emits [paved.EventSessionEnded] for s with reason.
func (l *Login) sessionEnded(ctx context.Context, s *sessionState, reason string) {
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
		Reason: reason, Subject: sub, RequestID: httpx.RequestIDFrom(ctx), Attrs: []slog.Attr{slog.String("flow", "browser")}})
}
