package auth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

func (v *Verifier) sink() paved.Sink {
	if v.cfg.Sink != nil {
		return v.cfg.Sink
	}
	return paved.DefaultSink()
}

func (v *Verifier) emitSuccess(ctx context.Context, p *paved.Principal, start time.Time) {
	s := v.sink()
	if _, nop := s.(paved.NopSink); nop {
		return
	}
	paved.Emit(ctx, s, paved.Event{
		Type: paved.EventAuthnSuccess, Component: component, Outcome: paved.OutcomeSuccess,
		Subject: p.Subject, RequestID: httpx.RequestIDFrom(ctx), Duration: time.Since(start),
		Attrs: []slog.Attr{slog.String("issuer", p.Issuer), slog.Bool("mfa", MFAPresent(p))},
	})
}

func (v *Verifier) emitFailure(ctx context.Context, err error, start time.Time) {
	s := v.sink()
	if _, nop := s.(paved.NopSink); nop {
		return
	}
	var attrs []slog.Attr
	var e *Error
	if errors.As(err, &e) && e.Issuer != "" {
		attrs = append(attrs, slog.String("issuer", e.Issuer))
	}
	paved.Emit(ctx, s, paved.Event{
		Type: paved.EventAuthnFailure, Component: component, Outcome: paved.OutcomeFailure,
		Reason: reasonOf(err), RequestID: httpx.RequestIDFrom(ctx), Duration: time.Since(start), Attrs: attrs,
	})
}
