package secrets_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// exampleClient is a Client over the fake with its root token.
func exampleClient(f *secretstest.Fake) *secrets.Client {
	c, err := secrets.New(context.Background(), secrets.Config{
		Backend: f, Login: secrets.TokenLogin{Token: secrets.NewSecret(f.RootToken())}, Clock: f.Clock(),
		OptOuts: []paved.OptOut{secrets.AllowStaticToken("example against the in-memory fake")},
		Posture: &paved.Posture{}, Logger: quietLogger(),
	})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// Dynamic database credentials: renewed at 2/3 of the lease, replaced
// before max TTL, the old lease revoked once OnRotate has put the new one
// in use, and the current one revoked at Close.
func ExampleClient_Dynamic() {
	ctx := context.Background()
	f := secretstest.New()
	c := exampleClient(f)
	defer c.Close(ctx)

	creds, err := c.Dynamic(ctx, secrets.DynamicConfig{
		Path: "database/creds/app",
		OnRotate: func(ctx context.Context, old, new *secrets.Lease) error {
			// Open a pool with new, swap it in, drain the old one
			// (package pgxsecrets does this for pgx).
			return nil
		},
		Posture: &paved.Posture{}, Logger: quietLogger(),
	})
	if err != nil {
		log.Fatal(err)
	}
	l := creds.Current()
	fmt.Println("user issued:", l.Username().Reveal() != "")
	fmt.Println("printed:", l.Password())
	fmt.Println("live leases:", f.LiveLeases("database/creds/app/"))
	if err := creds.Close(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after Close:", f.LiveLeases("database/creds/app/"))
	// Output:
	// user issued: true
	// printed: REDACTED
	// live leases: 1
	// after Close: 0
}
