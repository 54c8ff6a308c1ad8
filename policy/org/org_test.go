package org_test

import (
	"os"
	"testing"

	"github.com/pavedroad/paved/policy/policytest"
)

// TestRego runs org_test.rego against org.rego, as opa test does.
func TestRego(t *testing.T) {
	policytest.RunRegoTests(t, os.DirFS("."))
}
