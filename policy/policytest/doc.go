// Package policytest helps test policies and the handlers package policy
// protects.
//
//   - [RunRegoTests] runs a bundle's own Rego tests (rules named test_...)
//     under go test through OPA's tester, each as a subtest, with the
//     results `opa test` gives on the same files; [RegoTests] returns
//     them for a program that has no testing.T.
//   - [Run] asserts a table of decisions ([Case]: an input and the
//     expected allow, reasons and obligations) against a policy engine.
package policytest
