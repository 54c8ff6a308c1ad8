package org_test

import (
	"fmt"
	"io/fs"

	"github.com/pavedroad/paved/policy/org"
)

// The default policy ships as readable Rego, without its tests.
func ExampleFS() {
	names, _ := fs.Glob(org.FS, "*")
	fmt.Println(names, org.DecisionQuery)
	// Output:
	// [org.rego] data.paved.org.decision
}
