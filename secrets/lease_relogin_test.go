package secrets_test

import (
	"context"
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

// TestDynamicFollowsClientRelogin: on the Fake, a Client whose token
// reaches its max TTL logs in again; the database lease (which dies with
// the old token) is fetched again under the new one, exactly once per
// re-login, and exactly one lease is alive at every step.
func TestDynamicFollowsClientRelogin(t *testing.T) {
	ctx := context.Background()
	f := secretstest.New()
	clock := f.Clock()
	f.SetTokenTTL(10*time.Minute, 30*time.Minute)
	secretID := f.AddAppRole("approle", "app-role")
	file := filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(file, []byte(secretID), 0o600); err != nil {
		t.Fatal(err)
	}
	events := &eventLog{}
	c, err := secrets.New(ctx, secrets.Config{Backend: f, Login: secrets.AppRoleLogin{RoleID: "app-role", SecretIDFile: file},
		Clock: clock, Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler), Events: events})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := f.Write(ctx, f.RootToken(), "database/roles/t", map[string]any{"default_ttl": "1h", "max_ttl": "24h"}); err != nil {
		t.Fatal(err)
	}
	d, err := c.Dynamic(ctx, secrets.DynamicConfig{Path: "database/creds/t", Events: events, Posture: &paved.Posture{},
		Logger: slog.New(slog.DiscardHandler), Retry: backoff.Policy{Base: time.Second, Cap: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	first := d.Current()
	e := f.Engines()
	for range 40 { // 40 minutes: past the first token's max TTL
		clock.Advance(time.Minute)
		time.Sleep(2 * time.Millisecond)
		if n := f.LiveLeases("database/creds/t/"); n > 2 {
			t.Fatalf("%d live leases", n)
		}
	}
	waitFor(t, "a rotation after the re-login", func() bool { return events.count(paved.EventSecretRotation, "relogin") >= 1 })
	waitFor(t, "one live lease that logs in", func() bool {
		cur := d.Current()
		return cur != first && e.ValidLogin(cur.Reveal("username"), cur.Reveal("password")) && f.LiveLeases("database/creds/t/") == 1
	})
	logins := events.count(paved.EventSecretLogin, "")
	rotations := events.count(paved.EventSecretRotation, "") - 1 // the first issue
	if rotations > logins {
		t.Fatalf("%d rotations for %d logins: a re-login must bring one fresh lease, not more", rotations, logins)
	}
}
