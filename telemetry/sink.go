package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pavedroad/paved"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
)

// Attribute keys of the paved metrics. Failure causes use the semantic
// conventions' error.type.
const (
	KeyOutcome   = attribute.Key("paved.outcome")
	KeyErrorType = attribute.Key("error.type")
	KeyComponent = attribute.Key("paved.component")
	KeyMFA       = attribute.Key("paved.mfa")
	KeySeverity  = attribute.Key("paved.severity")
	KeyStatus    = attribute.Key("paved.status")
)

type pair struct{ a, b string }

// eventMetrics holds the instruments and bound attribute sets of the
// security and platform metrics.
type eventMetrics struct {
	authn       metric.Int64Counter
	authnTable  *table[pair] // outcome, reason
	authnDur    metric.Float64Histogram
	outcomes    *table[string] // outcome only
	mfa         metric.Int64Counter
	mfaYes      *bound
	mfaNo       *bound
	authz       metric.Int64Counter
	authzTable  *table[string] // reason
	policy      metric.Int64Counter
	policyTable *table[pair]
	policyDur   metric.Float64Histogram
	rate        metric.Int64Counter
	panics      metric.Int64Counter
	origin      metric.Int64Counter
	sessions    metric.Int64Counter
	reasonTable *table[string] // error.type only, shared by single-reason counters
	compTable   *table[string] // component only

	secLogin, secRenew, secRotate, secFail metric.Int64Counter
	leases                                 metric.Float64Gauge
	certExpiry                             metric.Float64Gauge

	vulns   metric.Int64Gauge
	vulnMu  sync.Mutex
	vulnIDs map[*bound]map[string]bool // severity -> IDs
	sevs    *table[string]

	deploy      metric.Float64Gauge
	commitTime  metric.Float64Gauge
	ready       metric.Int64Gauge
	readyTrans  metric.Int64Counter
	readyLast   metric.Float64Gauge
	statusTable *table[string]
	readyMu     sync.Mutex
	readyPrev   string

	none *bound
}

const maxVulnIDs = 10000

func (t *Telemetry) instruments() error {
	m := t.meter
	var err error
	must := func(e error) {
		if err == nil {
			err = e
		}
	}
	c := func(name, desc, unit string) metric.Int64Counter {
		i, e := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		must(e)
		return i
	}
	t.overflow = c("paved.telemetry.attribute_overflow", "Measurements recorded with _OTHER because an instrument reached its bound of attribute sets.", "{measurement}")
	max := t.s.cfg.MaxAttributeSets
	e := &eventMetrics{vulnIDs: map[*bound]map[string]bool{}, none: newBound()}
	e.authn = c("paved.authn.attempts", "Authentication attempts, by outcome and failure reason.", "{attempt}")
	e.authnTable = newTable(max, func(k pair) []attribute.KeyValue {
		kv := []attribute.KeyValue{KeyOutcome.String(clip(k.a))}
		if k.b != "" {
			kv = append(kv, KeyErrorType.String(clip(k.b)))
		}
		return kv
	}, pair{"failure", Other}, t.overflowFunc("paved.authn.attempts"))
	h, herr := m.Float64Histogram("paved.authn.duration", metric.WithDescription("Time an authentication took."), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
	must(herr)
	e.authnDur = h
	e.outcomes = newTable(16, func(k string) []attribute.KeyValue { return []attribute.KeyValue{KeyOutcome.String(clip(k))} }, Other, t.overflowFunc("paved.outcome"))
	e.mfa = c("paved.authn.mfa", "Successful authentications, by whether multi-factor authentication was used; the MFA share is the true series over the total.", "{authentication}")
	e.mfaYes, e.mfaNo = newBound(KeyMFA.Bool(true)), newBound(KeyMFA.Bool(false))
	e.authz = c("paved.authz.denials", "Requests denied authorization, by reason.", "{request}")
	e.reasonTable = newTable(max, func(k string) []attribute.KeyValue {
		if k == "" {
			return nil
		}
		return []attribute.KeyValue{KeyErrorType.String(clip(k))}
	}, Other, t.overflowFunc("error.type"))
	e.authzTable = e.reasonTable
	e.policy = c("paved.policy.decisions", "Policy decisions, by outcome and reason.", "{decision}")
	e.policyTable = newTable(max, func(k pair) []attribute.KeyValue {
		kv := []attribute.KeyValue{KeyOutcome.String(clip(k.a))}
		if k.b != "" {
			kv = append(kv, KeyErrorType.String(clip(k.b)))
		}
		return kv
	}, pair{"denied", Other}, t.overflowFunc("paved.policy.decisions"))
	h, herr = m.Float64Histogram("paved.policy.duration", metric.WithDescription("Time a policy decision took."), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1))
	must(herr)
	e.policyDur = h
	e.rate = c("paved.ratelimit.denials", "Requests refused by a rate limit.", "{request}")
	e.panics = c("paved.http.panics", "Handler panics recovered.", "{panic}")
	e.origin = c("paved.http.cross_origin_rejections", "Cross-origin requests rejected.", "{request}")
	e.sessions = c("paved.authn.sessions_ended", "Sessions ended, by cause.", "{session}")
	e.compTable = newTable(64, func(k string) []attribute.KeyValue {
		if k == "" {
			return nil
		}
		return []attribute.KeyValue{KeyComponent.String(clip(k))}
	}, Other, t.overflowFunc("paved.component"))
	e.secLogin = c("paved.secrets.logins", "Logins to the secret store, by outcome.", "{login}")
	e.secRenew = c("paved.secrets.renewals", "Token and lease renewals, by outcome.", "{renewal}")
	e.secRotate = c("paved.secrets.rotations", "Rotations to a fresh secret or certificate.", "{rotation}")
	e.secFail = c("paved.secrets.failures", "Secret-store failures, by cause.", "{failure}")
	g, gerr := m.Float64Gauge("paved.secrets.leases", metric.WithDescription("Live leases held."), metric.WithUnit("{lease}"))
	must(gerr)
	e.leases = g
	g, gerr = m.Float64Gauge("paved.tls.certificate.expiry", metric.WithDescription("Time until the served certificate expires, when last issued or rotated."), metric.WithUnit("s"))
	must(gerr)
	e.certExpiry = g
	ig, igerr := m.Int64Gauge("paved.sbom.vulnerabilities", metric.WithDescription("Known vulnerabilities in the running binary, by severity."), metric.WithUnit("{vulnerability}"))
	must(igerr)
	e.vulns = ig
	e.sevs = newTable(16, func(k string) []attribute.KeyValue { return []attribute.KeyValue{KeySeverity.String(clip(k))} }, Other, t.overflowFunc("paved.severity"))
	g, gerr = m.Float64Gauge("paved.service.deployment", metric.WithDescription("Start time of this deployment (Unix seconds), with its VCS revision."), metric.WithUnit("s"))
	must(gerr)
	e.deploy = g
	g, gerr = m.Float64Gauge("paved.service.commit_time", metric.WithDescription("Commit time of the running revision (Unix seconds); lead time for changes is deployment minus commit time."), metric.WithUnit("s"))
	must(gerr)
	e.commitTime = g
	ig, igerr = m.Int64Gauge("paved.service.readiness", metric.WithDescription("1 for the service's current readiness status, 0 for the others."), metric.WithUnit("1"))
	must(igerr)
	e.ready = ig
	e.readyTrans = c("paved.service.readiness.transitions", "Readiness transitions, by the status entered.", "{transition}")
	g, gerr = m.Float64Gauge("paved.service.readiness.last_transition", metric.WithDescription("When the service last entered each readiness status (Unix seconds)."), metric.WithUnit("s"))
	must(gerr)
	e.readyLast = g
	e.statusTable = newTable(16, func(k string) []attribute.KeyValue { return []attribute.KeyValue{KeyStatus.String(clip(k))} }, Other, t.overflowFunc("paved.status"))
	if err != nil {
		return err
	}
	t.sink = e
	if err := t.httpInstruments(); err != nil {
		return err
	}
	return t.postureInstruments()
}

var _ paved.Sink = (*Telemetry)(nil)

// Enabled reports whether t records events: when metrics or logs are on,
// until Shutdown.
func (t *Telemetry) Enabled(context.Context, paved.EventType) bool {
	return t != nil && (t.metrics || t.logs) && !t.closed.Load()
}

// Emit records e as metrics (no allocation for a known attribute set) and,
// for failures, denials and platform events, as a log record. An event's
// Subject never reaches a metric, nor a log without AllowSubjectInLogs.
func (t *Telemetry) Emit(ctx context.Context, e paved.Event) {
	if t == nil || t.closed.Load() {
		return
	}
	if t.metrics {
		t.record(ctx, &e)
	}
	if t.logs && loggable(&e) {
		t.logEvent(ctx, &e)
	}
}

func (t *Telemetry) record(ctx context.Context, e *paved.Event) {
	m := t.sink
	switch e.Type {
	case paved.EventAuthnSuccess, paved.EventAuthnFailure:
		reason := e.Reason
		if e.Outcome == paved.OutcomeSuccess {
			reason = ""
		}
		m.authn.Add(ctx, 1, m.authnTable.get(pair{string(e.Outcome), reason}).add...)
		if e.Duration > 0 {
			m.authnDur.Record(ctx, e.Duration.Seconds(), m.outcomes.get(string(e.Outcome)).rec...)
		}
		if e.Outcome == paved.OutcomeSuccess {
			if mfa, ok := boolAttr(e.Attrs, "mfa"); ok && mfa {
				m.mfa.Add(ctx, 1, m.mfaYes.add...)
			} else {
				m.mfa.Add(ctx, 1, m.mfaNo.add...)
			}
		}
	case paved.EventAuthzDenied:
		m.authz.Add(ctx, 1, m.reasonTable.get(e.Reason).add...)
	case paved.EventPolicyDecision:
		reason := e.Reason
		if e.Outcome == paved.OutcomeSuccess {
			reason = ""
		}
		m.policy.Add(ctx, 1, m.policyTable.get(pair{string(e.Outcome), reason}).add...)
		if e.Duration > 0 {
			m.policyDur.Record(ctx, e.Duration.Seconds(), m.outcomes.get(string(e.Outcome)).rec...)
		}
	case paved.EventRateLimited:
		m.rate.Add(ctx, 1, m.compTable.get(e.Component).add...)
	case paved.EventPanicRecovered:
		m.panics.Add(ctx, 1, m.compTable.get(e.Component).add...)
	case paved.EventOriginRejected:
		m.origin.Add(ctx, 1, m.compTable.get(e.Component).add...)
	case paved.EventSessionEnded:
		m.sessions.Add(ctx, 1, m.reasonTable.get(e.Reason).add...)
	case paved.EventSecretLogin:
		m.secLogin.Add(ctx, 1, m.outcomes.get(string(e.Outcome)).add...)
	case paved.EventSecretRenewal:
		m.secRenew.Add(ctx, 1, m.outcomes.get(string(e.Outcome)).add...)
	case paved.EventSecretRotation:
		m.secRotate.Add(ctx, 1, m.outcomes.get(string(e.Outcome)).add...)
	case paved.EventSecretFailure:
		m.secFail.Add(ctx, 1, m.reasonTable.get(e.Reason).add...)
	case paved.EventLeaseCount:
		m.leases.Record(ctx, e.Value, m.none.rec...)
	case paved.EventCertificateExpiry:
		m.certExpiry.Record(ctx, e.Value, m.compTable.get(e.Component).rec...)
	case paved.EventVulnerability:
		t.recordVulnerability(ctx, e)
	case paved.EventDeployment:
		// Recorded by emitDeployment, which has the build info.
	case paved.EventReadiness:
		t.recordReadiness(ctx, e)
	}
}

func (t *Telemetry) recordVulnerability(ctx context.Context, e *paved.Event) {
	m := t.sink
	sev := e.Reason
	if sev == "" {
		sev = "unknown"
	}
	b := m.sevs.get(sev)
	id := stringAttr(e.Attrs, "id")
	m.vulnMu.Lock()
	ids := m.vulnIDs[b]
	if ids == nil {
		ids = map[string]bool{}
		m.vulnIDs[b] = ids
	}
	if id == "" {
		id = "#" + time.Now().String() // no ID: count each event
	}
	if len(ids) < maxVulnIDs {
		ids[id] = true
	}
	n := int64(len(ids))
	if e.Value > 0 {
		n = int64(e.Value)
	}
	m.vulnMu.Unlock()
	m.vulns.Record(ctx, n, b.rec...)
}

var readyStatuses = []string{"ready", "degraded", "fail", "draining"}

func (t *Telemetry) recordReadiness(ctx context.Context, e *paved.Event) {
	m := t.sink
	status := e.Reason
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	for _, s := range readyStatuses {
		v := int64(0)
		if s == status {
			v = 1
		}
		m.ready.Record(ctx, v, m.statusTable.get(s).rec...)
	}
	b := m.statusTable.get(status)
	m.readyTrans.Add(ctx, 1, b.add...)
	m.readyLast.Record(ctx, float64(e.Time.UnixNano())/1e9, b.rec...)
	m.readyPrev = status
}

// emitDeployment records this start as a deployment and emits
// [paved.EventDeployment] with the VCS revision, commit time and modified
// flag.
func (t *Telemetry) emitDeployment(ctx context.Context) {
	b := t.build
	attrs := []slog.Attr{slog.String("vcs.revision", b.Revision), slog.Bool("vcs.modified", b.Modified),
		slog.String("service.version", b.serviceVersion())}
	if !b.Time.IsZero() {
		attrs = append(attrs, slog.Time("vcs.time", b.Time))
	}
	if t.metrics {
		m := t.sink
		kv := []attribute.KeyValue{KeyVCSRevision.String(b.Revision), KeyVCSModified.Bool(b.Modified)}
		m.deploy.Record(ctx, float64(t.start.UnixNano())/1e9, metric.WithAttributes(kv...))
		if !b.Time.IsZero() {
			m.commitTime.Record(ctx, float64(b.Time.Unix()), metric.WithAttributes(kv...))
		}
		// The service starts ready until told otherwise by readiness events.
	}
	paved.Emit(ctx, paved.DefaultSink(), paved.Event{Type: paved.EventDeployment, Time: t.start, Component: Component,
		Outcome: paved.OutcomeSuccess, Reason: "start", Attrs: attrs})
	if paved.DefaultSink() != paved.Sink(t) && t.logs {
		t.logEvent(ctx, &paved.Event{Type: paved.EventDeployment, Time: t.start, Component: Component, Outcome: paved.OutcomeSuccess, Reason: "start", Attrs: attrs})
	}
}

func loggable(e *paved.Event) bool {
	switch e.Type {
	case paved.EventDeployment, paved.EventReadiness, paved.EventSecretRotation, paved.EventSecretFailure,
		paved.EventVulnerability, paved.EventCertificateExpiry:
		return true
	case paved.EventLeaseCount:
		return false
	}
	return e.Outcome != paved.OutcomeSuccess
}

// logEvent writes e as an OpenTelemetry log record named by its type.
func (t *Telemetry) logEvent(ctx context.Context, e *paved.Event) {
	var r log.Record
	r.SetEventName(string(e.Type))
	r.SetTimestamp(e.Time)
	r.SetObservedTimestamp(time.Now())
	sev, text := log.SeverityInfo, "INFO"
	if e.Outcome == paved.OutcomeFailure || e.Outcome == paved.OutcomeDenied {
		sev, text = log.SeverityWarn, "WARN"
	}
	r.SetSeverity(sev)
	r.SetSeverityText(text)
	r.SetBody(attribute.StringValue(string(e.Type)))
	kv := []attribute.KeyValue{attribute.String("paved.event", string(e.Type)), attribute.String("paved.component", e.Component),
		attribute.String("paved.outcome", string(e.Outcome))}
	if e.Reason != "" {
		kv = append(kv, attribute.String("paved.reason", e.Reason))
	}
	if e.RequestID != "" {
		kv = append(kv, attribute.String("paved.request_id", e.RequestID))
	}
	if e.Duration > 0 {
		kv = append(kv, attribute.Float64("paved.duration", e.Duration.Seconds()))
	}
	if e.Value != 0 {
		kv = append(kv, attribute.Float64("paved.value", e.Value))
	}
	if e.Subject != "" && t.s.subject {
		kv = append(kv, attribute.String("enduser.id", e.Subject))
	}
	for _, a := range e.Attrs {
		kv = append(kv, logAttr(a))
	}
	r.AddAttributes(kv...)
	t.logger.Emit(ctx, r)
}

func boolAttr(attrs []slog.Attr, key string) (bool, bool) {
	for _, a := range attrs {
		if a.Key == key {
			v := a.Value.Resolve()
			if v.Kind() == slog.KindBool {
				return v.Bool(), true
			}
			return false, false
		}
	}
	return false, false
}

func stringAttr(attrs []slog.Attr, key string) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value.Resolve().String()
		}
	}
	return ""
}
