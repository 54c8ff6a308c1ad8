package paved

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// EventType names a kind of security event. Packages define their own
// values as constants, prefixed with the component ("auth.token.rejected").
type EventType string

// Common event types. Packages may add their own.
const (
	EventAuthnSuccess   EventType = "authn.success"
	EventAuthnFailure   EventType = "authn.failure"
	EventAuthzDenied    EventType = "authz.denied"
	EventRateLimited    EventType = "ratelimit.denied"
	EventPanicRecovered EventType = "http.panic"
	EventOriginRejected EventType = "http.cross_origin_rejected"
	EventSecretAccess   EventType = "secret.access"
	EventPolicyDecision EventType = "policy.decision"
	EventOptOutUsed     EventType = "posture.opt_out"
)

// Outcome is the result an event reports.
type Outcome string

// Outcomes.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomeDenied  Outcome = "denied"
)

// An Event is one security-relevant occurrence. Events never carry secret
// material: a token, password or key must not appear in any field.
type Event struct {
	Type      EventType
	Time      time.Time
	Component string
	Outcome   Outcome
	// Reason is a short machine-friendly cause, such as "expired" or
	// "unknown_kid".
	Reason string
	// Subject is the caller's identity when known, else empty.
	Subject string
	// RequestID links the event to the access log when it comes from a
	// request.
	RequestID string
	// Duration is how long the operation took, when measured.
	Duration time.Duration
	// Attrs holds further non-secret details.
	Attrs []slog.Attr
}

// A Sink receives security events. Emit must be safe for concurrent use and
// should not block: a slow sink slows the request that emitted the event.
type Sink interface {
	Emit(ctx context.Context, e Event)
}

// SinkFunc adapts a function to a [Sink].
type SinkFunc func(ctx context.Context, e Event)

// Emit calls f(ctx, e).
func (f SinkFunc) Emit(ctx context.Context, e Event) { f(ctx, e) }

// NopSink discards every event. It is the default sink.
type NopSink struct{}

// Emit does nothing.
func (NopSink) Emit(context.Context, Event) {}

var (
	_ Sink = SinkFunc(nil)
	_ Sink = NopSink{}
)

type sinkBox struct{ s Sink }

var defaultSink atomic.Pointer[sinkBox]

// SetDefaultSink makes s the process-wide sink used by packages whose
// configuration names none. A nil s restores the no-op sink. telemetry.Setup
// calls it; most programs never need to.
func SetDefaultSink(s Sink) {
	if s == nil {
		defaultSink.Store(nil)
		return
	}
	defaultSink.Store(&sinkBox{s})
}

// DefaultSink returns the process-wide sink, [NopSink] unless
// [SetDefaultSink] was called.
func DefaultSink() Sink {
	if b := defaultSink.Load(); b != nil {
		return b.s
	}
	return NopSink{}
}

// Emit sends e to s, or to [DefaultSink] when s is nil, filling Time when it
// is zero.
func Emit(ctx context.Context, s Sink, e Event) {
	if s == nil {
		s = DefaultSink()
	}
	if _, nop := s.(NopSink); nop {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	s.Emit(ctx, e)
}
