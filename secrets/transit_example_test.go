package secrets_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// Transit: Vault encrypts, the service stores the versioned ciphertext and
// never holds the key. After a key rotation, Rewrap moves old ciphertexts
// to the new version without revealing them.
func ExampleTransit() {
	ctx := context.Background()
	f := secretstest.New()
	c := exampleClient(f)
	defer c.Close(ctx)
	tr := c.Transit("transit")

	ct, err := tr.Encrypt(ctx, "paved", []byte("card 4111"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(ct, "vault:v1:"))
	if err := tr.RotateKey(ctx, "paved"); err != nil {
		log.Fatal(err)
	}
	ct2, err := tr.Rewrap(ctx, "paved", ct)
	if err != nil {
		log.Fatal(err)
	}
	v, _ := secrets.KeyVersion(ct2)
	pt, err := tr.Decrypt(ctx, "paved", ct2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v, string(pt))
	// Output:
	// true
	// 2 card 4111
}
