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
	time.Sleep(10 * time.Millisecond)
	armed := clock.Waiters()
	for range 40 { // 40 minutes: past the first token's max TTL
		clock.Advance(time.Minute)
		waitFor(t, "the background work to settle", func() bool { return clock.Waiters() >= armed })
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

// TestDynamicNoLeaseSprawl: over two days of a lease with a 1h TTL and a
// 24h max TTL, beside a static secret refreshed every 5 minutes, the
// dynamic path is read exactly once per max TTL (vault#14531,
// vault#29507): renewals extend the one lease, the static refresh never
// touches it, and at most one lease is alive between rotations.
func TestDynamicNoLeaseSprawl(t *testing.T) {
	ctx := context.Background()
	f := secretstest.New()
	clock := f.Clock()
	f.Put("secret/app", map[string]any{"k": "v"})
	c, err := secrets.New(ctx, secrets.Config{Backend: f, Login: secrets.TokenLogin{Token: secrets.NewSecret(f.RootToken())},
		OptOuts: []paved.OptOut{secrets.AllowStaticToken("unit test")}, Clock: clock, Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Static(ctx, "secret/app#k"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(ctx, f.RootToken(), "database/roles/t", map[string]any{"default_ttl": "1h", "max_ttl": "24h"}); err != nil {
		t.Fatal(err)
	}
	events := &eventLog{}
	d, err := c.Dynamic(ctx, secrets.DynamicConfig{Path: "database/creds/t", Events: events, Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	maxLive := 0
	time.Sleep(10 * time.Millisecond)
	armed := clock.Waiters() // token renewer, static refresh, lease renewal: each sleeping
	for range 48 * 12 {      // 48h in 5-minute steps, each after every goroutine is asleep again
		clock.Advance(5 * time.Minute)
		waitFor(t, "the background work to settle", func() bool { return clock.Waiters() >= armed })
		maxLive = max(maxLive, f.LiveLeases("database/creds/t/"))
	}
	waitFor(t, "one live lease", func() bool { return f.LiveLeases("database/creds/t/") == 1 })
	reads := f.Count("read", "database/creds/t")
	rotations := events.count(paved.EventSecretRotation, "") - 1
	if reads != rotations+1 || rotations < 1 || rotations > 2 {
		events.mu.Lock()
		var why []string
		for _, e := range events.ev {
			if e.Type == paved.EventSecretRotation || e.Type == paved.EventSecretFailure || e.Reason == "capped" {
				why = append(why, fmt.Sprintf("%s %s %s", e.Time.Format("02T15:04:05"), e.Type, e.Reason))
			}
		}
		events.mu.Unlock()
		t.Fatalf("%d reads of the dynamic path for %d rotations in 48h, want 1 + one per 24h max TTL: %v", reads, rotations, why)
	}
	if maxLive > 2 {
		t.Fatalf("%d live leases at once", maxLive)
	}
	if f.Count("read", "secret/data/app") < 100 {
		t.Fatalf("the static secret was refreshed only %d times", f.Count("read", "secret/data/app"))
	}
}

// TestDynamicRevokeDeniedByPolicy: a token whose policy lacks
// sys/leases/revoke cannot revoke the old lease: the rotation still
// completes, the failure is reported, no re-login or further rotation
// follows, and the old lease ends at its own expiry.
func TestDynamicRevokeDeniedByPolicy(t *testing.T) {
	ctx := context.Background()
	f := secretstest.New()
	clock := f.Clock()
	f.Deny("sys/leases/revoke")
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
	if _, err := f.Write(ctx, f.RootToken(), "database/roles/t", map[string]any{"default_ttl": "60s", "max_ttl": "60s"}); err != nil {
		t.Fatal(err)
	}
	d, err := c.Dynamic(ctx, secrets.DynamicConfig{Path: "database/creds/t", Events: events, Posture: &paved.Posture{},
		Logger: slog.New(slog.DiscardHandler), Retry: backoff.Policy{Base: time.Second, Cap: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	logins := f.Count("write", "auth/*/login")
	time.Sleep(10 * time.Millisecond)
	armed := clock.Waiters()
	// 65s in 1s steps: the renewal at 40s is capped (20s left, a third
	// of the duration), the rotation comes at once, the first lease ends
	// at 60s.
	for range 65 {
		clock.Advance(time.Second)
		waitFor(t, "the background work to settle", func() bool { return clock.Waiters() >= armed })
	}
	waitFor(t, "the denied revocation", func() bool { return events.count(paved.EventSecretFailure, "revoke") >= 1 })
	if got := events.count(paved.EventSecretRotation, "") - 1; got != 1 {
		t.Fatalf("%d rotations, want 1", got)
	}
	if got := f.Count("write", "auth/*/login"); got != logins {
		t.Fatalf("%d re-logins after a policy denial, want 0", got-logins)
	}
	if got := events.count(paved.EventSecretFailure, "revoke"); got != 1 {
		t.Fatalf("%d revocation attempts, want 1 (a denial is not retried)", got)
	}
	waitFor(t, "the old lease's expiry", func() bool { return f.LiveLeases("database/creds/t/") == 1 })
}
