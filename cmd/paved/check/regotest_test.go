package check

import (
	"testing"

	"github.com/pavedroad/paved/policy/policytest"
)

// TestRegoUnitTests runs the pack's own Rego tests (*_test.rego) through
// policytest, as `opa test rules/` would.
func TestRegoUnitTests(t *testing.T) {
	res := policytest.RunRegoTests(t, Rules, "rules")
	if len(res) < 6 {
		t.Errorf("%d Rego tests ran", len(res))
	}
}
