// Command secrets shows package secrets against an in-memory Vault (package
// secretstest), with no infrastructure:
//
//	go run ./examples/secrets
//
// It logs in by AppRole, injects a configuration struct from a KV secret
// (the password stays REDACTED wherever it is printed or logged), follows a
// rotation of that secret, and encrypts with Transit, where the key never
// leaves the store. Then it exits. Against a real Vault the code is the
// same but for secrets.Config.Vault in place of Backend.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "secrets example:", err)
		os.Exit(1)
	}
}

// dbConfig is filled by Inject: each tagged field from one key of a KV
// secret (mount/path#key). A secrets.Secret redacts itself everywhere.
type dbConfig struct {
	User     string         `secret:"secret/orders-db#user"`
	Password secrets.Secret `secret:"secret/orders-db#password"`
}

func run(ctx context.Context, _ []string, stdout io.Writer) error {
	// The stand-in Vault, seeded with a secret and an AppRole whose secret
	// ID a platform would deliver as a file (here: in a temporary dir).
	vault := secretstest.New()
	vault.Put("secret/orders-db", map[string]any{"user": "orders", "password": "s3cret-v1"})
	secretID := vault.AddAppRole("approle", "orders-role")
	dir, err := os.MkdirTemp("", "paved-secrets-example-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	idFile := filepath.Join(dir, "secret-id")
	if err := os.WriteFile(idFile, []byte(secretID), 0o600); err != nil {
		return err
	}

	// The client: AppRole login (the token is renewed in the background and
	// the login redone when it cannot be), fail closed on every read.
	c, err := secrets.New(ctx, secrets.Config{
		Name:    "orders",
		Backend: vault, // secrets.Config.Vault: secrets.VaultConfig{Address: ...} for a real one
		Login:   secrets.AppRoleLogin{RoleID: "orders-role", SecretIDFile: idFile},
		Logger:  slog.New(slog.DiscardHandler),
		Posture: new(paved.Posture),
	})
	if err != nil {
		return err
	}
	defer c.Close(ctx) // revokes the token and its leases

	// Configuration at start-up: a missing key is an error, not a "".
	var db dbConfig
	if err := c.Inject(ctx, &db); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "injected: %+v\n", db)
	slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{ReplaceAttr: noTime})).Info("connecting", "db", db)

	// A secret that rotates: Static keeps the latest value, one atomic load
	// per use; OnChange hears each new version (Config.RefreshInterval
	// polls; Refresh is the same poll, now).
	pw, err := c.Static(ctx, "secret/orders-db#password")
	if err != nil {
		return err
	}
	pw.OnChange(func(_, _ secrets.Secret) { fmt.Fprintln(stdout, "rotated to version", pw.Version()) })
	vault.Put("secret/orders-db", map[string]any{"user": "orders", "password": "s3cret-v2"})
	if err := c.Refresh(ctx); err != nil {
		return err
	}
	v, _ := pw.Value()
	// Reveal is the one way to the value: call it where the value is
	// consumed (a driver's config), never to print or log it.
	isNew := v.Reveal() == "s3cret-v2"
	fmt.Fprintln(stdout, "password is now", v, "and its value is the new one:", isNew)

	// Transit: the store encrypts, the service keeps only the ciphertext.
	tr := c.Transit("transit")
	ct, err := tr.Encrypt(ctx, "orders", []byte("card 4111"))
	if err != nil {
		return err
	}
	pt, err := tr.Decrypt(ctx, "orders", ct)
	if err != nil {
		return err
	}
	ver, _ := secrets.KeyVersion(ct)
	fmt.Fprintf(stdout, "transit: ciphertext of key version %d, decrypts to %q\n", ver, pt)
	fmt.Fprintln(stdout, "readiness:", c.Check(ctx))
	return nil
}

// noTime drops the time from the log line, so that the output is the same
// on every run.
func noTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
