package policytest_test

import (
	"os"
	"testing"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/policy"
	"github.com/pavedroad/paved/policy/policytest"
)

func docs(route, id string, p *paved.Principal) *policy.Input {
	return &policy.Input{Method: "GET", Route: route, Params: map[string]string{"id": id}, Principal: p}
}

// TestQuickstartPolicyTable is the quickstart's policy as a decision
// table, and its Rego tests, both through policytest.
func TestQuickstartPolicyTable(t *testing.T) {
	fsys := os.DirFS("../../examples/quickstart/authz")
	policytest.RunRegoTests(t, fsys)
	e := policytest.NewEngine(t, fsys, policy.QueryConfig{Name: "http", Path: "data.quickstart.authz.decision"})
	owner := &paved.Principal{Subject: "quickstart-user", Roles: []string{"reader"}}
	policytest.Run(t, e, "http", []policytest.Case{
		{Name: "owner reads", Input: docs("GET /docs/{id}", "1", owner), Allow: true, Reasons: []string{}},
		{Name: "not the owner", Input: docs("GET /docs/{id}", "2", owner), Reasons: []string{"quickstart-user does not own document 2"}},
		{Name: "anonymous", Input: docs("GET /docs/{id}", "1", nil), Reasons: []string{"no role of an anonymous caller grants GET /docs/{id}"}},
		{Name: "admin deletes", Input: docs("DELETE /docs/{id}", "2", &paved.Principal{Subject: "root", Roles: []string{"admin"}}), Allow: true},
		{Name: "map input", Input: map[string]any{"route": "DELETE /docs/{id}"}, Reasons: []string{"no role of an anonymous caller grants DELETE /docs/{id}"}},
	})
	policytest.Run(t, e, "data.quickstart.authz.nothing_here", []policytest.Case{
		{Name: "undefined denies", Input: map[string]any{}, Cause: policy.CauseUndefined},
	})
}

// TestRunObligations: obligations compare as JSON, so the policy's 10.0
// equals the table's 10.
func TestRunObligations(t *testing.T) {
	e := policytest.NewEngine(t, os.DirFS("testdata/obligations"))
	policytest.Run(t, e, "data.ob.decision", []policytest.Case{
		{Name: "obligations as JSON", Input: map[string]any{"n": 1}, Allow: true, Obligations: map[string]any{"limit": 10, "mask": []any{"ssn"}}},
	})
}
