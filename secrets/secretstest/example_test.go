package secretstest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// Local development: the service's secrets from environment variables,
// through the same client code as in production.
func ExampleFake_LoadEnv() {
	f := secretstest.New()
	if err := f.LoadEnv("DEV_SECRET_", []string{"DEV_SECRET_DB=secret/db#password=dev-only"}); err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	c, err := secrets.New(ctx, secrets.Config{Backend: f, Posture: &paved.Posture{},
		Login:   secrets.TokenLogin{Token: secrets.NewSecret(f.RootToken())},
		OptOuts: []paved.OptOut{secrets.AllowStaticToken("local development")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)
	pw, err := c.Get(ctx, "secret/db#password")
	fmt.Println(pw, pw.Reveal(), err)
	// Output: REDACTED dev-only <nil>
}

// Faults on demand: a sealed fake fails start-up closed, naming why.
func ExampleFake_Seal() {
	f := secretstest.New()
	f.Seal()
	_, err := secrets.New(context.Background(), secrets.Config{Backend: f, Posture: &paved.Posture{},
		Login:           secrets.TokenLogin{Token: secrets.NewSecret(f.RootToken())},
		OptOuts:         []paved.OptOut{secrets.AllowStaticToken("example")},
		StartupAttempts: 2, RetryBase: time.Millisecond})
	fmt.Println(err)
	// Output: secrets: start (secretstest.Fake): startup: secrets: vault: read auth/token/lookup-self: 503: Vault is sealed
}
