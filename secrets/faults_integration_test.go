package secrets_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/secrets"
)

// ownVaultAppRole enables AppRole on v with a role whose tokens read
// secret/* and live ttl (max maxTTL), and returns a login that reads a
// plain secret ID from a file.
func ownVaultAppRole(t *testing.T, b secrets.Backend, root, ttl, maxTTL string) secrets.AppRoleLogin {
	ctx := context.Background()
	w := func(path string, data map[string]any) *secrets.Response {
		t.Helper()
		r, err := b.Write(ctx, root, path, data)
		if err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return r
	}
	w("sys/auth/approle", map[string]any{"type": "approle"})
	w("sys/policies/acl/app", map[string]any{"policy": `path "secret/*" { capabilities = ["read"] }`})
	w("auth/approle/role/app", map[string]any{"token_policies": []string{"app"}, "token_ttl": ttl, "token_max_ttl": maxTTL})
	r, err := b.Read(ctx, root, "auth/approle/role/app/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid := w("auth/approle/role/app/secret-id", nil)
	return secrets.AppRoleLogin{RoleID: r.Data["role_id"].(string), SecretIDFile: writeFile(t, sid.Data["secret_id"].(string))}
}

// TestVaultFaults: a sealed Vault, then a Vault stopped (SIGSTOP) for
// longer than a renewal interval under read load, then resumed.
func TestVaultFaults(t *testing.T) {
	v := startVault(t, "")
	ctx := context.Background()
	b, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: v.addr, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: v.addr, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Write(ctx, v.root, "secret/data/app", map[string]any{"data": map[string]any{"password": "pw1"}}); err != nil {
		t.Fatal(err)
	}
	// Token TTL 12s: renewal every 8s; the stop below lasts 9s.
	login := ownVaultAppRole(t, admin, v.root, "12s", "10m")
	events := &coreEvents{}
	c, err := secrets.New(ctx, secrets.Config{Backend: b, Login: login, Events: events,
		RefreshInterval: time.Second, MaxStale: time.Minute, RetryBase: 200 * time.Millisecond, RetryCap: time.Second,
		Posture: &paved.Posture{}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	s, err := c.Static(ctx, "secret/app#password")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Sealed", func(t *testing.T) {
		if _, err := admin.Write(ctx, v.root, "sys/seal", nil); err != nil {
			t.Fatalf("seal: %v", err)
		}
		if val, err := s.Value(); err != nil || val.Reveal() != "pw1" {
			t.Fatalf("cached read while sealed: %q, %v", val.Reveal(), err)
		}
		if err := c.Refresh(ctx); err == nil {
			t.Fatal("Refresh of a sealed Vault succeeded")
		}
		if err := c.Check(ctx); !errors.Is(err, httpx.ErrDegraded) {
			t.Fatalf("Check while sealed = %v; want degraded", err)
		}
		_, err := c.Get(ctx, "secret/other#password")
		if !errors.Is(err, secrets.ErrSealed) {
			t.Fatalf("uncached read while sealed = %v; want ErrSealed", err)
		}
		if _, err := admin.Write(ctx, "", "sys/unseal", map[string]any{"key": v.waitUnsealKey(t)}); err != nil {
			t.Fatalf("unseal: %v", err)
		}
		waitUntil(t, 20*time.Second, func() bool { return c.Refresh(ctx) == nil && c.Check(ctx) == nil })
	})

	t.Run("StoppedUnderLoad", func(t *testing.T) {
		loginsBefore := events.count(paved.EventSecretLogin)
		var reads, fails atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if val, err := s.Value(); err != nil || val.Reveal() != "pw1" {
						fails.Add(1)
					}
					reads.Add(1)
					time.Sleep(50 * time.Microsecond)
				}
			}()
		}
		if err := v.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		stopped := time.Now()
		degraded := false
		for time.Since(stopped) < 9*time.Second {
			if errors.Is(c.Check(ctx), httpx.ErrDegraded) {
				degraded = true
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err := v.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		// Recovery without a restart: a change made now is seen.
		if _, err := admin.Write(ctx, v.root, "secret/data/app", map[string]any{"data": map[string]any{"password": "pw1", "n": "2"}}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 20*time.Second, func() bool { return c.Check(ctx) == nil && s.Version() >= 2 })
		close(stop)
		wg.Wait()
		if !degraded {
			t.Error("readiness never reported degraded while Vault was stopped")
		}
		if n := fails.Load(); n != 0 {
			t.Errorf("%d of %d reads failed within the staleness bound", n, reads.Load())
		}
		// The token was renewable throughout: recovery renews, at most
		// one login per backoff step (here: none or one).
		if n := events.count(paved.EventSecretLogin) - loginsBefore; n > 1 {
			t.Errorf("%d logins during the outage; want at most 1", n)
		}
		t.Logf("%d reads during a %v stop, none failed", reads.Load(), 9*time.Second)
	})

	t.Run("TokenStillValidAfterRecovery", func(t *testing.T) {
		acc := c.TokenAccessor()
		if _, err := admin.Write(ctx, v.root, "auth/token/lookup-accessor", map[string]any{"accessor": acc}); err != nil {
			t.Fatalf("client token after recovery: %v", err)
		}
	})
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
