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

// Common event types, each emitted by at least one package. A package that
// needs another type defines it beside its code, prefixed with its
// component.
const (
	EventAuthnSuccess   EventType = "authn.success"
	EventAuthnFailure   EventType = "authn.failure"
	EventAuthzDenied    EventType = "authz.denied"
	EventRateLimited    EventType = "ratelimit.denied"
	EventPanicRecovered EventType = "http.panic"
	EventOriginRejected EventType = "http.cross_origin_rejected"
	EventSessionEnded   EventType = "authn.session_ended"

	// Secrets (package secrets): a login to the secret store, a token or
	// lease renewal, a rotation to a fresh secret or certificate, a failure
	// of any of these (Reason says which), and the live lease count (Value).
	EventSecretLogin    EventType = "secrets.login"
	EventSecretRenewal  EventType = "secrets.renewal"
	EventSecretRotation EventType = "secrets.rotation"
	EventSecretFailure  EventType = "secrets.failure"
	EventLeaseCount     EventType = "secrets.lease_count"
	// EventCertificateExpiry reports a served certificate's remaining
	// lifetime in seconds (Value) when it is issued or rotated.
	EventCertificateExpiry EventType = "tls.certificate_expiry"

	// EventPolicyDecision is one authorization decision (package policy);
	// Outcome is success (allowed) or denied, Reason the policy's first
	// reason or the failure cause.
	EventPolicyDecision EventType = "policy.decision"

	// EventVulnerability is a known vulnerability found in the running
	// binary (package sbom); Reason is its severity, Attrs its ID and module.
	EventVulnerability EventType = "sbom.vulnerability"

	// EventDeployment is emitted once when a service starts (package
	// telemetry), with its VCS revision and commit time in Attrs.
	EventDeployment EventType = "service.deployment"
	// EventReadiness is a readiness transition (Reason "ready" or
	// "degraded"), from which a platform derives time to restore.
	EventReadiness EventType = "service.readiness"
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
	// Value is a quantity the event reports, when it reports one: a lease
	// count, seconds until a certificate expires, a number of findings.
	Value float64
	// Attrs holds further non-secret details.
	Attrs []slog.Attr
}

// A Sink receives security events. Like [slog.Handler], it says first
// whether it wants an event of a type, so that a package builds the event
// (and its attributes) only for a sink that will use it; [Emit] asks for
// you. Both methods must be safe for concurrent use and should not block:
// a slow sink slows the request that emitted the event.
//
// Every paved package names its sink field Events, and a nil Events means
// [DefaultSink] at the time of each event.
type Sink interface {
	Enabled(ctx context.Context, t EventType) bool
	Emit(ctx context.Context, e Event)
}

// SinkFunc adapts a function to a [Sink] that wants every event.
type SinkFunc func(ctx context.Context, e Event)

// Enabled reports true.
func (f SinkFunc) Enabled(context.Context, EventType) bool { return true }

// Emit calls f(ctx, e).
func (f SinkFunc) Emit(ctx context.Context, e Event) { f(ctx, e) }

// NopSink discards every event. It is the default sink.
type NopSink struct{}

// Enabled reports false.
func (NopSink) Enabled(context.Context, EventType) bool { return false }

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

// SinkOrDefault returns s, or [DefaultSink] when s is nil. Call it at the
// time of the event, not at construction, so that a sink installed later
// by telemetry is used.
func SinkOrDefault(s Sink) Sink {
	if s == nil {
		return DefaultSink()
	}
	return s
}

// EventsEnabled reports whether s (or [DefaultSink] when s is nil) wants
// events of type t: a package checks it before building a costly event.
func EventsEnabled(ctx context.Context, s Sink, t EventType) bool {
	return SinkOrDefault(s).Enabled(ctx, t)
}

// Emit sends e to s, or to [DefaultSink] when s is nil, when that sink is
// enabled for e.Type, filling Time when it is zero.
func Emit(ctx context.Context, s Sink, e Event) {
	s = SinkOrDefault(s)
	if !s.Enabled(ctx, e.Type) {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	s.Emit(ctx, e)
}
