package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/policy/org"
)

// OptOutAllowOrgViolation is the name of the opt-out that waives one rule
// of the organisation policy; the rule's name follows after a colon
// ("allow-org-violation:rate-limit"), so that each waived rule is its own
// line in the posture report.
const OptOutAllowOrgViolation = "allow-org-violation"

// AllowOrgViolation returns the opt-out that lets the service start
// although the organisation policy's rule (such as "rate-limit" or "tls"
// in the default policy, policy/org) denies its posture. The rule's
// messages are still logged at start-up. Put it in
// [ConfigCheckConfig.OptOuts].
func AllowOrgViolation(rule, reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowOrgViolation+":"+rule, reason)
}

// EnvironmentDevelopment is the environment the default organisation
// policy relaxes its TLS, certificate, rate-limit and token rules for.
const EnvironmentDevelopment = "development"

// configCheckTimeout bounds the organisation policy's one evaluation: at
// start-up, on a machine that may be busy starting everything else, a
// request's 50ms would fail a healthy service.
const configCheckTimeout = 5 * time.Second

// ConfigCheckConfig configures [CheckConfig].
type ConfigCheckConfig struct {
	// Service names the service in the policy's input (input.service.name).
	Service string
	// Environment is input.service.environment: "production" when empty.
	// The default organisation policy holds every environment but
	// "development" to all of its rules.
	Environment string
	// AuthRequired says the service must authenticate its callers
	// (input.service.auth_required): the default policy then requires an
	// enforced auth control.
	AuthRequired bool

	// Policy holds the organisation policy's Rego (and data), as
	// Config.FS does; the default policy (policy/org) when nil.
	Policy fs.FS
	// Query is the data reference of the policy's decision: allow,
	// reasons, and obligations.violations, a set or array of {"rule",
	// "msg"} objects. Default "data.paved.org.decision".
	Query string

	// Posture is what is checked, and where the check records its
	// control and waivers; paved.DefaultPosture when nil. Build every
	// server, verifier and engine first: what is not yet registered is
	// not checked.
	Posture *paved.Posture
	// Logger receives each violation (error level, warning when waived);
	// slog.Default when nil.
	Logger *slog.Logger

	// OptOuts waives rules by name, each with its reason:
	// [AllowOrgViolation]. A waiver of a rule that found nothing is
	// logged as stale.
	OptOuts []paved.OptOut
}

// A Violation is one finding of the organisation policy.
type Violation struct {
	// Rule is the policy rule's name, the name a waiver gives.
	Rule string `json:"rule"`
	// Msg says what is wrong.
	Msg string `json:"msg"`
	// Waived is true when an [AllowOrgViolation] opt-out covers Rule.
	Waived bool `json:"waived,omitempty"`
}

// ErrConfigDenied is wrapped by the error [CheckConfig] returns when the
// organisation policy denies the service's posture.
var ErrConfigDenied = errors.New("policy: the organisation policy denies this service's configuration")

// A ConfigDeniedError lists what the organisation policy denied, waived
// findings included. It wraps [ErrConfigDenied].
type ConfigDeniedError struct {
	// DecisionID identifies the decision in the decision log.
	DecisionID DecisionID
	// Violations are the findings that stop start-up, then the waived
	// ones, each sorted by rule and message.
	Violations []Violation
	// Reasons are the decision's reasons when the policy denied without
	// a violation the check could read.
	Reasons []string
}

// Error lists each violation that is not waived.
func (e *ConfigDeniedError) Error() string {
	var b strings.Builder
	b.WriteString(ErrConfigDenied.Error())
	n := 0
	for _, v := range e.Violations {
		if v.Waived {
			continue
		}
		if n == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		n++
		b.WriteString(v.Rule + ": " + v.Msg)
	}
	if n == 0 {
		for i, r := range e.Reasons {
			if i == 0 {
				b.WriteString(": ")
			} else {
				b.WriteString("; ")
			}
			b.WriteString(r)
		}
	}
	fmt.Fprintf(&b, " (waive a rule with policy.AllowOrgViolation(rule, reason); decision %s)", e.DecisionID)
	return b.String()
}

// Unwrap returns [ErrConfigDenied].
func (e *ConfigDeniedError) Unwrap() error { return ErrConfigDenied }

// A ConfigReport is what a passing [CheckConfig] found.
type ConfigReport struct {
	DecisionID DecisionID
	// Violations are the waived findings (a passing check has no other).
	Violations []Violation
}

// CheckConfig evaluates the service's own posture (every control and
// opt-out registered in cfg.Posture, with their reasons) against the
// organisation policy, and returns a [*ConfigDeniedError] when the policy
// denies it and no waiver covers each rule it names: call it once at
// start-up, after building the servers, verifiers and engines and before
// serving, and stop when it fails. A policy that does not load, or a
// decision that fails (undefined, error, timeout), fails the check too:
// it fails closed.
//
// The check records its own control ("org-policy") and its waivers in
// cfg.Posture, before evaluating, so the policy sees the waivers' reasons
// as it sees every other opt-out's.
func CheckConfig(ctx context.Context, cfg ConfigCheckConfig) (*ConfigReport, error) {
	c := paved.ConfigCheck{Component: Component, Prefix: "ConfigCheckConfig."}
	waived := map[string]paved.OptOut{}
	for i, o := range cfg.OptOuts {
		field := fmt.Sprintf("OptOuts[%d]", i)
		if err := o.Validate(); err != nil {
			c.AddErr(field, err, `give a reason, such as policy.AllowOrgViolation("rate-limit", "the gateway limits every client")`)
			continue
		}
		rule, ok := strings.CutPrefix(o.Name, OptOutAllowOrgViolation+":")
		if o.Component != Component || !ok || rule == "" {
			c.Add(field, fmt.Sprintf("%s is not an AllowOrgViolation opt-out", o), "use policy.AllowOrgViolation(rule, reason); other opt-outs go in their component's configuration")
			continue
		}
		waived[rule] = o
	}
	if cfg.Environment == "" {
		cfg.Environment = "production"
	}
	if cfg.Query == "" {
		cfg.Query = org.DecisionQuery
	}
	fsys := cfg.Policy
	if fsys == nil {
		fsys = org.FS
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	posture := paved.PostureOrDefault(cfg.Posture)

	// The engine that evaluates the organisation policy reports to a
	// posture of its own: it is part of the check, not of the service.
	engine, err := New(ctx, Config{
		Name:    "org",
		FS:      fsys,
		Timeout: configCheckTimeout,
		Queries: []QueryConfig{{Name: "org", Path: cfg.Query}},
		Logger:  slog.New(slog.DiscardHandler),
		Posture: &paved.Posture{},
	})
	if err != nil {
		return nil, fmt.Errorf("policy: loading the organisation policy: %w", err)
	}

	reg := posture.Register(Component, "config-check")
	rules := slices.Sorted(maps.Keys(waived))
	detail := "environment " + cfg.Environment
	if len(rules) > 0 {
		detail += "; waived: " + strings.Join(rules, ", ")
	}
	reg.SetControl("org-policy", len(rules) == 0, detail)
	for _, r := range rules {
		_ = reg.AddOptOut(waived[r])
	}

	report := posture.Report()
	input := map[string]any{
		"service": map[string]any{
			"name":          cfg.Service,
			"environment":   cfg.Environment,
			"auth_required": cfg.AuthRequired,
		},
		"controls": report.Controls,
		"opt_outs": report.OptOuts,
	}
	raw, err := json.Marshal(input)
	if err != nil {
		return nil, err
	}
	d, err := engine.Decide(ctx, "org", json.RawMessage(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: the organisation policy did not decide (fails closed): %w", ErrConfigDenied, err)
	}
	violations := readViolations(d.Obligations["violations"])
	found := map[string]bool{}
	blocking := 0
	for i := range violations {
		v := &violations[i]
		found[v.Rule] = true
		if _, ok := waived[v.Rule]; ok {
			v.Waived = true
			logger.LogAttrs(ctx, slog.LevelWarn, "policy: organisation policy violation waived",
				slog.String("rule", v.Rule), slog.String("msg", v.Msg), slog.String("reason", waived[v.Rule].Reason))
			continue
		}
		blocking++
		logger.LogAttrs(ctx, slog.LevelError, "policy: organisation policy violation",
			slog.String("rule", v.Rule), slog.String("msg", v.Msg), slog.String("decision_id", d.ID.String()))
	}
	for _, r := range rules {
		if !found[r] {
			logger.LogAttrs(ctx, slog.LevelWarn, "policy: stale waiver: the organisation policy found nothing for this rule",
				slog.String("rule", r), slog.String("reason", waived[r].Reason))
		}
	}
	slices.SortStableFunc(violations, func(a, b Violation) int {
		switch {
		case a.Waived != b.Waived && !a.Waived:
			return -1
		case a.Waived != b.Waived:
			return 1
		}
		return strings.Compare(a.Rule+"\x00"+a.Msg, b.Rule+"\x00"+b.Msg)
	})
	posture.LogOptOuts(ctx, logger)
	// Denied: a violation no waiver covers, or a denial that names none.
	if blocking > 0 || (!d.Allow && len(violations) == 0) {
		return nil, &ConfigDeniedError{DecisionID: d.ID, Violations: violations, Reasons: d.Reasons}
	}
	return &ConfigReport{DecisionID: d.ID, Violations: violations}, nil
}

// readViolations reads the {"rule", "msg"} objects of a set or array; an
// element of another shape is kept with rule "unknown" so that a deny is
// never lost.
func readViolations(v any) []Violation {
	list, _ := v.([]any)
	out := make([]Violation, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		rule, _ := m["rule"].(string)
		msg, _ := m["msg"].(string)
		if !ok || rule == "" {
			b, _ := json.Marshal(e)
			rule, msg = "unknown", string(b)
		}
		out = append(out, Violation{Rule: rule, Msg: msg})
	}
	return out
}
