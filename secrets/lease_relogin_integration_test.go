package secrets_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/internal/backoff"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// TestDynamicReloginVault: against the real Vault, an AppRole token with a
// 6s max TTL is replaced by a re-login; the database lease, which dies with
// the token that created it, is fetched again under the new token and its
// login works; exactly one lease is left under the role, none after Close.
func TestDynamicReloginVault(t *testing.T) {
	name := fmt.Sprintf("paved-dynrl-%d", time.Now().UnixNano()%1e9)
	tgt := vaultEngineTarget(t, name)
	ctx := context.Background()
	admin := func(path string, data map[string]any) {
		t.Helper()
		if _, err := tgt.Admin.Write(ctx, tgt.AdminToken, path, data); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	role := name
	conn := map[string]any{"allowed_roles": role}
	for k, v := range tgt.Database {
		conn[k] = v
	}
	admin("database/config/"+name, conn)
	admin("database/roles/"+role, map[string]any{"db_name": name, "default_ttl": "1h", "max_ttl": "24h",
		"creation_statements":   `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT pg_read_all_data TO "{{name}}";`,
		"revocation_statements": `DROP ROLE IF EXISTS "{{name}}";`})
	admin("sys/policies/acl/"+name, map[string]any{"policy": fmt.Sprintf(`
path "database/creds/%s" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }
`, role)})
	admin("sys/auth/"+name, map[string]any{"type": "approle"})
	admin("auth/"+name+"/role/app", map[string]any{"token_policies": name, "token_ttl": "4s", "token_max_ttl": "6s"})
	r, err := tgt.Admin.Read(ctx, tgt.AdminToken, "auth/"+name+"/role/app/role-id")
	if err != nil {
		t.Fatal(err)
	}
	roleID, _ := r.Data["role_id"].(string)
	r, err = tgt.Admin.Write(ctx, tgt.AdminToken, "auth/"+name+"/role/app/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	secretID, _ := r.Data["secret_id"].(string)
	file := filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(file, []byte(secretID), 0o600); err != nil {
		t.Fatal(err)
	}
	events := &eventLog{}
	c, err := secrets.New(ctx, secrets.Config{Backend: tgt.Admin, Login: secrets.AppRoleLogin{Mount: name, RoleID: roleID, SecretIDFile: file},
		Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler), Events: events, RetryBase: 100 * time.Millisecond, RetryCap: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	d, err := c.Dynamic(ctx, secrets.DynamicConfig{Path: "database/creds/" + role, Events: events, Posture: &paved.Posture{},
		Logger: slog.New(slog.DiscardHandler), Retry: backoff.Policy{Base: 200 * time.Millisecond, Cap: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	first := d.Current()
	prefix := "database/creds/" + role
	deadline := time.Now().Add(30 * time.Second)
	for events.count(paved.EventSecretRotation, "relogin") < 1 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if events.count(paved.EventSecretRotation, "relogin") < 1 {
		t.Fatalf("no rotation after a re-login in 30s (logins: %d)", events.count(paved.EventSecretLogin, ""))
	}
	cur := d.Current()
	if cur == first {
		t.Fatal("the lease was not replaced")
	}
	if err := tgt.DBLogin(ctx, cur.Username().Reveal(), cur.Password().Reveal()); err != nil {
		t.Fatalf("the lease fetched after the re-login does not log in: %v", err)
	}
	waitFor(t, "one lease under the role", func() bool {
		n, err := secretstest.CountLeases(ctx, tgt.Admin, tgt.AdminToken, prefix)
		return err == nil && n == 1
	})
	if err := d.Close(ctx); err != nil {
		t.Logf("Close: %v (the token may have expired meanwhile; its leases with it)", err)
	}
	waitFor(t, "no lease under the role", func() bool {
		n, err := secretstest.CountLeases(ctx, tgt.Admin, tgt.AdminToken, prefix)
		return err == nil && n == 0
	})
}
