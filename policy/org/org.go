// Package org holds paved's default organisation policy: the rules that
// policy.CheckConfig holds a service's own posture to at start-up (TLS,
// certificates, rate limits, request limits, token checks, policy checks,
// authentication, and the reasons given for every opt-out).
//
// The policy is org.rego, readable Rego in package paved.org; its tests
// are org_test.rego, run by go test (through policytest) and by opa test
// alike. An organisation that wants other rules writes its own Rego with a
// deny set of {"rule", "msg"} objects and gives it to policy.CheckConfig.
package org

import "embed"

// Query is the query whose result, a set of {"rule": NAME, "msg": TEXT}
// objects, lists the violations.
const Query = "data.paved.org.deny"

// DecisionQuery is the query whose result is the same as a policy decision
// (allow, reasons, obligations.violations), as policy.CheckConfig asks it.
const DecisionQuery = "data.paved.org.decision"

// FS holds the default organisation policy (org.rego), without its tests.
//
//go:embed org.rego
var FS embed.FS
