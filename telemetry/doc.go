// Package telemetry wires OpenTelemetry (go.opentelemetry.io/otel) into a
// service in one call, turns paved's security events into metrics and logs,
// and serves the posture report.
//
// # Setup
//
//	tel, err := telemetry.Setup(ctx, telemetry.Config{})
//	if err != nil {
//		return err // names the faulty field or OTEL_* variable
//	}
//	defer tel.Shutdown(context.Background()) // flushes, within Config.ShutdownTimeout
//
// The resource comes from the build: service.name from OTEL_SERVICE_NAME or
// the main module, service.version from the module version or the VCS
// revision (vcs.ref.head.revision, with paved.vcs.time and
// paved.vcs.modified beside it), deployment.environment.name from
// Config.Environment or OTEL_RESOURCE_ATTRIBUTES. Traces, metrics and logs
// go by OTLP (gRPC or HTTP) when an endpoint is configured, in
// [Config.OTLP] or the standard OTEL_EXPORTER_OTLP_* variables; to stdout
// with [ExporterStdout]; and nowhere otherwise: nothing is exported unless
// configured, and then [Telemetry.Middleware] wraps no handler at all.
// Sampling is parent-based with a ratio for new traces (Config.SampleRatio
// or OTEL_TRACES_SAMPLER_ARG). Every OTEL_* variable the SDK reads is
// validated up front: a bad one fails Setup with a [paved.ConfigError]
// naming it, instead of being ignored. Plain-text export is allowed to
// loopback only, unless [AllowPlaintextExport].
//
// Exporters never hold up a request: spans and log records go through
// bounded queues (Config.QueueSize) that drop when the collector is slow
// or down, and count what they drop in the SDK's own
// otel.sdk.processor.span.processed and otel.sdk.processor.log.processed
// with error.type="queue_full" (Setup sets OTEL_GO_X_OBSERVABILITY=true
// when it is unset to turn those on; they go to the global meter
// provider, which Setup installs unless Config.LeaveGlobals).
//
// # HTTP
//
// [Telemetry.Middleware] gives each request a server span named by its
// route ("GET /orders/{id}") and records the stable HTTP metrics of the
// semantic conventions (http.server.request.duration, plus
// http.server.active_requests; the body sizes with Config.HTTP.BodySizes), attributed by
// http.route from r.Pattern, never by the raw path. Wrap the handler you
// give httpx (httpx.Config.Handler) or each route: /livez and /readyz are
// then answered by httpx before it, and are skipped by the middleware too.
// An inbound traceparent from a client is linked to the server span, not
// its parent, so that a client can neither pick the trace a request joins
// nor force it to be sampled; [TrustTraceContext] makes it the parent, for
// internal services. Every attribute set is built once and bounded
// (Config.MaxAttributeSets): a flood of routes records _OTHER past the
// bound and counts it in paved.telemetry.attribute_overflow.
//
// # Logs
//
// [Telemetry.LogHandler] wraps a slog.Handler: records keep going to it,
// with trace_id and span_id added, and go to the OpenTelemetry log
// pipeline through the otelslog bridge, with the trace and span IDs in the
// record's trace fields. Every slog.LogValuer is resolved first, so a value
// that redacts itself (paved's secret types) stays redacted in the export.
//
// # Security and platform metrics
//
// A *Telemetry is a [paved.Sink]; Setup installs it as paved's default sink
// (unless Config.LeaveDefaultSink), so the events httpx, auth, secrets,
// policy and sbom emit become metrics, with pre-bound attribute sets
// (recording one allocates nothing), and failures, denials and platform
// events also become log records. No stable semantic convention covers
// these, so paved names them under paved.* and reuses error.type for
// causes:
//
//	paved.authn.attempts{paved.outcome, error.type}     authentication attempts
//	paved.authn.duration{paved.outcome}                 authentication latency (s)
//	paved.authn.mfa{paved.mfa}                          successful authentications with or without MFA
//	paved.authz.denials{error.type}                     authorization denials
//	paved.policy.decisions{paved.outcome, error.type}   policy decisions (and paved.policy.duration)
//	paved.ratelimit.denials{paved.component}            rate-limited requests
//	paved.http.panics, paved.http.cross_origin_rejections, paved.authn.sessions_ended{error.type}
//	paved.secrets.logins|renewals|rotations{paved.outcome}, paved.secrets.failures{error.type}
//	paved.secrets.leases                                live leases (gauge)
//	paved.tls.certificate.expiry{paved.component}       seconds until the served certificate expires
//	paved.sbom.vulnerabilities{paved.severity}          known vulnerabilities (gauge)
//	paved.service.deployment{vcs.ref.head.revision, paved.vcs.modified}  start time of this deployment
//	paved.service.commit_time{...}                      commit time of the running revision
//	paved.service.readiness{paved.status}               1 for the current readiness status
//	paved.service.readiness.transitions{paved.status}   readiness transitions
//	paved.service.readiness.last_transition{paved.status} when each status was last entered
//	paved.posture.control{paved.component, paved.instance, paved.control}  1 enabled, 0 opted out
//	paved.posture.opt_outs{paved.component, paved.opt_out}, paved.posture.score{...}
//	paved.posture.compliance_score                      the weakest instance's score, 0 to 1
//
// An event's Subject (a raw user identifier) never reaches a metric, nor a
// log unless [AllowSubjectInLogs].
//
// # Queries a platform runs
//
// In Prometheus' names for these metrics (dots become underscores, units
// and _total are appended; resource attributes are in target_info):
//
//	# Deployment frequency: distinct revisions started in a day, per job
//	# (a restart of the same revision is no deployment).
//	count by (job) (count by (job, vcs_ref_head_revision) (max_over_time(paved_service_deployment_seconds[1d])))
//
//	# Lead time for changes: from commit to running, per revision.
//	max by (job, vcs_ref_head_revision) (paved_service_deployment_seconds - paved_service_commit_time_seconds)
//
//	# Time to restore: from the last degraded (or fail) to the ready after it.
//	paved_service_readiness_last_transition_seconds{paved_status="ready"}
//	  - ignoring(paved_status) paved_service_readiness_last_transition_seconds{paved_status="degraded"}
//	# and the share of time not ready
//	1 - avg_over_time(paved_service_readiness{paved_status="ready"}[7d])
//
//	# Change failure signals: 5xx share after a deployment.
//	sum(rate(http_server_request_duration_seconds_count{error_type=~"5.."}[5m]))
//	  / sum(rate(http_server_request_duration_seconds_count[5m]))
//
//	# Authentication failures by reason, MFA share, policy denials, rate limits.
//	sum by (error_type) (rate(paved_authn_attempts_total{paved_outcome="failure"}[5m]))
//	sum(rate(paved_authn_mfa_total{paved_mfa="true"}[1h])) / sum(rate(paved_authn_mfa_total[1h]))
//	sum by (error_type) (rate(paved_policy_decisions_total{paved_outcome="denied"}[5m]))
//	sum(rate(paved_ratelimit_denials_total[5m]))
//
//	# Certificates expiring within a week; services with critical findings.
//	paved_tls_certificate_expiry_seconds < 7 * 86400
//	paved_sbom_vulnerabilities{paved_severity=~"CRITICAL|HIGH"} > 0
//
//	# Fleet compliance: the weakest services, and opt-outs by name.
//	bottomk(10, paved_posture_compliance_score)
//	sum by (paved_component, paved_opt_out) (paved_posture_opt_outs)
//
// # Posture report
//
// [Telemetry.PostureHandler] serves every component instance's controls and
// opt-outs with their reasons, each instance's score and the process's
// compliance score ([paved.Report.Score]) as JSON. It takes the
// authentication middleware that guards it; serving it without one takes
// the [AllowPublicPosture] opt-out, which the report then lists.
//
// Package telemetry/promexport adds a Prometheus scrape endpoint beside or
// instead of OTLP.
package telemetry
