package secretstest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
)

// Env is what [RunConformance] needs of a backend: the backend itself, an
// administrator's token, and set-up steps that a real Vault does through
// its admin API and the fake through its own methods. [FakeEnv] builds one
// for the fake; the integration tests build one for Vault.
type Env struct {
	// Backend is the system under test.
	Backend secrets.Backend
	// AdminToken may do anything (a root token).
	AdminToken string
	// Prefix is unique to this run, so that runs against one shared
	// Vault do not collide; mounts and roles are named after it.
	Prefix string
	// MountKV creates a KV mount of version 1 or 2 at path ("p/kv1/").
	MountKV func(t testing.TB, path string, version int)
	// MountTransit creates a mount of a non-KV engine at path.
	MountTransit func(t testing.TB, path string)
	// AppRole enables AppRole at mount with a role whose tokens may read
	// readPrefix, and returns the role ID and a function that mints a
	// response-wrapped secret ID.
	AppRole func(t testing.TB, mount, readPrefix string) (roleID string, wrappedSecretID func() string)
	// DeniedToken returns a token that may not read path.
	DeniedToken func(t testing.TB, path string) string
}

// FakeEnv returns the conformance environment of f.
func FakeEnv(f *Fake) Env {
	return Env{
		Backend:      f,
		AdminToken:   f.RootToken(),
		Prefix:       "c" + f.randHex(3),
		MountKV:      func(_ testing.TB, path string, version int) { f.Mount(path, "kv", version) },
		MountTransit: func(_ testing.TB, path string) { f.Mount(path, "transit", 0) },
		AppRole: func(_ testing.TB, mount, _ string) (string, func() string) {
			rid := "role-" + f.randHex(4)
			f.AddAppRole(mount, rid)
			return rid, func() string { return f.WrapSecretID(mount, rid, time.Minute) }
		},
		DeniedToken: func(_ testing.TB, path string) string {
			tok := f.CreateToken([]string{"default"}, time.Hour, 0, true)
			f.DenyToken(tok, path)
			return tok
		},
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (e Env) write(t testing.TB, path string, data map[string]any) {
	t.Helper()
	if _, err := e.Backend.Write(context.Background(), e.AdminToken, path, data); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func (e Env) client(t testing.TB, login secrets.LoginMethod, opts ...paved.OptOut) *secrets.Client {
	t.Helper()
	c, err := secrets.New(context.Background(), secrets.Config{Backend: e.Backend, Login: login, OptOuts: opts,
		RetryBase: time.Millisecond, RetryCap: 10 * time.Millisecond, StartupAttempts: 2,
		Posture: &paved.Posture{}, Logger: quiet(), Events: paved.NopSink{}})
	if err != nil {
		t.Fatalf("secrets.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func (e Env) admin(t testing.TB) *secrets.Client {
	return e.client(t, secrets.TokenLogin{Token: secrets.NewSecret(e.AdminToken)}, secrets.AllowStaticToken("the conformance suite administers the test Vault with its root token"))
}

func wantReason(t testing.TB, err error, reason string) {
	t.Helper()
	var e *secrets.Error
	if !errors.As(err, &e) || e.Reason != reason {
		t.Fatalf("error %v; want a *secrets.Error of reason %q", err, reason)
	}
}

// RunConformance runs the static-secrets and login conformance suite
// against env: the fake passes it in unit tests and a Vault dev server in
// the integration run, so the fake is trusted where Vault agrees.
func RunConformance(t *testing.T, env Env) {
	ctx := context.Background()
	p := env.Prefix
	kv2, kv1, tr := p+"-kv2/", p+"-kv1/", p+"-transit/"
	env.MountKV(t, kv2, 2)
	env.MountKV(t, kv1, 1)
	env.MountTransit(t, tr)
	env.write(t, kv2+"data/app", map[string]any{"data": map[string]any{"password": "one", "user": "svc"}})
	env.write(t, kv2+"data/app", map[string]any{"data": map[string]any{"password": "two", "user": "svc"}})
	env.write(t, kv1+"app", map[string]any{"password": "v1pw"})

	t.Run("KVReads", func(t *testing.T) {
		c := env.admin(t)
		cases := []struct {
			ref, want, reason string
		}{
			{kv2 + "app#password", "two", ""},
			{kv2 + "app#password@1", "one", ""},
			{kv2 + "app#password@2", "two", ""},
			{kv2 + "app#user", "svc", ""},
			{kv1 + "app#password", "v1pw", ""},
			{kv2 + "app#nokey", "", secrets.ReasonMissingKey},
			{kv2 + "nosuch#password", "", secrets.ReasonNotFound},
			{kv2 + "app#password@9", "", secrets.ReasonNotFound},
			{kv1 + "nosuch#password", "", secrets.ReasonNotFound},
			{kv1 + "app#password@1", "", secrets.ReasonWrongMount},
			{tr + "keys/k#name", "", secrets.ReasonWrongMount},
			{p + "-unmounted/app#password", "", secrets.ReasonPermissionDenied},
			{kv2 + "app", "", secrets.ReasonBadReference},
			{kv2 + "app#", "", secrets.ReasonBadReference},
		}
		for _, tc := range cases {
			t.Run(tc.ref, func(t *testing.T) {
				got, err := c.Get(ctx, tc.ref)
				if tc.reason != "" {
					wantReason(t, err, tc.reason)
					var e *secrets.Error
					if errors.As(err, &e); tc.reason != secrets.ReasonBadReference && e.Ref != tc.ref {
						t.Fatalf("error %v names the reference %q; want %q", err, e.Ref, tc.ref)
					}
					return
				}
				if err != nil || got.Reveal() != tc.want {
					t.Fatalf("Get = %q, %v; want %q", got.Reveal(), err, tc.want)
				}
			})
		}
	})

	t.Run("RefreshNotifiesChange", func(t *testing.T) {
		c := env.admin(t)
		env.write(t, kv2+"data/rot", map[string]any{"data": map[string]any{"k": "a"}})
		s, err := c.Static(ctx, kv2+"rot#k")
		if err != nil {
			t.Fatal(err)
		}
		type change struct{ old, new string }
		got := make(chan change, 4)
		s.OnChange(func(o, n secrets.Secret) { got <- change{o.Reveal(), n.Reveal()} })
		if err := c.Refresh(ctx); err != nil {
			t.Fatalf("Refresh unchanged: %v", err)
		}
		select {
		case ch := <-got:
			t.Fatalf("change %v without a new version", ch)
		default:
		}
		env.write(t, kv2+"data/rot", map[string]any{"data": map[string]any{"k": "b"}})
		if err := c.Refresh(ctx); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		select {
		case ch := <-got:
			if ch != (change{"a", "b"}) {
				t.Fatalf("change %v; want a -> b", ch)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no change notification")
		}
		if v, _ := s.Value(); v.Reveal() != "b" || s.Version() != 2 {
			t.Fatalf("value %q version %d; want b, 2", v.Reveal(), s.Version())
		}
	})

	t.Run("PermissionDenied", func(t *testing.T) {
		tok := env.DeniedToken(t, kv2+"data/app")
		c := env.client(t, secrets.TokenLogin{Token: secrets.NewSecret(tok)}, secrets.AllowStaticToken("the permission-denied case needs a token that only a deny policy grants"))
		_, err := c.Get(ctx, kv2+"app#password")
		wantReason(t, err, secrets.ReasonPermissionDenied)
		if !errors.Is(err, secrets.ErrPermissionDenied) {
			t.Fatalf("%v does not wrap ErrPermissionDenied", err)
		}
	})

	t.Run("AppRoleWrappedSecretIDFile", func(t *testing.T) {
		mount := p + "-approle"
		roleID, mint := env.AppRole(t, mount, kv2)
		file := filepath.Join(t.TempDir(), "secret-id")
		if err := os.WriteFile(file, []byte(mint()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		login := secrets.AppRoleLogin{Mount: mount, RoleID: roleID, SecretIDFile: file, Wrapped: true}
		c := env.client(t, login)
		acc := c.TokenAccessor()
		if acc == "" {
			t.Fatal("no accessor after login")
		}
		// The wrapping token is spent: a login from the same file fails.
		if err := c.Login(ctx); err == nil {
			t.Fatal("a second login with a used wrapping token succeeded")
		}
		// A fresh one in the file: the next login reads it.
		if err := os.WriteFile(file, []byte(mint()), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := c.Login(ctx); err != nil {
			t.Fatalf("re-login with a fresh wrapping token: %v", err)
		}
		if c.TokenAccessor() == acc {
			t.Fatal("re-login kept the same token")
		}
		// Close revokes the token.
		acc = c.TokenAccessor()
		if err := c.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := env.Backend.Write(ctx, env.AdminToken, "auth/token/lookup-accessor", map[string]any{"accessor": acc}); err == nil {
			t.Fatal("the token is still valid after Close")
		}
	})

	t.Run("ReloginAfterRevocation", func(t *testing.T) {
		mount := p + "-approle2"
		roleID, mint := env.AppRole(t, mount, kv2)
		file := filepath.Join(t.TempDir(), "secret-id")
		if err := os.WriteFile(file, []byte(mint()), 0o600); err != nil {
			t.Fatal(err)
		}
		c := env.client(t, secrets.AppRoleLogin{Mount: mount, RoleID: roleID, SecretIDFile: file, Wrapped: true})
		acc := c.TokenAccessor()
		if err := os.WriteFile(file, []byte(mint()), 0o600); err != nil {
			t.Fatal(err)
		}
		env.write(t, "auth/token/revoke-accessor", map[string]any{"accessor": acc})
		// The next read finds the token revoked, logs in again, and reads.
		if _, err := c.Get(ctx, kv2+"app#password"); err != nil {
			t.Fatalf("read after revocation: %v", err)
		}
		if c.TokenAccessor() == acc {
			t.Fatal("no re-login after revocation")
		}
	})

	t.Run("TokenLifecycle", func(t *testing.T) {
		mount := p + "-approle3"
		roleID, mint := env.AppRole(t, mount, kv2)
		b := env.Backend
		w, err := b.Write(ctx, "", "sys/wrapping/unwrap", nil)
		if err == nil {
			t.Fatalf("unwrap without a token answered %+v", w)
		}
		un, err := b.Write(ctx, mint(), "sys/wrapping/unwrap", nil)
		if err != nil {
			t.Fatalf("unwrap: %v", err)
		}
		login, err := b.Write(ctx, "", "auth/"+mount+"/login", map[string]any{"role_id": roleID, "secret_id": un.Data["secret_id"]})
		if err != nil || login.Auth == nil || login.Auth.ClientToken.IsZero() || login.Auth.LeaseDuration <= 0 || !login.Auth.Renewable || login.Auth.Accessor == "" {
			t.Fatalf("login = %+v, %v", login, err)
		}
		tok := login.Auth.ClientToken.Reveal()
		look, err := b.Read(ctx, tok, "auth/token/lookup-self")
		if err != nil {
			t.Fatalf("lookup-self: %v", err)
		}
		if ttl, ok := look.Data["ttl"].(json.Number); !ok || ttl.String() == "0" || look.Data["renewable"] != true || look.Data["accessor"] != login.Auth.Accessor {
			t.Fatalf("lookup-self data %v", look.Data)
		}
		ren, err := b.Write(ctx, tok, "auth/token/renew-self", map[string]any{"increment": "600s"})
		if err != nil || ren.Auth == nil || ren.Auth.LeaseDuration != 600*time.Second || !ren.Auth.Renewable {
			t.Fatalf("renew-self = %+v, %v; want a 600s renewable token", ren, err)
		}
		if _, err := b.Write(ctx, tok, "auth/token/revoke-self", nil); err != nil {
			t.Fatalf("revoke-self: %v", err)
		}
		_, err = b.Read(ctx, tok, "auth/token/lookup-self")
		var se *secrets.StatusError
		if !errors.As(err, &se) || se.Status != 403 || !errors.Is(err, secrets.ErrPermissionDenied) || !strings.Contains(strings.Join(se.Messages, " "), "invalid token") {
			t.Fatalf("revoked token lookup = %v; want 403 invalid token", err)
		}
		// A KV v2 write answers its version; metadata has the current one.
		wr, err := b.Write(ctx, env.AdminToken, kv2+"data/meta", map[string]any{"data": map[string]any{"a": "1"}})
		if err != nil || wr.Data["version"] != json.Number("1") {
			t.Fatalf("kv2 write = %+v, %v", wr, err)
		}
		md, err := b.Read(ctx, env.AdminToken, kv2+"metadata/meta")
		if err != nil || md.Data["current_version"] != json.Number("1") {
			t.Fatalf("kv2 metadata = %+v, %v", md, err)
		}
		if _, err := b.Read(ctx, env.AdminToken, kv2+"data/nosuch"); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("kv2 read of nothing = %v; want ErrNotFound", err)
		}
	})

	t.Run("InjectRequiredAndOptional", func(t *testing.T) {
		// Struct tags are constants: this case uses the dev server's KV v2
		// mount secret/ under a fixed path.
		env.write(t, "secret/data/paved-conformance/inject", map[string]any{"data": map[string]any{"password": "pw", "user": "svc", "raw": "bytes"}})
		c := env.admin(t)
		var cfg InjectTarget
		cfg.Opt = "keep"
		if err := c.Inject(ctx, &cfg); err != nil {
			t.Fatalf("Inject: %v", err)
		}
		if cfg.Password.Reveal() != "pw" || cfg.User != "svc" || string(cfg.Raw) != "bytes" || cfg.Opt != "keep" || cfg.Nested.User != "svc" {
			t.Fatalf("Inject filled %+v", cfg)
		}
		var bad struct {
			Password secrets.Secret `secret:"secret/paved-conformance/inject#password"`
			Missing  string         `secret:"secret/paved-conformance/inject#nokey"`
		}
		err := c.Inject(ctx, &bad)
		var e *secrets.Error
		if !errors.As(err, &e) || e.Reason != secrets.ReasonMissingKey || e.Field != "Missing" || e.Ref != "secret/paved-conformance/inject#nokey" {
			t.Fatalf("Inject of a missing key: %v; want reason %s naming the field and the reference", err, secrets.ReasonMissingKey)
		}
		if !bad.Password.IsZero() {
			t.Fatal("Inject filled fields although a required one failed")
		}
	})
}

// InjectTarget is the struct the conformance suite injects.
type InjectTarget struct {
	Password secrets.Secret `secret:"secret/paved-conformance/inject#password"`
	User     string         `secret:"secret/paved-conformance/inject#user"`
	Raw      []byte         `secret:"secret/paved-conformance/inject#raw"`
	Opt      string         `secret:"secret/paved-conformance/inject#absent,optional"`
	Nested   struct {
		User string `secret:"secret/paved-conformance/inject#user"`
	}
}
