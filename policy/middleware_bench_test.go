package policy_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/policy"
)

// The quickstart's RBAC decision: the owner reads document 1 (allowed).
var benchPrincipal = &paved.Principal{Subject: "quickstart-user", Issuer: "https://id.example", Roles: []string{"reader"}, Scopes: []string{"orders:read"}}

func benchRequest() *http.Request {
	r := httptest.NewRequest("GET", "/docs/1", nil)
	r.Pattern = "GET /docs/{id}"
	r.SetPathValue("id", "1")
	r.Header.Set("X-Tenant", "acme")
	return r.WithContext(paved.WithPrincipal(r.Context(), benchPrincipal))
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func newBenchLog(b *testing.B) *policy.DecisionLog {
	dl, err := policy.NewDecisionLog(policy.DecisionLogConfig{Logger: slog.New(slog.DiscardHandler), Mask: []string{"/input/principal/claims"}})
	if err != nil {
		b.Fatal(err)
	}
	return dl
}

// BenchmarkMiddlewareOverhead compares, in one run, the bare decision
// (input prepared once as an OPA value, as the fastest caller would) with
// the whole middleware: building the input from the request, the same
// decision, the decision log at a discarding handler, and the call of a
// handler that does nothing. The target is middleware/bare <= 1.5.
func BenchmarkMiddlewareOverhead(b *testing.B) {
	e := newQuickstartEngine(b, newBenchLog(b)) // 5s deadline: a busy machine must not fail the benchmark; the deadline costs the same
	a := newAuthorizer(b, policy.AuthorizerConfig{Engine: e, Query: "http", Headers: []string{"X-Tenant"}})
	ctx := context.Background()
	in, err := a.Input(benchRequest())
	if err != nil {
		b.Fatal(err)
	}
	v, err := in.Value()
	if err != nil {
		b.Fatal(err)
	}
	q := e.Query("http")
	if d, _ := q.Decide(ctx, v); !d.Allow {
		b.Fatalf("decision %+v, want allow", d)
	}
	b.Run("bare-decision", func(b *testing.B) {
		reportCPU(b, func() {
			if d, _ := q.Decide(ctx, v); !d.Allow {
				b.Fatalf("denied: %v", d.Err)
			}
		})
	})
	b.Run("decision-from-Input", func(b *testing.B) {
		reportCPU(b, func() {
			if d, _ := q.Decide(ctx, in); !d.Allow {
				b.Fatalf("denied: %v", d.Err)
			}
		})
	})
	h := a.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := benchRequest()
	w := &discardWriter{h: http.Header{}}
	b.Run("middleware", func(b *testing.B) {
		reportCPU(b, func() { h.ServeHTTP(w, r) })
	})
	b.Run("input-only", func(b *testing.B) {
		reportCPU(b, func() {
			in, _ := a.Input(r)
			_, _ = in.Value()
		})
	})
}

// BenchmarkDecisionLog is the cost of one logged record with a JSON
// handler that writes to nowhere (input converted and masked).
func BenchmarkDecisionLog(b *testing.B) {
	dl, _ := policy.NewDecisionLog(policy.DecisionLogConfig{
		Logger: slog.New(slog.NewJSONHandler(discardWriterIO{}, nil)),
		Mask:   []string{"/input/principal/claims", "/input/headers/x-tenant"},
	})
	in := &policy.Input{Method: "GET", Route: "GET /docs/{id}", Params: map[string]string{"id": "1"}, Headers: map[string]string{"x-tenant": "acme"}, Principal: benchPrincipal}
	v, _ := in.Value()
	d := policy.Decision{Allow: true, Query: "http", Reasons: []string{"ok"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		dl.LogDecision(ctx, d, v)
	}
}

type discardWriterIO struct{}

func (discardWriterIO) Write(b []byte) (int, error) { return len(b), nil }
