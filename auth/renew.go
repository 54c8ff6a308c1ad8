package auth

import (
	"context"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// readSession opens the session cookie, renewing it with the refresh
// token when the access token is about to expire.
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
		return nil, false
	}
	if now.Add(30*time.Second).Unix() >= s.Expiry {
		if s.Refresh == "" || !l.renew(r.Context(), &s, now) {
			l.setCookie(w, SessionCookie, "", -1)
			return nil, false
		}
		v, reason := l.sealSession(r.Context(), &s)
		if reason != "" {
			l.setCookie(w, SessionCookie, "", -1)
			return nil, false
		}
		l.setCookie(w, SessionCookie, v, int(l.cfg.SessionTTL.Seconds()))
	}
	p, err := l.principal(&s)
	if err != nil {
		return nil, false
	}
	return &Session{Principal: p, AccessToken: s.Access, Expiry: time.Unix(s.Expiry, 0), IDToken: s.IDToken}, true
}

func (l *Login) renew(ctx context.Context, s *sessionState, now time.Time) bool {
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
	s.Access, s.Expiry = tok.AccessToken, tok.Expiry.Unix()
	if tok.RefreshToken != "" {
		s.Refresh = tok.RefreshToken
	}
	return true
}
