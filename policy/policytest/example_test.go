package policytest_test

import (
	"context"
	"fmt"
	"testing/fstest"

	"github.com/pavedroad/paved/policy/policytest"
)

// Rego tests run as `opa test` runs them; under go test, RunRegoTests
// makes each a subtest.
func ExampleRegoTests() {
	files := fstest.MapFS{
		"authz.rego":      {Data: []byte("package authz\n\nallow if input.user == \"alice\"\n")},
		"authz_test.rego": {Data: []byte("package authz_test\n\nimport data.authz\n\ntest_alice if authz.allow with input as {\"user\": \"alice\"}\n\ntest_bob if authz.allow with input as {\"user\": \"bob\"}\n")},
	}
	results, err := policytest.RegoTests(context.Background(), files)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Printf("%s:%d %s\n", r.File, r.Row, r)
	}
	// Output:
	// authz_test.rego:5 authz_test.test_alice: PASS
	// authz_test.rego:7 authz_test.test_bob: FAIL
}
