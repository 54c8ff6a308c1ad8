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
