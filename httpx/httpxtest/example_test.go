package httpxtest_test

import (
	"context"
	"fmt"

	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/httpx/httpxtest"
)

// The in-memory store passes the suite. In a test, the same suite runs as
// subtests with httpxtest.RunStoreConformance(t, newStore).
func ExampleCheckStore() {
	err := httpxtest.CheckStore(context.Background(), func() httpx.Store { return httpx.NewMemoryStore(1000) })
	fmt.Println("conformance:", err)
	// Output: conformance: <nil>
}
