package auth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// Session end reasons, in the Reason of [paved.EventSessionEnded].
const (
	// SessionEndLogout: the user logged out.
	SessionEndLogout = "logout"
	// SessionEndExpired: the session reached LoginConfig.SessionTTL
	// (attribute ended_by "session_ttl"), or its access token ran out and
	// the provider had issued no refresh token (ended_by "access_token"):
	// outcome success, it is how such a session ends.
	SessionEndExpired = "expired"
	// SessionEndRefreshFailed: the access token ran out and renewing it
	// failed (outcome failure). Attribute cause: "refresh_refused" (the
	// token endpoint refused it or could not be reached),
	// "id_token_invalid" or "other_subject" (the refreshed ID token did
	// not verify, or named another user: OpenID Connect Core 12.2),
	// "session_store_error" or "session_too_large" (the renewed session
	// could not be saved), "session_deleted" (the session left the store
	// while it was renewed).
	SessionEndRefreshFailed = "refresh_failed"
	// SessionEndReplaced: a new sign-in replaced the session.
	SessionEndReplaced = "replaced"
)

func (v *Verifier) emitSuccess(ctx context.Context, p *paved.Principal, start time.Time) {
	if !paved.EventsEnabled(ctx, v.cfg.Events, paved.EventAuthnSuccess) {
		return
	}
	paved.Emit(ctx, v.cfg.Events, paved.Event{
		Type: paved.EventAuthnSuccess, Component: Component, Outcome: paved.OutcomeSuccess,
		Subject: p.Subject, RequestID: httpx.RequestIDFrom(ctx), Duration: time.Since(start),
		Attrs: []slog.Attr{slog.String("issuer", p.Issuer), slog.Bool("mfa", MFAPresent(p))},
	})
}

func (v *Verifier) emitFailure(ctx context.Context, err error, start time.Time) {
	if !paved.EventsEnabled(ctx, v.cfg.Events, paved.EventAuthnFailure) {
		return
	}
	var attrs []slog.Attr
	var e *Error
	if errors.As(err, &e) && e.Issuer != "" {
		attrs = append(attrs, slog.String("issuer", e.Issuer))
	}
	paved.Emit(ctx, v.cfg.Events, paved.Event{
		Type: paved.EventAuthnFailure, Component: Component, Outcome: paved.OutcomeFailure,
		Reason: reasonOf(err), RequestID: httpx.RequestIDFrom(ctx), Duration: time.Since(start), Attrs: attrs,
	})
}
