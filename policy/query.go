package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/pavedroad/paved"
)

// A Query is a handle on one decision, cheap to keep per route: it finds
// its prepared query in whichever policy is loaded when it decides.
type Query struct {
	e    *Engine
	name string
	idx  int     // declared index, or -1 for a data reference
	ref  ast.Ref // for a data reference
	err  error   // for an unknown name
}

// Query returns the handle of the query declared as name in
// [Config.Queries], or of the data reference name ("data.x.allow"). A name
// that is neither gives a handle whose decisions deny with [CauseUnknown].
func (e *Engine) Query(name string) *Query {
	q := &Query{e: e, name: name, idx: -1}
	if i, ok := e.queries[name]; ok {
		q.idx = i
		return q
	}
	ref, err := parseDataRef(name)
	if err != nil {
		q.err = &Error{Cause: CauseUnknown, Query: name, Err: fmt.Errorf("%w: %w", ErrUnknownQuery, err)}
		return q
	}
	q.ref = ref
	return q
}

// Name returns the query's name.
func (q *Query) Name() string { return q.name }

// Decide evaluates the query named name for input; see [Query.Decide].
func (e *Engine) Decide(ctx context.Context, name string, input any) (Decision, error) {
	return e.Query(name).Decide(ctx, input)
}

// Decide evaluates the query for input and returns the decision. input is
// an [ast.Value] (fastest), an *[Input] or [Input], a json.RawMessage, or
// JSON-like Go values (map[string]any...). The error is non-nil exactly
// when the decision's Cause is set, and is then the decision's Err; the
// decision denies. An [ast.Value] input must not be changed afterwards: a
// Pure query's cache keeps it, to compare later inputs with.
func (q *Query) Decide(ctx context.Context, input any) (Decision, error) {
	start := time.Now()
	e := q.e
	d := Decision{Query: q.name, ID: newDecisionID()}
	var v ast.Value
	var err error
	if raw, ok := input.(json.RawMessage); ok && len(raw) > e.bounds.bytes {
		err = fmt.Errorf("%w: %d bytes of JSON, more than %d", ErrInput, len(raw), e.bounds.bytes)
	} else {
		v, err = inputValue(input)
	}
	if err != nil {
		if !errors.Is(err, ErrInput) {
			err = fmt.Errorf("%w: %w", ErrInput, err)
		}
		return e.finish(ctx, d, v, start, &Error{Cause: CauseBadInput, Query: q.name, Err: err})
	}
	if q.err != nil {
		return e.finish(ctx, d, v, start, q.err)
	}
	s := e.snap.Load()
	if s == nil {
		return e.finish(ctx, d, v, start, &Error{Cause: CauseNotLoaded, Query: q.name, Err: ErrNotLoaded})
	}
	d.BundleRevision = s.revision
	p, err := s.preparedFor(q)
	if err != nil {
		return e.finish(ctx, d, v, start, &Error{Cause: CauseError, Query: q.name, Err: fmt.Errorf("%w: %w", ErrEvaluation, err)})
	}
	// A cached input passed the bounds when it was first decided on.
	if p.pure && s.cache != nil {
		if r, ok := s.cache.get(p.idx, v); ok {
			d.Allow, d.Reasons, d.Obligations, d.Cached = r.allow, r.reasons, r.obligations, true
			return e.finish(ctx, d, v, start, nil)
		}
	}
	if v != nil {
		if err := e.bounds.check(v); err != nil {
			return e.finish(ctx, d, v, start, &Error{Cause: CauseBadInput, Query: q.name, Err: err})
		}
	}
	r, err := s.eval(ctx, p, v, e.cfg.Timeout)
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			pe.Query = q.name
		}
		return e.finish(ctx, d, v, start, err)
	}
	if p.pure && s.cache != nil {
		s.cache.put(p.idx, v, r)
	}
	d.Allow, d.Reasons, d.Obligations = r.allow, r.reasons, r.obligations
	return e.finish(ctx, d, v, start, nil)
}

// finish stamps the duration, logs and emits the decision.
func (e *Engine) finish(ctx context.Context, d Decision, input ast.Value, start time.Time, err error) (Decision, error) {
	if err != nil {
		d.Allow = false
		var pe *Error
		if errors.As(err, &pe) {
			d.Cause = pe.Cause
		} else {
			d.Cause = CauseError
		}
		d.Err = err
	}
	d.Duration = time.Since(start)
	if e.cfg.DecisionLog != nil {
		e.cfg.DecisionLog.LogDecision(ctx, d, input)
	}
	if paved.EventsEnabled(ctx, e.cfg.Events, paved.EventPolicyDecision) {
		outcome := paved.OutcomeSuccess
		if !d.Allow {
			outcome = paved.OutcomeDenied
		}
		ev := paved.Event{
			Type: paved.EventPolicyDecision, Component: Component, Outcome: outcome,
			Reason: d.Reason(), Duration: d.Duration,
			Attrs: []slog.Attr{slog.String("query", d.Query), slog.String("decision_id", d.ID.String()), slog.String("bundle_revision", d.BundleRevision)},
		}
		if p, ok := paved.PrincipalFrom(ctx); ok {
			ev.Subject = p.Subject
		}
		paved.Emit(ctx, e.cfg.Events, ev)
	}
	return d, err
}

// result is the interpreted value of a decision document.
type result struct {
	allow       bool
	reasons     []string
	obligations map[string]any
}

// preparedFor returns the prepared query of q in s.
func (s *snapshot) preparedFor(q *Query) (*prepared, error) {
	if q.idx >= 0 {
		return s.queries[q.idx], nil
	}
	key := q.name
	if p, ok := s.adhoc.Load(key); ok {
		return p.(*prepared), nil
	}
	p, err := prepare(s.compiler, q.ref, false, -1)
	if err != nil {
		return nil, err
	}
	s.adhoc.Store(key, p)
	return p, nil
}

func prepare(c *ast.Compiler, ref ast.Ref, pure bool, idx int) (*prepared, error) {
	body := ast.NewBody(ast.Equality.Expr(ast.VarTerm(string(resultVar)), ast.NewTerm(ref)))
	qc := c.QueryCompiler()
	compiled, err := qc.Compile(body)
	if err != nil {
		return nil, err
	}
	out := resultVar
	for k, v := range qc.RewrittenVars() {
		if v == resultVar {
			out = k
		}
	}
	return &prepared{body: compiled, qc: qc, out: out, pure: pure, idx: idx}, nil
}

// eval runs p against s for input within timeout.
func (s *snapshot) eval(ctx context.Context, p *prepared, input ast.Value, timeout time.Duration) (result, error) {
	if err := ctx.Err(); err != nil {
		return result{}, &Error{Cause: CauseTimeout, Err: fmt.Errorf("%w: %w", ErrTimeout, err)}
	}
	txn, err := s.store.NewTransaction(ctx)
	if err != nil {
		return result{}, &Error{Cause: CauseError, Err: fmt.Errorf("%w: %w", ErrEvaluation, err)}
	}
	defer s.store.Abort(ctx, txn)
	cancel := topdown.NewCancel()
	timer := time.AfterFunc(timeout, cancel.Cancel)
	defer timer.Stop()
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, cancel.Cancel)
		defer stop()
	}
	q := topdown.NewQuery(p.body).
		WithQueryCompiler(p.qc).
		WithCompiler(s.compiler).
		WithStore(s.store).
		WithTransaction(txn).
		WithCancel(cancel).
		WithMetrics(metrics.NoOp()).
		WithStrictBuiltinErrors(true)
	if input != nil {
		q = q.WithInput(ast.NewTerm(input))
	}
	var doc *ast.Term
	n := 0
	err = q.Iter(ctx, func(qr topdown.QueryResult) error {
		n++
		doc = qr[p.out]
		return nil
	})
	if err != nil {
		var te *topdown.Error
		if (errors.As(err, &te) && te.Code == topdown.CancelErr) || ctx.Err() != nil {
			return result{}, &Error{Cause: CauseTimeout, Err: fmt.Errorf("%w: %w", ErrTimeout, err)}
		}
		return result{}, &Error{Cause: CauseError, Err: fmt.Errorf("%w: %w", ErrEvaluation, err)}
	}
	if n == 0 || doc == nil {
		return result{}, &Error{Cause: CauseUndefined, Err: ErrUndefined}
	}
	return interpret(doc.Value)
}

var (
	allowKey       = ast.StringTerm("allow")
	reasonsKey     = ast.StringTerm("reasons")
	obligationsKey = ast.StringTerm("obligations")
)

// interpret reads a decision document: a boolean, or an object with a
// boolean allow and optional reasons and obligations.
func interpret(v ast.Value) (result, error) {
	switch x := v.(type) {
	case ast.Boolean:
		return result{allow: bool(x)}, nil
	case ast.Object:
		var r result
		a := x.Get(allowKey)
		if a == nil {
			return result{}, &Error{Cause: CauseNonBoolean, Err: fmt.Errorf("%w: the decision object has no allow", ErrNonBoolean)}
		}
		b, ok := a.Value.(ast.Boolean)
		if !ok {
			return result{}, &Error{Cause: CauseNonBoolean, Err: fmt.Errorf("%w: allow is %s", ErrNonBoolean, ast.ValueName(a.Value))}
		}
		r.allow = bool(b)
		if rs := x.Get(reasonsKey); rs != nil {
			add := func(t *ast.Term) {
				if s, ok := t.Value.(ast.String); ok {
					r.reasons = append(r.reasons, string(s))
				} else {
					r.reasons = append(r.reasons, t.String())
				}
			}
			switch l := rs.Value.(type) {
			case *ast.Array:
				for i := range l.Len() {
					add(l.Elem(i))
				}
			case ast.Set:
				sorted := l.Sorted()
				for i := range sorted.Len() {
					add(sorted.Elem(i))
				}
			case ast.String:
				r.reasons = []string{string(l)}
			}
		}
		// Obligations the service cannot read are obligations it would not
		// meet: an allow must not go through without them.
		if ob := x.Get(obligationsKey); ob != nil {
			o, ok := ob.Value.(ast.Object)
			if !ok {
				return result{}, &Error{Cause: CauseError, Err: fmt.Errorf("%w: obligations is %s, not an object", ErrEvaluation, ast.ValueName(ob.Value))}
			}
			j, err := ast.JSON(o)
			if err != nil {
				return result{}, &Error{Cause: CauseError, Err: fmt.Errorf("%w: obligations are not JSON: %w", ErrEvaluation, err)}
			}
			r.obligations, _ = j.(map[string]any)
		}
		return r, nil
	}
	return result{}, &Error{Cause: CauseNonBoolean, Err: fmt.Errorf("%w: the decision is %s", ErrNonBoolean, ast.ValueName(v))}
}
