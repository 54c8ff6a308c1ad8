package telemetry

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"go.opentelemetry.io/otel/attribute"
)

func TestEventMetrics(t *testing.T) {
	rg := newRig(t, Config{})
	ctx := context.Background()
	emit := func(e paved.Event) { paved.Emit(ctx, rg.tel, e) }
	emit(paved.Event{Type: paved.EventAuthnSuccess, Component: "auth", Outcome: paved.OutcomeSuccess, Subject: "alice@example.com",
		Duration: 3 * time.Millisecond, Attrs: []slog.Attr{slog.Bool("mfa", true)}})
	emit(paved.Event{Type: paved.EventAuthnSuccess, Component: "auth", Outcome: paved.OutcomeSuccess, Subject: "bob", Duration: time.Millisecond})
	emit(paved.Event{Type: paved.EventAuthnFailure, Component: "auth", Outcome: paved.OutcomeFailure, Reason: "expired", Duration: time.Millisecond})
	emit(paved.Event{Type: paved.EventAuthnFailure, Component: "auth", Outcome: paved.OutcomeFailure, Reason: "expired"})
	emit(paved.Event{Type: paved.EventAuthzDenied, Component: "auth", Outcome: paved.OutcomeDenied, Reason: "missing_scope"})
	emit(paved.Event{Type: paved.EventPolicyDecision, Component: "policy", Outcome: paved.OutcomeSuccess, Reason: "owner"})
	emit(paved.Event{Type: paved.EventPolicyDecision, Component: "policy", Outcome: paved.OutcomeDenied, Reason: "not_owner"})
	emit(paved.Event{Type: paved.EventRateLimited, Component: "httpx", Outcome: paved.OutcomeDenied, Reason: "rate_limited"})
	emit(paved.Event{Type: paved.EventSecretLogin, Component: "secrets", Outcome: paved.OutcomeSuccess, Reason: "approle"})
	emit(paved.Event{Type: paved.EventSecretRenewal, Component: "secrets", Outcome: paved.OutcomeSuccess})
	emit(paved.Event{Type: paved.EventSecretRotation, Component: "secrets", Outcome: paved.OutcomeSuccess})
	emit(paved.Event{Type: paved.EventSecretFailure, Component: "secrets", Outcome: paved.OutcomeFailure, Reason: "login"})
	emit(paved.Event{Type: paved.EventLeaseCount, Component: "secrets", Value: 4})
	emit(paved.Event{Type: paved.EventCertificateExpiry, Component: "secrets", Value: 86400})
	emit(paved.Event{Type: paved.EventVulnerability, Component: "sbom", Reason: "HIGH", Attrs: []slog.Attr{slog.String("id", "GO-2026-0001")}})
	emit(paved.Event{Type: paved.EventVulnerability, Component: "sbom", Reason: "HIGH", Attrs: []slog.Attr{slog.String("id", "GO-2026-0002")}})
	emit(paved.Event{Type: paved.EventVulnerability, Component: "sbom", Reason: "HIGH", Attrs: []slog.Attr{slog.String("id", "GO-2026-0001")}})
	emit(paved.Event{Type: paved.EventReadiness, Component: "httpx", Outcome: paved.OutcomeFailure, Reason: "degraded", Time: time.Unix(1000, 0)})
	emit(paved.Event{Type: paved.EventReadiness, Component: "httpx", Outcome: paved.OutcomeSuccess, Reason: "ready", Time: time.Unix(1060, 0)})

	rm := rg.collect(t)
	want := map[string]map[string]float64{
		"paved.authn.attempts":                    {"paved.outcome=success": 2, "error.type=expired,paved.outcome=failure": 2},
		"paved.authn.duration":                    {"paved.outcome=success": 2, "paved.outcome=failure": 1},
		"paved.authn.mfa":                         {"paved.mfa=true": 1, "paved.mfa=false": 1},
		"paved.authz.denials":                     {"error.type=missing_scope": 1},
		"paved.policy.decisions":                  {"paved.outcome=success": 1, "error.type=not_owner,paved.outcome=denied": 1},
		"paved.ratelimit.denials":                 {"paved.component=httpx": 1},
		"paved.secrets.logins":                    {"paved.outcome=success": 1},
		"paved.secrets.renewals":                  {"paved.outcome=success": 1},
		"paved.secrets.rotations":                 {"paved.outcome=success": 1},
		"paved.secrets.failures":                  {"error.type=login": 1},
		"paved.secrets.leases":                    {"": 4},
		"paved.tls.certificate.expiry":            {"paved.component=secrets": 86400},
		"paved.sbom.vulnerabilities":              {"paved.severity=HIGH": 2},
		"paved.service.readiness":                 {"paved.status=ready": 1, "paved.status=degraded": 0, "paved.status=fail": 0, "paved.status=draining": 0},
		"paved.service.readiness.transitions":     {"paved.status=ready": 1, "paved.status=degraded": 1},
		"paved.service.readiness.last_transition": {"paved.status=ready": 1060, "paved.status=degraded": 1000},
	}
	for name, w := range want {
		if got := points(t, rm, name); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s:\n got %v\nwant %v", name, got, w)
		}
	}
	// No metric carries a subject.
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s := fmt.Sprint(m.Data); strings.Contains(s, "alice") || strings.Contains(s, "bob") {
				t.Errorf("%s carries a subject", m.Name)
			}
		}
	}
}

func TestEventReasonFloodIsBounded(t *testing.T) {
	rg := newRig(t, Config{MaxAttributeSets: 16})
	for i := range 1000 {
		paved.Emit(context.Background(), rg.tel, paved.Event{Type: paved.EventAuthnFailure, Outcome: paved.OutcomeFailure, Reason: fmt.Sprintf("r%d", i)})
	}
	rm := rg.collect(t)
	got := points(t, rm, "paved.authn.attempts")
	if len(got) != 17 || got["error.type=_OTHER,paved.outcome=failure"] != 984 {
		t.Errorf("%d sets, overflow %v", len(got), got["error.type=_OTHER,paved.outcome=failure"])
	}
	if o := points(t, rm, "paved.telemetry.attribute_overflow"); o["paved.instrument=paved.authn.attempts"] != 984 {
		t.Errorf("overflow = %v", o)
	}
}

func TestDeploymentEvent(t *testing.T) {
	rg := newRig(t, Config{})
	rg.tel.build = BuildInfo{Revision: "abc123", Time: time.Unix(5000, 0), Modified: true}
	rg.tel.start = time.Unix(8600, 0)
	rg.tel.emitDeployment(context.Background())
	rm := rg.collect(t)
	if got := points(t, rm, "paved.service.deployment"); got["paved.vcs.modified=true,vcs.ref.head.revision=abc123"] != 8600 {
		t.Errorf("deployment = %v", got)
	}
	if got := points(t, rm, "paved.service.commit_time"); got["paved.vcs.modified=true,vcs.ref.head.revision=abc123"] != 5000 {
		t.Errorf("commit time = %v", got)
	}
	_ = rg.tel.ForceFlush(context.Background())
	var found bool
	for _, r := range rg.logs.all() {
		if r.EventName() == string(paved.EventDeployment) {
			found = true
		}
	}
	if !found {
		t.Error("no deployment log record")
	}
}

func TestEventLogsOmitSubject(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprint("allow=", allow), func(t *testing.T) {
			cfg := Config{}
			if allow {
				cfg.OptOuts = []paved.OptOut{AllowSubjectInLogs("audit trail")}
			}
			rg := newRig(t, cfg)
			paved.Emit(context.Background(), rg.tel, paved.Event{Type: paved.EventAuthzDenied, Component: "auth", Outcome: paved.OutcomeDenied, Reason: "missing_scope", Subject: "alice"})
			_ = rg.tel.ForceFlush(context.Background())
			var buf bytes.Buffer
			for _, r := range rg.logs.all() {
				r.WalkAttributes(func(kv attribute.KeyValue) bool { fmt.Fprintf(&buf, "%s=%s ", kv.Key, kv.Value.String()); return true })
			}
			if got := strings.Contains(buf.String(), "enduser.id=alice"); got != allow {
				t.Errorf("subject logged = %v, want %v: %s", got, allow, buf.String())
			}
			if !strings.Contains(buf.String(), "paved.reason=missing_scope") {
				t.Errorf("no reason in %s", buf.String())
			}
		})
	}
}
