package policy

import (
	"context"
	"os"
	"runtime"
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

// BenchmarkRBACInterleaved alternates batches of the plain prepared rego
// call and of paved's decision (input built from an [Input] each time),
// so that both see the same machine load, and reports each one's ns per
// decision and their ratio (rego/paved: above 1 means paved is faster),
// and the same for a cache hit against a paved evaluation:
//
//	go test ./policy -run '^$' -bench BenchmarkRBACInterleaved -benchtime 2000x -count 5
func BenchmarkRBACInterleaved(b *testing.B) {
	ctx := context.Background()
	pq, err := rego.New(rego.Query(rbacPath), rego.LoadBundle("testdata/rbac")).PrepareForEval(ctx)
	if err != nil {
		b.Fatal(err)
	}
	e := newRBAC(b, func(c *Config) { c.Timeout = 10 * time.Second })
	q, pure := e.Query("http"), e.Query("http-pure")
	hit, _ := benchInput().Value()
	if _, err := pure.Decide(ctx, hit); err != nil {
		b.Fatal(err)
	}
	const batch = 16
	var regoT, pavedT, hitT, regoCPU, pavedCPU time.Duration
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for b.Loop() {
		c0 := threadCPU()
		t0 := time.Now()
		for range batch {
			rs, err := pq.Eval(ctx, rego.EvalInput(benchMap()))
			if err != nil || len(rs) != 1 {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		c1 := threadCPU()
		for range batch {
			if d, err := q.Decide(ctx, benchInput()); err != nil || !d.Allow {
				b.Fatal(err)
			}
		}
		t2 := time.Now()
		c2 := threadCPU()
		regoCPU += c1 - c0
		pavedCPU += c2 - c1
		for range batch {
			if d, err := pure.Decide(ctx, hit); err != nil || !d.Cached {
				b.Fatal(err)
			}
		}
		t3 := time.Now()
		regoT += t1.Sub(t0)
		pavedT += t2.Sub(t1)
		hitT += t3.Sub(t2)
	}
	n := float64(b.N * batch)
	b.ReportMetric(float64(regoT.Nanoseconds())/n, "rego-ns/decision")
	b.ReportMetric(float64(pavedT.Nanoseconds())/n, "paved-ns/decision")
	b.ReportMetric(float64(hitT.Nanoseconds())/n, "hit-ns/decision")
	b.ReportMetric(float64(regoT)/float64(pavedT), "rego/paved")
	b.ReportMetric(float64(pavedT)/float64(hitT), "paved/hit")
	if pavedCPU > 0 {
		// The same ratio in CPU time of this thread, which a busy machine
		// disturbs less than wall time (GC work on other threads is not
		// counted, which favours the call that allocates more: rego).
		b.ReportMetric(float64(regoCPU)/float64(pavedCPU), "rego/paved-cpu")
	}
}
