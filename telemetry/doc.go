// Package telemetry wires OpenTelemetry (go.opentelemetry.io/otel) into a
// service in one call.
//
// It will hold: tracer, meter and logger providers, an implementation of
// [paved.Sink] that turns security events into metrics and logs, and the
// posture report (every control and opt-out, with a compliance score) served
// as JSON. A service that does not import telemetry pulls in no
// OpenTelemetry SDK.
package telemetry

import _ "github.com/pavedroad/paved" // for the doc link
