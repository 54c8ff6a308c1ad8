package policy

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
)

// benchInput is the input of the benchmarks: a reader reading a document,
// allowed by its role (the RBAC rule), as a request of the quickstart.
func benchInput() *Input {
	return rbacInput("rob", []string{"reader", "staff"}, "GET /docs/{id}", "ann")
}

// benchMap is the same input as JSON-like Go values, as a plain rego
// caller passes it.
func benchMap() map[string]any {
	return map[string]any{
		"method": "GET", "path": "/docs/42", "route": "GET /docs/{id}",
		"params":    map[string]any{"id": "42"},
		"principal": map[string]any{"sub": "rob", "iss": "https://idp.example", "roles": []any{"reader", "staff"}},
		"resource":  map[string]any{"owner": "ann"},
	}
}

// BenchmarkRBAC compares one RBAC decision through paved with the plain
// prepared rego call on the same policy and data, in the same run:
//
//	go test ./policy -run '^$' -bench BenchmarkRBAC -benchtime 1s -count 5
func BenchmarkRBAC(b *testing.B) {
	ctx := context.Background()
	b.Run("rego-prepared", func(b *testing.B) {
		pq, err := rego.New(rego.Query(rbacPath), rego.LoadBundle("testdata/rbac")).PrepareForEval(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			rs, err := pq.Eval(ctx, rego.EvalInput(benchMap()))
			if err != nil || len(rs) != 1 || rs[0].Expressions[0].Value.(map[string]any)["allow"] != true {
				b.Fatal(rs, err)
			}
		}
	})
	// A generous deadline: the benchmark measures speed, and a shared
	// machine's pauses must not turn a decision into a timeout.
	e := newRBAC(b, func(c *Config) { c.FS = os.DirFS("testdata/rbac"); c.Timeout = 10 * time.Second })
	q := e.Query("http")
	b.Run("paved", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d, err := q.Decide(ctx, benchInput())
			if err != nil || !d.Allow {
				b.Fatal(d, err)
			}
		}
	})
	b.Run("paved-prebuilt-input", func(b *testing.B) {
		v, err := benchInput().Value()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			d, err := q.Decide(ctx, v)
			if err != nil || !d.Allow {
				b.Fatal(d, err)
			}
		}
	})
	b.Run("paved-cache-hit", func(b *testing.B) {
		pure := e.Query("http-pure")
		v, err := benchInput().Value()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pure.Decide(ctx, v); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			d, err := pure.Decide(ctx, v)
			if err != nil || !d.Allow || !d.Cached {
				b.Fatal(d, err)
			}
		}
	})
}
