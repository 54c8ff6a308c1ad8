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
