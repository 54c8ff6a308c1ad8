package secrets_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/internal/testenv"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

func randID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// vaultEnv is the conformance environment of a real Vault reached at addr
// with the root token.
func vaultEnv(t testing.TB, b secrets.Backend, addr, root string, apiClient func() *api.Client) secretstest.Env {
	ctx := context.Background()
	w := func(t testing.TB, path string, data map[string]any) *secrets.Response {
		t.Helper()
		r, err := b.Write(ctx, root, path, data)
		if err != nil {
			t.Fatalf("vault write %s: %v", path, err)
		}
		return r
	}
	mount := func(t testing.TB, path string, body map[string]any) {
		t.Helper()
		p := "sys/mounts/" + strings.Trim(path, "/")
		_, _ = b.Delete(ctx, root, p)
		w(t, p, body)
	}
	return secretstest.Env{
		Backend:    b,
		AdminToken: root,
		Prefix:     "sc" + randID(3),
		MountKV: func(t testing.TB, path string, version int) {
			mount(t, path, map[string]any{"type": "kv", "options": map[string]any{"version": fmt.Sprint(version)}})
		},
		MountTransit: func(t testing.TB, path string) { mount(t, path, map[string]any{"type": "transit"}) },
		AppRole: func(t testing.TB, m, readPrefix string) (string, func() string) {
			_, _ = b.Delete(ctx, root, "sys/auth/"+m)
			w(t, "sys/auth/"+m, map[string]any{"type": "approle"})
			pol := "p-" + m
			w(t, "sys/policies/acl/"+pol, map[string]any{"policy": fmt.Sprintf(`path %q { capabilities = ["read", "list"] }`, readPrefix+"*")})
			w(t, "auth/"+m+"/role/app", map[string]any{"token_policies": []string{pol}, "token_ttl": "1h", "token_max_ttl": "4h"})
			r, err := b.Read(ctx, root, "auth/"+m+"/role/app/role-id")
			if err != nil {
				t.Fatal(err)
			}
			roleID, _ := r.Data["role_id"].(string)
			mint := func() string {
				c := apiClient()
				c.SetWrappingLookupFunc(func(string, string) string { return "120s" })
				s, err := c.Logical().Write("auth/"+m+"/role/app/secret-id", nil)
				if err != nil || s == nil || s.WrapInfo == nil {
					t.Fatalf("wrapped secret-id: %v", err)
				}
				return s.WrapInfo.Token
			}
			return roleID, mint
		},
		DeniedToken: func(t testing.TB, _ string) string {
			r := w(t, "auth/token/create", map[string]any{"policies": []string{"default"}, "ttl": "1h"})
			return r.Auth.ClientToken.Reveal()
		},
	}
}

func integrationVault(t *testing.T) (secrets.Backend, secretstest.Env) {
	v := testenv.RequireVault(t)
	b, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: v.Addr})
	if err != nil {
		t.Fatal(err)
	}
	apiClient := func() *api.Client {
		cfg := api.DefaultConfig()
		cfg.Address = v.Addr
		c, err := api.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.SetToken(v.Token)
		return c
	}
	return b, vaultEnv(t, b, v.Addr, v.Token, apiClient)
}

func TestConformanceVault(t *testing.T) {
	_, env := integrationVault(t)
	secretstest.RunConformance(t, env)
}

// ownVault is a Vault dev server a test starts itself (to seal, stop or
// serve TLS without disturbing the shared one).
type ownVault struct {
	addr, root, caFile string
	cmd                *exec.Cmd
	unsealKey          chan string
}

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startVault(t *testing.T, tlsDir string) *ownVault {
	t.Helper()
	bin := testenv.Require(t, "PAVED_VAULT_BIN")["PAVED_VAULT_BIN"]
	addr := freePort(t)
	root := "root-" + randID(6)
	args := []string{"server", "-dev", "-dev-listen-address=" + addr, "-dev-root-token-id=" + root, "-dev-no-store-token"}
	scheme := "http"
	if tlsDir != "" {
		args = append(args, "-dev-tls", "-dev-tls-cert-dir="+tlsDir)
		scheme = "https"
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "VAULT_DEV_ROOT_TOKEN_ID=", "HOME="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	v := &ownVault{addr: scheme + "://" + addr, root: root, cmd: cmd, unsealKey: make(chan string, 1)}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Process.Signal(os.Kill)
		_ = cmd.Wait()
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			if k, ok := strings.CutPrefix(strings.TrimSpace(line), "Unseal Key: "); ok {
				v.unsealKey <- k
			}
			if strings.Contains(line, "Development mode should NOT be used") || strings.Contains(line, "core: vault is unsealed") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("own vault did not start")
	}
	if tlsDir != "" {
		v.caFile = filepath.Join(tlsDir, "vault-ca.pem")
	}
	// Wait until it answers.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("own vault at %s does not answer: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return v
}

func (v *ownVault) waitUnsealKey(t *testing.T) string {
	select {
	case k := <-v.unsealKey:
		return k
	case <-time.After(5 * time.Second):
		t.Fatal("no unseal key in the dev server's output")
	}
	return ""
}

type coreEvents struct {
	mu     sync.Mutex
	events []paved.Event
}

func (l *coreEvents) Enabled(context.Context, paved.EventType) bool { return true }
func (l *coreEvents) Emit(_ context.Context, e paved.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}
func (l *coreEvents) count(t paved.EventType) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Type == t {
			n++
		}
	}
	return n
}

var _ paved.Sink = (*coreEvents)(nil)

func TestVaultUnreachableAtStart(t *testing.T) {
	addr := "http://" + freePort(t) // nothing listens there
	start := time.Now()
	_, err := secrets.New(context.Background(), secrets.Config{
		Vault:     secrets.VaultConfig{Address: addr, Timeout: 500 * time.Millisecond},
		Login:     secrets.AppRoleLogin{RoleID: "r", SecretIDFile: writeFile(t, "sid")},
		RetryBase: 10 * time.Millisecond, RetryCap: 20 * time.Millisecond, StartupAttempts: 3,
		Posture: &paved.Posture{}, Logger: quietLogger(),
	})
	var e *secrets.Error
	if !errors.As(err, &e) || e.Reason != secrets.ReasonStartup || e.Target != addr || !errors.Is(err, secrets.ErrUnavailable) {
		t.Fatalf("New = %v; want a startup error naming %s and wrapping ErrUnavailable", err, addr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("start-up took %v with 3 bounded attempts", d)
	}
}

func writeFile(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
