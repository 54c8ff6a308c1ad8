// Command secrets shows package secrets against an in-memory Vault (package
// secretstest), with no infrastructure:
//
//	go run ./examples/secrets
//
// It logs in by AppRole, injects a configuration struct from a KV secret
// (the password stays REDACTED wherever it is printed or logged), follows a
// rotation of that secret, and encrypts with Transit, where the key never
// leaves the store. Then it exits. With VAULT_ADDR and VAULT_TOKEN set
// (a development Vault), the same code runs against it, on the path
// secret/examples/orders-db, which it overwrites.
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
	User     string         `secret:"secret/examples/orders-db#user"`
	Password secrets.Secret `secret:"secret/examples/orders-db#password"`
}

// logOutput is where the client logs: stderr, or a test's buffer.
var logOutput io.Writer = os.Stderr

func run(ctx context.Context, _ []string, stdout io.Writer) error {
	// The log: start-up, opt-outs, renewals and rotations, never a value.
	cfg := secrets.Config{Name: "orders", Logger: slog.New(slog.NewTextHandler(logOutput, nil)), Posture: new(paved.Posture)}
	var c *secrets.Client                   // made below, from cfg
	var put func(data map[string]any) error // writes a new version of the secret
	if addr := os.Getenv("VAULT_ADDR"); addr != "" {
		// A real Vault, with its dev token: a token that cannot be renewed
		// forever is a weaker road than a login method, hence the opt-out.
		token := os.Getenv("VAULT_TOKEN")
		cfg.Vault = secrets.VaultConfig{Address: addr}
		cfg.Login = secrets.TokenLogin{Token: secrets.NewSecret(token)}
		cfg.OptOuts = []paved.OptOut{secrets.AllowStaticToken("example against a development Vault")}
		put = func(data map[string]any) error {
			_, err := c.Backend().Write(ctx, token, "secret/data/examples/orders-db", map[string]any{"data": data})
			return err
		}
		fmt.Fprintln(stdout, "store: Vault at", addr, "(token login)")
	} else {
		// The stand-in Vault, with an AppRole whose secret ID a platform
		// would deliver as a file (here: in a temporary directory).
		vault := secretstest.New()
		dir, err := os.MkdirTemp("", "paved-secrets-example-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		idFile := filepath.Join(dir, "secret-id")
		if err := os.WriteFile(idFile, []byte(vault.AddAppRole("approle", "orders-role")), 0o600); err != nil {
			return err
		}
		cfg.Backend = vault
		cfg.Login = secrets.AppRoleLogin{RoleID: "orders-role", SecretIDFile: idFile}
		put = func(data map[string]any) error { vault.Put("secret/examples/orders-db", data); return nil }
		fmt.Fprintln(stdout, "store: secretstest (in memory, AppRole login)")
	}

	// The client: it logs in, renews its token in the background (and logs
	// in again when it cannot), and fails closed on every read.
	c, err := secrets.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(ctx)      // revokes the token and its leases
	if cfg.Backend == nil { // in Vault: the example's path, no version left from an earlier run
		if _, err := c.Backend().Delete(ctx, os.Getenv("VAULT_TOKEN"), "secret/metadata/examples/orders-db"); err != nil {
			return err
		}
	}
	if err := put(map[string]any{"user": "orders", "password": "s3cret-v1"}); err != nil {
		return err
	}

	// Configuration at start-up: a missing key is an error, not a "".
	var db dbConfig
	if err := c.Inject(ctx, &db); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "injected: %+v\n", db)

	// A secret that rotates: Static keeps the latest value, one atomic load
	// per use; OnChange hears each new version (Config.RefreshInterval
	// polls; Refresh is the same poll, now).
	pw, err := c.Static(ctx, "secret/examples/orders-db#password")
	if err != nil {
		return err
	}
	pw.OnChange(func(_, _ secrets.Secret) { fmt.Fprintln(stdout, "rotated to version", pw.Version()) })
	if err := put(map[string]any{"user": "orders", "password": "s3cret-v2"}); err != nil {
		return err
	}
	if err := c.Refresh(ctx); err != nil {
		return err
	}
	v, err := pw.Value() // an error, never a stale or empty value: fail closed
	if err != nil {
		return err
	}
	// Reveal is the one way to the value: call it where the value is
	// consumed (a driver's config), never to print or log it.
	isNew := v.Reveal() == "s3cret-v2"
	fmt.Fprintln(stdout, "password is now", v, "and its value is the new one:", isNew)

	// Transit: the store encrypts, the service keeps only the ciphertext.
	tr := c.Transit("transit")
	ct, err := tr.Encrypt(ctx, "examples-orders", []byte("card 4111"))
	if err != nil {
		return err
	}
	pt, err := tr.Decrypt(ctx, "examples-orders", ct)
	if err != nil {
		return err
	}
	ver, err := secrets.KeyVersion(ct) // the key version, for re-wrapping after a rotation
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "transit: ciphertext of key version %d, decrypts to %q\n", ver, pt)
	fmt.Fprintln(stdout, "readiness:", c.Check(ctx))
	return nil
}
