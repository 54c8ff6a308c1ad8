package sbom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/pavedroad/paved"
)

// OptOutAllowVulnerableStart is the name of the opt-out that lets
// [AuditSelf] return without an error when findings reach the threshold.
const OptOutAllowVulnerableStart = "allow-vulnerable-start"

// AllowVulnerableStart returns the opt-out that skips the start-up gate
// of [AuditSelf]: the findings are still reported (log, posture, events)
// but the service starts. Put it in [AuditConfig.OptOuts].
func AllowVulnerableStart(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowVulnerableStart, reason)
}

// SuppressionOptOutName returns the posture name of the opt-out that a VEX
// suppression of the vulnerability id records: "suppress-" + id, one per
// suppressed vulnerability, since each is a road left on purpose with its
// own reason.
func SuppressionOptOutName(id string) string { return "suppress-" + id }

// ErrVulnerable is matched by the [*VulnerableError] of a start-up gate.
var ErrVulnerable = errors.New("sbom: known vulnerabilities at or above the threshold")

// A VulnerableError is [AuditSelf]'s refusal to start: findings that rank
// at or above the threshold.
type VulnerableError struct {
	Threshold Severity
	Findings  []Finding
}

// Error lists the findings' IDs and modules.
func (e *VulnerableError) Error() string {
	parts := make([]string, 0, len(e.Findings))
	for _, f := range e.Findings {
		parts = append(parts, f.String())
	}
	return fmt.Sprintf("sbom: %d known vulnerabilities at or above %s: %s", len(e.Findings), e.Threshold, strings.Join(parts, ", "))
}

// Is matches [ErrVulnerable].
func (e *VulnerableError) Is(target error) bool { return target == ErrVulnerable }

// AuditConfig configures [AuditSelf].
type AuditConfig struct {
	// DB is the vulnerability database directory, in either layout (see
	// [OpenVulnDB]). Required unless VulnDB is set.
	DB string
	// VulnDB is an opened database; it takes precedence over DB.
	VulnDB *VulnDB
	// VEX are OpenVEX files whose not_affected statements suppress
	// findings. Each suppression is recorded as an opt-out in the posture
	// report, with its justification as the reason. A file that cannot be
	// read is a configuration error; a bad statement in it is skipped and
	// counted.
	VEX []string
	// FailOn is the gate's threshold: a finding that ranks at or above it
	// fails AuditSelf with a [*VulnerableError]. Default: high, so that
	// every unscored record of the Go database (unknown ranks as high)
	// stops the start. The [AllowVulnerableStart] opt-out skips the gate.
	FailOn Severity
	// Build is the build to audit. Default: [Self], the running binary.
	Build *Build
	// Options tune the matching; Options.VEX is added to the files above.
	Options AuditOptions
	// OptOuts may hold [AllowVulnerableStart].
	OptOuts []paved.OptOut
	// Name names the instance in the posture report. Default: "1", "2"...
	Name string
	// Events receives one paved.EventVulnerability per finding (nil:
	// paved.DefaultSink).
	Events paved.Sink
	// Posture receives the audit's controls and opt-outs (nil:
	// paved.DefaultPosture).
	Posture *paved.Posture
	// Logger logs the findings and suppressions (nil: slog.Default).
	Logger *slog.Logger
}

// AuditSelf audits the running binary's own build info at start-up: a
// module-level audit against a local database (no network), whose result
// goes to the log (a warning per finding), the posture report and the
// event sink. It returns a [*VulnerableError] when a finding ranks at or
// above cfg.FailOn, unless cfg.OptOuts holds [AllowVulnerableStart], and
// configuration errors ([*paved.ConfigError]) for a missing or unusable
// database or VEX file.
//
// Posture: control "vulnerability-audit" (enabled when no finding is
// left), control "vulnerability-gate" (disabled by the opt-out), one
// disabled control "vulnerability:ID" per finding, and one opt-out
// "suppress-ID" per VEX suppression.
func AuditSelf(ctx context.Context, cfg AuditConfig) (*AuditReport, error) {
	check := paved.ConfigCheck{Component: Component, Prefix: "AuditConfig."}
	db := cfg.VulnDB
	if db == nil {
		if cfg.DB == "" {
			check.Add("DB", "empty", "name a vulnerability database directory, such as the golang.org/x/vulndb module's data/osv")
		} else {
			var err error
			if db, err = OpenVulnDB(cfg.DB); err != nil {
				check.AddErr("DB", err, "name a directory of OSV records or a govulncheck database")
			}
		}
	}
	opts := cfg.Options
	for i, p := range cfg.VEX {
		v, err := ReadVEXFile(p)
		if err != nil {
			check.AddErr("VEX["+strconv.Itoa(i)+"]", err, "name a readable OpenVEX JSON document")
			continue
		}
		opts.VEX = append(opts.VEX, v)
	}
	threshold := cfg.FailOn
	if threshold == "" {
		threshold = SeverityHigh
	} else if _, err := ParseSeverity(string(threshold)); err != nil {
		check.AddErr("FailOn", err, "use SeverityLow, SeverityMedium, SeverityHigh or SeverityCritical")
	}
	allowStart := false
	for i, o := range cfg.OptOuts {
		if err := o.Validate(); err != nil {
			check.AddErr("OptOuts["+strconv.Itoa(i)+"]", err, `give a reason, such as sbom.AllowVulnerableStart("fix is rolling out, tracked in SEC-123")`)
			continue
		}
		if o.Component != Component || o.Name != OptOutAllowVulnerableStart {
			check.Add("OptOuts["+strconv.Itoa(i)+"]", "opt-out "+o.Component+"/"+o.Name+" does not apply here", "AuditSelf takes sbom.AllowVulnerableStart only")
			continue
		}
		allowStart = true
	}
	b := cfg.Build
	if b == nil {
		var err error
		if b, err = Self(); err != nil {
			check.AddErr("Build", err, "run a binary built with module support, or pass Build")
		}
	}
	if err := check.Err(); err != nil {
		return nil, err
	}

	report := db.Audit(b, opts)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	reg := paved.PostureOrDefault(cfg.Posture).Register(Component, cfg.Name)
	detail := fmt.Sprintf("%d findings, %d suppressed by VEX, %d modules against %s", len(report.Findings), len(report.Suppressed), report.Modules, report.Database)
	if report.Warnings > 0 {
		detail += fmt.Sprintf(", %d malformed records skipped", report.Warnings)
	}
	reg.SetControl("vulnerability-audit", len(report.Findings) == 0, detail)
	gate := "start-up fails at " + string(threshold) + " or above (unknown ranks as high)"
	if allowStart {
		gate = "skipped by opt-out " + OptOutAllowVulnerableStart
	}
	reg.SetControl("vulnerability-gate", !allowStart, gate)
	for _, o := range cfg.OptOuts {
		_ = reg.AddOptOut(o)
	}
	for _, f := range report.Findings {
		d := f.Module + "@" + f.Version + " is affected (" + string(f.Severity) + ")"
		if f.FixedVersion != "" {
			d += "; fixed in " + f.FixedVersion
		}
		reg.SetControl("vulnerability:"+f.ID, false, d)
		logger.LogAttrs(ctx, slog.LevelWarn, "sbom: known vulnerability", slog.String("id", f.ID), slog.String("module", f.Module),
			slog.String("version", f.Version), slog.String("fixed", f.FixedVersion), slog.String("severity", string(f.Severity)), slog.String("summary", f.Summary))
		if paved.EventsEnabled(ctx, cfg.Events, paved.EventVulnerability) {
			paved.Emit(ctx, cfg.Events, paved.Event{
				Type: paved.EventVulnerability, Component: Component, Outcome: paved.OutcomeFailure, Reason: string(f.Severity),
				Attrs: []slog.Attr{slog.String("id", f.ID), slog.String("module", f.Module), slog.String("version", f.Version), slog.String("fixed_version", f.FixedVersion)},
			})
		}
	}
	for _, f := range report.Suppressed {
		_ = reg.AddOptOut(paved.NewOptOut(Component, SuppressionOptOutName(f.ID), f.Module+"@"+f.Version+": "+f.Suppression.Reason()))
	}
	// The gate's opt-out and every suppression are logged at start-up,
	// like every other opt-out.
	paved.PostureOrDefault(cfg.Posture).LogOptOuts(ctx, logger)
	if report.Warnings > 0 {
		logger.LogAttrs(ctx, slog.LevelWarn, "sbom: malformed vulnerability or VEX records skipped", slog.Int("count", report.Warnings), slog.Any("first", report.Messages))
	}
	if above := report.Above(threshold); len(above) > 0 && !allowStart {
		return report, &VulnerableError{Threshold: threshold, Findings: above}
	}
	return report, nil
}
