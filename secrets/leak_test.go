package secrets_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// TestNoGoroutineAfterClose: a client that logged in, read, injected,
// logged in again and refreshed leaves no goroutine behind after Close.
func TestNoGoroutineAfterClose(t *testing.T) {
	ctx := context.Background()
	before := runtime.NumGoroutine()
	for range 3 {
		f := secretstest.New()
		f.Put("secret/app", map[string]any{"k": "v"})
		sid := f.AddAppRole("approle", "r")
		c, err := secrets.New(ctx, secrets.Config{Backend: f, Events: paved.NopSink{}, Posture: &paved.Posture{}, Logger: quietLogger(),
			Login: secrets.AppRoleLogin{RoleID: "r", SecretIDFile: writeFile(t, sid)}, RefreshInterval: time.Second, MaxStale: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var dst struct {
			K secrets.Secret `secret:"secret/app#k"`
		}
		if err := c.Inject(ctx, &dst); err != nil {
			t.Fatal(err)
		}
		if err := c.Login(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitGoroutines(t, before)
}

// TestNoLoginAfterClose: a call through a closed client (here transit)
// fails with ReasonClosed; it does not log in again, which would mint a
// token that nothing revokes.
func TestNoLoginAfterClose(t *testing.T) {
	ctx := context.Background()
	f := secretstest.New()
	f.Mount("transit/", "transit", 0)
	sid := f.AddAppRole("approle", "r")
	c, err := secrets.New(ctx, secrets.Config{Backend: f, Events: paved.NopSink{}, Posture: &paved.Posture{}, Logger: quietLogger(),
		Login: secrets.AppRoleLogin{RoleID: "r", SecretIDFile: writeFile(t, sid)}, RetryBase: time.Millisecond, RetryCap: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Transit("transit")
	if _, err := tr.Encrypt(ctx, "k", []byte("x")); err != nil {
		t.Fatalf("Encrypt before Close: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = tr.Encrypt(ctx, "k", []byte("x"))
	var e *secrets.Error
	if !errors.As(err, &e) || e.Reason != secrets.ReasonClosed {
		t.Fatalf("Encrypt after Close = %v; want reason %s", err, secrets.ReasonClosed)
	}
	if n := f.Count("write", "auth/*/login"); n != 1 {
		t.Fatalf("%d logins; want 1 (none after Close)", n)
	}
	if n := f.Tokens(); n != 0 {
		t.Fatalf("%d live tokens after Close; want 0", n)
	}
}

// TestCloseLeavesTheCallersToken: a TokenLogin token is the caller's:
// Close does not revoke it.
func TestCloseLeavesTheCallersToken(t *testing.T) {
	ctx := context.Background()
	f := secretstest.New()
	tok := f.CreateToken([]string{"default"}, time.Hour, 0, true)
	c, err := secrets.New(ctx, secrets.Config{Backend: f, Events: paved.NopSink{}, Posture: &paved.Posture{}, Logger: quietLogger(),
		Login: secrets.TokenLogin{Token: secrets.NewSecret(tok)}, OptOuts: []paved.OptOut{secrets.AllowStaticToken("test")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(ctx, tok, "auth/token/lookup-self"); err != nil {
		t.Fatalf("the caller's token after Close: %v", err)
	}
}

// TestCloseReleasesVaultConnections: a Client whose Vault backend New
// built (from Config.Vault) closes its idle keep-alive connections at
// Close; they would otherwise keep two goroutines each alive for as long
// as the process. Vault here is a stand-in that answers lookup-self.
func TestCloseReleasesVaultConnections(t *testing.T) {
	vault := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"accessor":"acc","ttl":0,"renewable":false,"policies":["default"],"id":"t"}}`)
	}))
	defer vault.Close()
	before := runtime.NumGoroutine()
	for range 3 {
		c, err := secrets.New(context.Background(), secrets.Config{Vault: secrets.VaultConfig{Address: vault.URL},
			Login: secrets.TokenLogin{Token: secrets.NewSecret("t")}, Events: paved.NopSink{}, Posture: &paved.Posture{}, Logger: quietLogger(),
			OptOuts: []paved.OptOut{secrets.AllowStaticToken("a stand-in Vault on loopback in this test")}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	waitGoroutines(t, before)
}

// waitGoroutines fails the test unless the goroutine count is back to
// before within 5 s, printing every stack when it is not.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
