package main

import (
	"context"
	"strings"
	"testing"

	"github.com/pavedroad/paved/internal/testenv"
)

// after is what the example prints after its first line, whichever store
// it runs against: the fake and Vault answer the same.
const after = `injected: {User:orders Password:REDACTED}
rotated to version 2
password is now REDACTED and its value is the new one: true
transit: ciphertext of key version 1, decrypts to "card 4111"
readiness: <nil>
`

func TestRun(t *testing.T) {
	t.Setenv("VAULT_ADDR", "") // the fake, whatever the environment says
	check(t, "store: secretstest (in memory, AppRole login)\n"+after)
}

// TestRunWithVault runs the same program against the integration run's
// Vault, twice: the second run starts from a path with no versions again.
func TestRunWithVault(t *testing.T) {
	v := testenv.RequireVault(t)
	t.Setenv("VAULT_ADDR", v.Addr)
	t.Setenv("VAULT_TOKEN", v.Token)
	for range 2 {
		check(t, "store: Vault at "+v.Addr+" (token login)\n"+after)
	}
}

func check(t *testing.T, want string) {
	t.Helper()
	var out strings.Builder
	if err := run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Error("a password leaked into the output")
	}
}
