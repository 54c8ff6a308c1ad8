package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// DecisionLogConfig configures a [DecisionLog].
type DecisionLogConfig struct {
	// Logger receives one record per logged decision; slog.Default when
	// nil. A logger whose handler is not enabled at Level costs nothing
	// per decision.
	Logger *slog.Logger
	// Level is the level of allowed and denied decisions. Default
	// slog.LevelInfo. Decisions that failed (a Cause: error, timeout,
	// undefined...) are logged at slog.LevelWarn, or Level when higher.
	Level slog.Level

	// Mask lists JSON pointers (RFC 6901) of fields removed from each
	// record, rooted at the record's document {"input": ..., "result":
	// ...}: "/input/principal/claims/email", "/input/headers/x-api-key",
	// "/result/obligations/token". "~1" stands for "/" and "~0" for "~" in
	// a name; a number selects an array element. A masked field that is
	// present is dropped and its pointer listed in the record's "erased"
	// attribute, as OPA's decision logs do; "/input" or "/result" drops
	// the whole document. With any mask set, an evaluation error is
	// logged by its location and code only, since a built-in's message
	// quotes its operands.
	Mask []string

	// SampleAllowed logs one allowed decision in SampleAllowed, evenly
	// spaced (the first, then every SampleAllowed-th). 0 or 1 logs every
	// one; a negative value logs none.
	SampleAllowed int
	// SampleDenied does the same for denied decisions. 0 or 1 (the
	// default) logs every denial; set it only where denials are routine
	// traffic. Decisions that failed (a Cause) are always logged.
	SampleDenied int
}

// A DecisionLog writes decisions to a *slog.Logger: the decision ID, the
// query, the result (allow, reasons, obligations), the bundle revision,
// the duration, the cause of a failure, the request ID and the input,
// with the fields Mask names removed. Give it to the engine as
// Config.DecisionLog. The engine itself emits a paved.EventPolicyDecision
// for every decision, sampled or not, to its Events sink.
type DecisionLog struct {
	logger  *slog.Logger
	level   slog.Level
	warn    slog.Level
	masks   []maskPtr
	allowed sampler
	denied  sampler
}

var _ DecisionLogger = (*DecisionLog)(nil)

type maskPtr struct {
	raw  string
	path []string // below the root document ("input" or "result" first)
}

type sampler struct {
	every int64 // 1: every one; 0: none
	n     atomic.Int64
}

func (s *sampler) take() bool {
	switch s.every {
	case 1:
		return true
	case 0:
		return false
	}
	return (s.n.Add(1)-1)%s.every == 0
}

func newSampler(n int) int64 {
	switch {
	case n < 0:
		return 0
	case n <= 1:
		return 1
	}
	return int64(n)
}

// NewDecisionLog validates cfg and returns a DecisionLog.
func NewDecisionLog(cfg DecisionLogConfig) (*DecisionLog, error) {
	c := paved.ConfigCheck{Component: Component, Prefix: "DecisionLogConfig."}
	l := &DecisionLog{logger: cfg.Logger, level: cfg.Level, warn: max(cfg.Level, slog.LevelWarn)}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	for i, m := range cfg.Mask {
		path, err := parsePointer(m)
		if err != nil {
			c.Add(fmt.Sprintf("Mask[%d]", i), err.Error(), `want a JSON pointer under /input or /result, such as "/input/principal/claims/email"`)
			continue
		}
		l.masks = append(l.masks, maskPtr{raw: m, path: path})
	}
	l.allowed.every = newSampler(cfg.SampleAllowed)
	l.denied.every = newSampler(cfg.SampleDenied)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return l, nil
}

// parsePointer splits an RFC 6901 pointer into its unescaped tokens; the
// first must be "input" or "result".
func parsePointer(p string) ([]string, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("%q does not start with /", p)
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("%q has a ~ that is not ~0 or ~1", p)
			}
		}
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	if toks[0] != "input" && toks[0] != "result" {
		return nil, fmt.Errorf("%q is not under /input or /result", p)
	}
	// The authorizer puts headers under their lower-case names: a mask
	// spelled as the header is on the wire would never match.
	if len(toks) > 2 && toks[0] == "input" && toks[1] == "headers" && toks[2] != strings.ToLower(toks[2]) {
		return nil, fmt.Errorf("%q names a header in upper case; input.headers holds lower-case names", p)
	}
	return toks, nil
}

// LogDecision logs d with its input, if sampling keeps it.
func (l *DecisionLog) LogDecision(ctx context.Context, d Decision, input ast.Value) {
	level := l.level
	switch {
	case d.Cause != "":
		level = l.warn
	case d.Allow:
		if !l.allowed.take() {
			return
		}
	default:
		if !l.denied.take() {
			return
		}
	}
	if !l.logger.Enabled(ctx, level) {
		return
	}
	doc := map[string]any{"result": resultDoc(&d)}
	if input != nil {
		if in, err := ast.JSON(input); err == nil {
			doc["input"] = in
		}
	}
	var erased []string
	for _, m := range l.masks {
		if erase(doc, m.path) {
			erased = append(erased, m.raw)
		}
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("decision_id", d.ID.String()),
		slog.String("query", d.Query),
		slog.Bool("allow", d.Allow),
	)
	if res, ok := doc["result"]; ok {
		attrs = append(attrs, slog.Any("result", res))
	}
	attrs = append(attrs,
		slog.String("bundle_revision", d.BundleRevision),
		slog.Duration("duration", d.Duration),
	)
	if d.Cached {
		attrs = append(attrs, slog.Bool("cached", true))
	}
	if d.Cause != "" {
		attrs = append(attrs, slog.String("cause", d.Cause))
		if d.Err != nil {
			attrs = append(attrs, slog.String("error", l.errorText(d.Err)))
		}
	}
	if id := httpx.RequestIDFrom(ctx); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if in, ok := doc["input"]; ok {
		attrs = append(attrs, slog.Any("input", in))
	}
	if len(erased) > 0 {
		attrs = append(attrs, slog.Any("erased", erased))
	}
	l.logger.LogAttrs(ctx, level, "policy decision", attrs...)
}

// errorText is err's text for the record. With masks set, an evaluation
// error keeps only its location and code: a built-in's message quotes its
// operands ("parsing time \"...\""), which may be the very input fields
// the masks remove.
func (l *DecisionLog) errorText(err error) string {
	var te *topdown.Error
	if len(l.masks) == 0 || !errors.As(err, &te) {
		return err.Error()
	}
	loc := ""
	if te.Location != nil {
		loc = te.Location.String() + ": "
	}
	return loc + te.Code + " (message withheld: it may quote masked input)"
}

// resultDoc is the result of d as a JSON document: allow, and the reasons
// and obligations when there are any (copied: masking must not touch the
// decision cache's values).
func resultDoc(d *Decision) map[string]any {
	r := map[string]any{"allow": d.Allow}
	if len(d.Reasons) > 0 {
		rs := make([]any, len(d.Reasons))
		for i, s := range d.Reasons {
			rs[i] = s
		}
		r["reasons"] = rs
	}
	if d.Obligations != nil {
		r["obligations"] = deepCopy(d.Obligations)
	}
	return r
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// erase removes the value at path from doc, and reports whether there was
// one. An array element is removed by index; the elements after it move
// down, as RFC 6902's remove does.
func erase(doc map[string]any, path []string) bool {
	var parent any = doc
	for i, tok := range path {
		last := i == len(path)-1
		switch p := parent.(type) {
		case map[string]any:
			v, ok := p[tok]
			if !ok {
				return false
			}
			if last {
				delete(p, tok)
				return true
			}
			if s, isArr := v.([]any); isArr && i+1 == len(path)-1 {
				if j, ok := arrayIndex(path[i+1], len(s)); ok {
					p[tok] = append(s[:j:j], s[j+1:]...)
					return true
				}
				return false
			}
			parent = v
		case []any:
			j, ok := arrayIndex(tok, len(p))
			if !ok {
				return false
			}
			parent = p[j]
		default:
			return false
		}
	}
	return false
}

// arrayIndex parses an RFC 6901 array index: digits, no leading zero.
func arrayIndex(tok string, n int) (int, bool) {
	if tok == "" || (len(tok) > 1 && tok[0] == '0') || strings.Trim(tok, "0123456789") != "" {
		return 0, false
	}
	j, err := strconv.Atoi(tok)
	if err != nil || j < 0 || j >= n {
		return 0, false
	}
	return j, true
}
