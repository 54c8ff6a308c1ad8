package main

import (
	"context"
	"os"
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
	log := check(t, "store: secretstest (in memory, AppRole login)\n"+after)
	if strings.Contains(log, "opted out") {
		t.Errorf("an opt-out with the fake:\n%s", log)
	}
}

// TestRunWithVault runs the same program against the integration run's
// Vault, twice: the second run starts from a path with no versions again.
func TestRunWithVault(t *testing.T) {
	v := testenv.RequireVault(t)
	t.Setenv("VAULT_ADDR", v.Addr)
	t.Setenv("VAULT_TOKEN", v.Token)
	for range 2 {
		log := check(t, "store: Vault at "+v.Addr+" (token login)\n"+after)
		// The token login is a weaker road: its opt-out is logged at
		// start-up, with its reason, and the token is not.
		if !strings.Contains(log, `opt_out.name=allow-static-token opt_out.reason="example against a development Vault"`) {
			t.Errorf("the static token's opt-out is not logged:\n%s", log)
		}
		if strings.Contains(log, v.Token) {
			t.Error("the Vault token leaked into the log")
		}
	}
}

// check runs the example, compares what it prints with want, and returns
// what it logged.
func check(t *testing.T, want string) string {
	t.Helper()
	var out, log strings.Builder
	logOutput = &log
	t.Cleanup(func() { logOutput = os.Stderr })
	if err := run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
	if strings.Contains(out.String()+log.String(), "s3cret") {
		t.Errorf("a password leaked into the output or the log:\n%s%s", out.String(), log.String())
	}
	return log.String()
}
