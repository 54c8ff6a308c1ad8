package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/policy/policytest"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"-quiet"}, &out); err != nil {
		t.Fatal(err)
	}
	want := `rego tests: 3 passed
ann       GET  /tenants/acme/orders   200
ann       GET  /tenants/globex/orders 403 application/problem+json, decision_id: 32 hex digits; why: ann is not in tenant globex
ann       POST /tenants/acme/refunds  403 application/problem+json, decision_id: 32 hex digits; why: ann lacks the support role
sue       POST /tenants/acme/refunds  200
anonymous GET  /tenants/acme/orders   403 application/problem+json, decision_id: 32 hex digits; why: an anonymous caller is not in tenant acme
`
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestRegoTests runs the embedded policy's own tests, each as a subtest,
// as `opa test examples/policy/authz` does.
func TestRegoTests(t *testing.T) {
	policytest.RunRegoTests(t, authzFiles)
}

// TestRunStopsOnAFailingRegoTest swaps in a policy whose own test fails.
func TestRunStopsOnAFailingRegoTest(t *testing.T) {
	t.Cleanup(func() { source = authzFiles })
	source = fstest.MapFS{
		"authz/p.rego":      {Data: []byte("package p\n\nallow := false\n")},
		"authz/p_test.rego": {Data: []byte("package p_test\n\nimport data.p\n\ntest_fails if p.allow\n")},
	}
	err := run(context.Background(), []string{"-quiet"}, new(strings.Builder))
	if err == nil || !strings.Contains(err.Error(), "test_fails") || !strings.Contains(err.Error(), "FAIL") {
		t.Errorf("run: %v, want the failing test named", err)
	}
}

// TestRunEventsReachTheDefaultSink: the decisions and the denials go on to
// paved's default sink (telemetry's, once it is set up), not only to the
// example's own.
func TestRunEventsReachTheDefaultSink(t *testing.T) {
	var mu sync.Mutex
	got := map[paved.EventType]int{}
	paved.SetDefaultSink(paved.SinkFunc(func(_ context.Context, e paved.Event) {
		mu.Lock()
		defer mu.Unlock()
		got[e.Type]++
	}))
	t.Cleanup(func() { paved.SetDefaultSink(nil) })
	if err := run(context.Background(), []string{"-quiet"}, new(strings.Builder)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got[paved.EventPolicyDecision] != 5 || got[paved.EventAuthzDenied] != 3 {
		t.Errorf("default sink got %v, want 5 %s and 3 %s", got, paved.EventPolicyDecision, paved.EventAuthzDenied)
	}
}
