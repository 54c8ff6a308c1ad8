package policytest

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/policy"
)

// A Case is one row of a decision table: an input and the decision the
// policy must give for it.
type Case struct {
	// Name names the subtest.
	Name string
	// Input is what [policy.Engine.Decide] takes: a *policy.Input, JSON-like
	// Go values (map[string]any), a json.RawMessage or an ast.Value.
	Input any
	// Allow is the expected answer.
	Allow bool
	// Reasons, when non-nil, must equal the decision's reasons exactly,
	// in order; an empty non-nil slice requires none. Nil checks nothing.
	Reasons []string
	// Obligations, when non-nil, must equal the decision's obligations as
	// JSON (so 1 and 1.0 agree). Nil checks nothing.
	Obligations map[string]any
	// Cause is the expected failure cause (policy.CauseUndefined...), ""
	// for a decision the policy made.
	Cause string
}

// Run asks engine the query for each case's input, as a subtest named
// after the case, and fails the subtest for every difference from what
// the case expects, naming the decision ID.
//
//	policytest.Run(t, engine, "http", []policytest.Case{
//		{Name: "owner reads", Input: in("GET /docs/{id}", "1", alice), Allow: true},
//		{Name: "stranger", Input: in("GET /docs/{id}", "1", eve), Reasons: []string{"eve does not own document 1"}},
//	})
func Run(t *testing.T, engine *policy.Engine, query string, cases []Case) {
	t.Helper()
	q := engine.Query(query)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Helper()
			d, _ := q.Decide(t.Context(), c.Input)
			if d.Allow != c.Allow {
				t.Errorf("allow = %v, want %v (decision %s, reasons %q, cause %q, err %v)", d.Allow, c.Allow, d.ID, d.Reasons, d.Cause, d.Err)
			}
			if d.Cause != c.Cause {
				t.Errorf("cause = %q, want %q (err %v)", d.Cause, c.Cause, d.Err)
			}
			if c.Reasons != nil && !slices.Equal(d.Reasons, c.Reasons) && (len(d.Reasons) != 0 || len(c.Reasons) != 0) {
				t.Errorf("reasons = %q, want %q", d.Reasons, c.Reasons)
			}
			if c.Obligations != nil {
				got, want := asJSON(d.Obligations), asJSON(c.Obligations)
				if !reflect.DeepEqual(got, want) {
					gb, _ := json.Marshal(got)
					wb, _ := json.Marshal(want)
					t.Errorf("obligations = %s, want %s", gb, wb)
				}
			}
		})
	}
}

func asJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// NewEngine returns an engine for tests: the policy in fsys with the
// queries given, a deadline of 5 seconds (a -race run on a busy machine
// must not time out a correct policy), logs discarded, a posture and sink
// of its own. It fails t when the policy does not load.
func NewEngine(t testing.TB, fsys fs.FS, queries ...policy.QueryConfig) *policy.Engine {
	t.Helper()
	e, err := policy.New(context.Background(), policy.Config{
		FS:      fsys,
		Queries: queries,
		Timeout: 5 * time.Second,
		Logger:  slog.New(slog.DiscardHandler),
		Posture: &paved.Posture{},
		Events:  paved.NopSink{},
	})
	if err != nil {
		t.Fatalf("policytest: loading the policy: %v", err)
	}
	return e
}
