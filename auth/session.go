package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/pavedroad/paved"
	"golang.org/x/oauth2"
)

type sessionState struct {
	SID     string `json:"sid,omitempty"` // server-side session ID
	IDToken string `json:"idt,omitempty"`
	Access  string `json:"at,omitempty"`
	Refresh string `json:"rt,omitempty"`
	Expiry  int64  `json:"exp"`
	Created int64  `json:"iat"`
	cause   string // why a renewal failed; never stored
}

// A Session is the signed-in browser user, available to handlers behind
// [Login.Middleware] through [SessionFrom].
type Session struct {
	Principal *paved.Principal
	// AccessToken calls APIs on the user's behalf; it may be empty.
	AccessToken string
	// Expiry is the access token's expiry.
	Expiry time.Time
	// IDToken is the raw ID token (for id_token_hint).
	IDToken string
}

type sessionKey struct{}

// SessionFrom returns the session stored by [Login.Middleware].
func SessionFrom(ctx context.Context) (*Session, bool) {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s, s != nil
}

// newSession verifies the ID token of tok (nonce when want is non-empty)
// and builds the session. reason is empty on success.
func (l *Login) newSession(ctx context.Context, tok *oauth2.Token, nonce string, now time.Time) (*sessionState, string) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, ReasonIDTokenInvalid
	}
	idt, err := l.verifier.Verify(l.clientCtx(ctx), raw)
	if err != nil {
		return nil, ReasonIDTokenInvalid
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, ReasonNonceMismatch
	}
	// azp and auth_time from the claims as this package reads them (exact
	// names; VerifySignature refused repeated or case-variant members), not
	// through encoding/json, which matches names without case.
	var extra struct {
		AZP      string
		AuthTime *float64
	}
	if claims, err := idTokenClaims(raw); err != nil {
		return nil, ReasonIDTokenInvalid
	} else {
		extra.AZP, _ = claims["azp"].(string)
		if at, ok := claims["auth_time"].(float64); ok {
			extra.AuthTime = &at
		}
	}
	if (len(idt.Audience) > 1 || extra.AZP != "") && extra.AZP != l.cfg.ClientID {
		return nil, ReasonIDTokenInvalid
	}
	if idt.IssuedAt.After(now.Add(l.cfg.Skew)) {
		return nil, ReasonIDTokenInvalid
	}
	// max_age applies to the sign-in, not to refreshes, whose ID tokens
	// keep the original auth_time (OpenID Connect Core 12.2).
	if nonce != "" && l.maxAge >= 0 {
		if extra.AuthTime == nil || now.Sub(unixTime(*extra.AuthTime)) > l.maxAge+l.cfg.Skew {
			return nil, ReasonMaxAgeExceeded
		}
	}
	exp := accessExpiry(tok, now)
	if exp.IsZero() {
		exp = idt.Expiry
	}
	return &sessionState{IDToken: raw, Access: tok.AccessToken, Refresh: tok.RefreshToken, Expiry: exp.Unix(), Created: now.Unix()}, ""
}

// accessExpiry is when tok's access token expires on the configured clock
// (now): expires_in after now when the provider sent it, else the
// wall-clock Expiry oauth2 computed, else zero.
func accessExpiry(tok *oauth2.Token, now time.Time) time.Time {
	if tok.ExpiresIn > 0 {
		return now.Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	return tok.Expiry
}

// sealSession seals s into a session cookie value, storing it server-side
// first when a store is configured: a new session (no SID yet) with Save
// under a fresh SID, a renewed one with Replace, which fails with
// causeSessionDeleted when the session was deleted meanwhile. Without a
// store, a session too large for a cookie drops its access token, then
// fails. reason is empty on success.
func (l *Login) sealSession(ctx context.Context, s *sessionState) (value, reason string) {
	if l.cfg.Store != nil {
		renewed := s.SID != ""
		if !renewed {
			s.SID = randomString(32)
		}
		ttl := time.Unix(s.Created, 0).Add(l.cfg.SessionTTL).Sub(l.cfg.Now())
		if ttl <= 0 {
			return "", ReasonNoSession
		}
		b, _ := json.Marshal(s)
		sealed := []byte(l.codec.seal(l.aad(storeAAD+s.SID), b))
		var err error
		if renewed {
			err = l.cfg.Store.Replace(ctx, s.SID, sealed, ttl)
		} else {
			err = l.cfg.Store.Save(ctx, s.SID, sealed, ttl)
		}
		if renewed && errors.Is(err, ErrSessionNotFound) {
			return "", causeSessionDeleted
		}
		if err != nil {
			return "", ReasonStoreError
		}
		ref, _ := json.Marshal(sessionState{SID: s.SID, Created: s.Created})
		return l.codec.seal(l.aad(SessionCookie), ref), ""
	}
	for range 2 {
		b, _ := json.Marshal(s)
		v := l.codec.seal(l.aad(SessionCookie), b)
		if len(SessionCookie)+1+len(v) <= MaxCookieSize {
			return v, ""
		}
		s.Access = ""
	}
	return "", ReasonSessionTooBig
}

const storeAAD = "paved-session-store:"

// errNoSession: the request has no session cookie, or one that does not
// open, or whose session the store does not hold.
var errNoSession = errors.New("auth: no session")

// openSession reads the session cookie (and the store, when used). Its
// error is errNoSession, or the store's own error when Load failed
// otherwise than with ErrSessionNotFound.
func (l *Login) openSession(r *http.Request) (*sessionState, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, errNoSession
	}
	b, err := l.codec.open(l.aad(SessionCookie), c.Value)
	var s sessionState
	if err != nil || json.Unmarshal(b, &s) != nil {
		return nil, errNoSession
	}
	if s.SID == "" {
		if l.cfg.Store != nil {
			return nil, errNoSession
		}
		return &s, nil
	}
	if l.cfg.Store == nil {
		return nil, errNoSession
	}
	raw, err := l.cfg.Store.Load(r.Context(), s.SID)
	if errors.Is(err, ErrSessionNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	b, err = l.codec.open(l.aad(storeAAD+s.SID), string(raw))
	var full sessionState
	if err != nil || json.Unmarshal(b, &full) != nil || full.SID != s.SID {
		return nil, errNoSession
	}
	return &full, nil
}

// aad is the additional data sealing name's value: it binds every cookie
// and stored session to this login's issuer and client, so two logins
// sharing CookieKeys do not accept each other's.
func (l *Login) aad(name string) string {
	return name + "\x00" + l.cfg.Issuer + "\x00" + l.cfg.ClientID
}

// idTokenClaims decodes the claims of a compact ID token (already
// verified) under this package's JSON rules.
func idTokenClaims(raw string) (map[string]any, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errCookie
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, errCookie
	}
	claims, e := decodeClaims(payload)
	if e != nil {
		return nil, e
	}
	return claims, nil
}

func (l *Login) principal(s *sessionState) (*paved.Principal, error) {
	claims, err := idTokenClaims(s.IDToken)
	if err != nil {
		return nil, err
	}
	if iss, _ := claims["iss"].(string); iss != l.cfg.Issuer {
		return nil, errCookie // another issuer's ID token
	}
	return l.iss.principal(claims), nil
}
