package authtest_test

import (
	"testing"

	"github.com/pavedroad/paved/auth/authtest"
)

func TestConformanceAuthtest(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			authtest.RunConformance(t, authtest.NewServer(t, authtest.Config{Algorithm: alg}))
		})
	}
}
