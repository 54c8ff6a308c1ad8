// Package policy evaluates authorization policy in process with the Open
// Policy Agent (github.com/open-policy-agent/opa/v1/rego).
//
// It will hold: policies loaded from files or signed bundles, prepared
// queries, HTTP authorization middleware that builds its input from the
// request and the [paved.Principal], decision logs, and fail-closed
// evaluation. Helpers for table-driven policy tests live in policytest.
package policy

import _ "github.com/pavedroad/paved" // for the doc link
