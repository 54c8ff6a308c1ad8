package secretstest_test

import (
	"testing"

	"github.com/pavedroad/paved/secrets/secretstest"
)

func TestConformanceFake(t *testing.T) {
	secretstest.RunConformance(t, secretstest.FakeEnv(secretstest.New()))
}
