package main

import (
	"io/fs"
	"testing"

	"github.com/pavedroad/paved/policy"
	"github.com/pavedroad/paved/policy/policytest"
)

// The embedded policy's own Rego tests (authz/*_test.rego) run with go test.
func TestPolicyRego(t *testing.T) {
	sub, err := fs.Sub(authzFiles, "authz")
	if err != nil {
		t.Fatal(err)
	}
	policytest.RunRegoTests(t, sub)
}

// The decisions the middleware asks for, with their reasons.
func TestPolicyDecisions(t *testing.T) {
	sub, err := fs.Sub(authzFiles, "authz")
	if err != nil {
		t.Fatal(err)
	}
	engine := policytest.NewEngine(t, sub, policy.QueryConfig{Name: "authz", Path: "data.service.authz.decision"})
	in := func(route, sub string, roles ...string) map[string]any {
		return map[string]any{"route": route, "principal": map[string]any{"sub": sub, "roles": roles}}
	}
	policytest.Run(t, engine, "authz", []policytest.Case{
		{Name: "reader lists", Input: in("GET /v1/orders", "alice", "reader"), Allow: true},
		{Name: "admin deletes", Input: in("DELETE /v1/orders/{id}", "root", "admin"), Allow: true},
		{Name: "reader deletes", Input: in("DELETE /v1/orders/{id}", "alice", "reader"), Reasons: []string{"no role of alice grants DELETE /v1/orders/{id}"}},
		{Name: "no role", Input: in("GET /v1/orders", "eve"), Reasons: []string{"no role of eve grants GET /v1/orders"}},
	})
}
