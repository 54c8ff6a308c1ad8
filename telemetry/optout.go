package telemetry

import "github.com/pavedroad/paved"

// Component is the name telemetry uses in opt-outs, controls, events and
// configuration errors.
const Component = "telemetry"

// Names of the telemetry opt-outs: each is the kebab-case form of the
// constructor that returns it.
const (
	OptOutTrustTraceContext    = "trust-trace-context"
	OptOutAllowPlaintextExport = "allow-plaintext-export"
	OptOutAllowSubjectInLogs   = "allow-subject-in-logs"
	OptOutAllowPublicPosture   = "allow-public-posture"
)

var optOutConstructors = map[string]struct{ name, example string }{
	OptOutTrustTraceContext:    {"TrustTraceContext", "internal service behind the mesh; every caller is ours"},
	OptOutAllowPlaintextExport: {"AllowPlaintextExport", "the collector is a node-local agent on a private network"},
	OptOutAllowSubjectInLogs:   {"AllowSubjectInLogs", "audit trail required by the compliance team"},
	OptOutAllowPublicPosture:   {"AllowPublicPosture", "the port is only reachable from the platform scraper"},
}

// TrustTraceContext returns the opt-out that makes inbound trace context
// (traceparent) the parent of a request's server span, as for an internal
// service whose callers are all trusted. By default an inbound context is
// only linked: an untrusted client can neither choose the trace a request
// joins nor force it to be sampled. Put it in [Config.OptOuts].
func TrustTraceContext(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutTrustTraceContext, reason)
}

// AllowPlaintextExport returns the opt-out that lets OTLP export go over
// plain text (an http:// endpoint) to a host other than loopback. Put it in
// [Config.OptOuts].
func AllowPlaintextExport(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowPlaintextExport, reason)
}

// AllowSubjectInLogs returns the opt-out that puts an event's Subject (the
// caller's raw user identifier) in the event logs. By default it is left
// out of logs, and metrics never carry it. Put it in [Config.OptOuts].
func AllowSubjectInLogs(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowSubjectInLogs, reason)
}

// AllowPublicPosture returns the opt-out that serves the posture report
// without authentication. Pass it to [PostureHandler].
func AllowPublicPosture(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowPublicPosture, reason)
}
