package secrets_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// fakeClient returns a fake, an AppRole client logged in to it on the
// fake's clock, and the client's events.
func fakeClient(t *testing.T, tweak func(*secrets.Config)) (*secretstest.Fake, *secrets.Client, *coreEvents) {
	t.Helper()
	f := secretstest.New()
	sid := f.AddAppRole("approle", "role-1")
	ev := &coreEvents{}
	cfg := secrets.Config{Backend: f, Clock: f.Clock(), Events: ev, Posture: &paved.Posture{}, Logger: quietLogger(),
		Login:     secrets.AppRoleLogin{RoleID: "role-1", SecretIDFile: writeFile(t, sid)},
		RetryBase: time.Second, RetryCap: 8 * time.Second}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := secrets.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return f, c, ev
}

// advance advances the fake's clock by d once the client's goroutines wait
// on n timers, then lets them run.
func advance(t *testing.T, f *secretstest.Fake, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.Clock().Waiters() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d goroutines wait on the clock; want %d", f.Clock().Waiters(), n)
		}
		time.Sleep(time.Millisecond)
	}
	f.Clock().Advance(d)
	time.Sleep(20 * time.Millisecond)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestConfigValidation(t *testing.T) {
	f := secretstest.New()
	cases := []struct {
		name  string
		cfg   secrets.Config
		field string
	}{
		{"no login", secrets.Config{Backend: f}, "Config.Login"},
		{"static token without opt-out", secrets.Config{Backend: f, Login: secrets.TokenLogin{Token: secrets.NewSecret("x")}}, "Config.Login"},
		{"plain http remote", secrets.Config{Vault: secrets.VaultConfig{Address: "http://vault.example.com:8200"}, Login: secrets.CertLogin{}}, "Config.Vault.Address"},
		{"not a URL", secrets.Config{Vault: secrets.VaultConfig{Address: "vault:8200"}, Login: secrets.CertLogin{}}, "Config.Vault.Address"},
		{"refresh too short", secrets.Config{Backend: f, Login: secrets.CertLogin{}, RefreshInterval: time.Millisecond}, "Config.RefreshInterval"},
		{"stale below refresh", secrets.Config{Backend: f, Login: secrets.CertLogin{}, RefreshInterval: time.Hour, MaxStale: time.Minute}, "Config.MaxStale"},
		{"retry cap below base", secrets.Config{Backend: f, Login: secrets.CertLogin{}, RetryBase: time.Second, RetryCap: time.Millisecond}, "Config.RetryCap"},
		{"inject concurrency", secrets.Config{Backend: f, Login: secrets.CertLogin{}, InjectConcurrency: 1000}, "Config.InjectConcurrency"},
		{"opt-out without reason", secrets.Config{Backend: f, Login: secrets.CertLogin{}, OptOuts: []paved.OptOut{secrets.AllowPlainHTTP(" ")}}, "Config.OptOuts"},
		{"foreign opt-out", secrets.Config{Backend: f, Login: secrets.CertLogin{}, OptOuts: []paved.OptOut{httpx.AllowPlainHTTP("x")}}, "Config.OptOuts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Posture, tc.cfg.Logger = &paved.Posture{}, quietLogger()
			_, err := secrets.New(context.Background(), tc.cfg)
			ces := paved.ConfigErrors(err)
			if len(ces) != 1 || ces[0].Field != tc.field || ces[0].Component != secrets.Component {
				t.Fatalf("New = %v; want one ConfigError on %s", err, tc.field)
			}
		})
	}
	// Loopback http needs no opt-out; the static token does, and shows in posture.
	p := &paved.Posture{}
	c, err := secrets.New(context.Background(), secrets.Config{Backend: f, Posture: p, Logger: quietLogger(),
		Login: secrets.TokenLogin{Token: secrets.NewSecret(f.RootToken())}, OptOuts: []paved.OptOut{secrets.AllowStaticToken("dev server")}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	r := p.Report()
	if len(r.OptOuts) != 1 || r.OptOuts[0].Name != secrets.OptOutAllowStaticToken || r.OptOuts[0].Reason != "dev server" {
		t.Fatalf("posture opt-outs %+v", r.OptOuts)
	}
	var method paved.Control
	for _, ctl := range r.Controls {
		if ctl.Name == "auth-method" {
			method = ctl
		}
	}
	if method.Enabled || method.Detail != "token" {
		t.Fatalf("auth-method control %+v; want disabled, token", method)
	}
}

func TestTokenRenewalAndReloginNearMaxTTL(t *testing.T) {
	f := secretstest.New()
	f.SetTokenTTL(30*time.Minute, 70*time.Minute)
	sid := f.AddAppRole("approle", "r")
	ev := &coreEvents{}
	c, err := secrets.New(context.Background(), secrets.Config{Backend: f, Clock: f.Clock(), Events: ev, Posture: &paved.Posture{}, Logger: quietLogger(),
		Login: secrets.AppRoleLogin{RoleID: "r", SecretIDFile: writeFile(t, sid)}, RefreshInterval: 24 * time.Hour, MaxStale: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	first := c.TokenAccessor()
	// t=20m: renewal at 2/3 of 30m.
	advance(t, f, 1, 20*time.Minute)
	eventually(t, "first renewal", func() bool { return f.Count("write", "auth/token/renew-self") == 1 })
	// t=40m: renewal grants 30m (max TTL at 70m is 30m away).
	advance(t, f, 1, 20*time.Minute)
	eventually(t, "second renewal", func() bool { return f.Count("write", "auth/token/renew-self") == 2 })
	if c.TokenAccessor() != first {
		t.Fatal("re-login before max TTL neared")
	}
	// t=60m: renewal grants only 10m (< 1/3 of 30m... = 10m is not below), t=66m: 4m -> re-login.
	advance(t, f, 1, 20*time.Minute)
	eventually(t, "third renewal", func() bool { return f.Count("write", "auth/token/renew-self") == 3 })
	advance(t, f, 1, 7*time.Minute)
	eventually(t, "re-login near max TTL", func() bool { return c.TokenAccessor() != first })
	if n := f.Count("write", "auth/*/login"); n != 2 {
		t.Fatalf("%d logins; want 2", n)
	}
	// The superseded token is revoked: only the new one lives.
	eventually(t, "old token revoked", func() bool { return f.Tokens() == 1 })
	if ev.count(paved.EventSecretRenewal) != 4 || ev.count(paved.EventSecretLogin) != 2 {
		t.Fatalf("events: %d renewals, %d logins; want 4, 2", ev.count(paved.EventSecretRenewal), ev.count(paved.EventSecretLogin))
	}
}

func TestRenewalRefusedLogsInAgainWithBackoff(t *testing.T) {
	f, c, _ := fakeClient(t, func(c *secrets.Config) { c.RefreshInterval, c.MaxStale = 24*time.Hour, 24*time.Hour })
	first := c.TokenAccessor()
	f.RevokeToken(tokenOf(t, f, first))
	advance(t, f, 1, 41*time.Minute) // renewal time: refused (403), re-login after one backoff step
	advance(t, f, 1, 2*time.Second)
	eventually(t, "re-login", func() bool { return c.TokenAccessor() != first })
	if n := f.Count("write", "auth/*/login"); n != 2 {
		t.Fatalf("%d logins; want 2", n)
	}
}

// tokenOf finds the fake's token for an accessor by asking the fake.
func tokenOf(t *testing.T, f *secretstest.Fake, accessor string) string {
	t.Helper()
	tok := f.TokenForAccessor(accessor)
	if tok == "" {
		t.Fatalf("no token with accessor %s", accessor)
	}
	return tok
}

func TestReloginStormMakesOneLogin(t *testing.T) {
	f, c, _ := fakeClient(t, func(c *secrets.Config) { c.RetryBase, c.RetryCap, c.Clock = time.Millisecond, time.Millisecond, nil })
	f.Put("secret/app", map[string]any{"k": "v"})
	f.RevokeToken(tokenOf(t, f, c.TokenAccessor()))
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(context.Background(), "secret/app#k"); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("read during the storm: %v", err)
	}
	if n := f.Count("write", "auth/*/login"); n != 2 {
		t.Fatalf("%d logins for 32 refused reads; want 2 (start + one re-login)", n)
	}
}

func TestPolicyDenialDoesNotLogIn(t *testing.T) {
	f, c, _ := fakeClient(t, nil)
	f.Put("secret/app", map[string]any{"k": "v"})
	f.DenyToken(tokenOf(t, f, c.TokenAccessor()), "secret/data/app")
	for range 5 {
		_, err := c.Get(context.Background(), "secret/app#k")
		if !errors.Is(err, secrets.ErrPermissionDenied) {
			t.Fatalf("Get = %v; want permission denied", err)
		}
	}
	if n := f.Count("write", "auth/*/login"); n != 1 {
		t.Fatalf("%d logins; a policy denial must not log in again", n)
	}
}

func TestOutageServesLastGoodThenFailsPastBound(t *testing.T) {
	f, c, _ := fakeClient(t, func(c *secrets.Config) {
		c.RefreshInterval, c.MaxStale, c.RetryBase, c.RetryCap = time.Minute, 5*time.Minute, time.Second, 30*time.Second
	})
	ctx := context.Background()
	f.Put("secret/app", map[string]any{"k": "v1"})
	s, err := c.Static(ctx, "secret/app#k")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(ctx); err != nil {
		t.Fatalf("Check = %v", err)
	}
	f.SetDown(true)
	advance(t, f, 2, time.Minute) // refresh fails
	eventually(t, "degraded", func() bool { return errors.Is(c.Check(ctx), httpx.ErrDegraded) })
	if v, err := s.Value(); err != nil || v.Reveal() != "v1" {
		t.Fatalf("read during the outage = %q, %v", v.Reveal(), err)
	}
	for range 12 { // retries with backoff until past the 5m bound
		advance(t, f, 2, 30*time.Second)
	}
	eventually(t, "stale", func() bool { _, err := s.Value(); return err != nil })
	_, err = s.Value()
	var e *secrets.Error
	if !errors.As(err, &e) || e.Reason != secrets.ReasonStale || e.Ref != "secret/app#k" {
		t.Fatalf("read past the bound = %v; want reason stale", err)
	}
	if err := c.Check(ctx); err == nil || errors.Is(err, httpx.ErrDegraded) {
		t.Fatalf("Check past the bound = %v; want not ready", err)
	}
	// Vault returns: renewal and refresh resume by themselves.
	f.SetDown(false)
	f.Put("secret/app", map[string]any{"k": "v2"})
	for i := 0; i < 20; i++ {
		if v, err := s.Value(); err == nil && v.Reveal() == "v2" {
			break
		}
		advance(t, f, 2, 30*time.Second)
	}
	if v, err := s.Value(); err != nil || v.Reveal() != "v2" {
		t.Fatalf("after recovery = %q, %v", v.Reveal(), err)
	}
	eventually(t, "ready", func() bool { return c.Check(ctx) == nil })
}

func TestStartupFailsClosed(t *testing.T) {
	f := secretstest.New()
	f.Seal()
	_, err := secrets.New(context.Background(), secrets.Config{Backend: f, Login: secrets.AppRoleLogin{RoleID: "r", SecretIDFile: writeFile(t, "x")},
		StartupAttempts: 3, RetryBase: time.Millisecond, RetryCap: time.Millisecond, Posture: &paved.Posture{}, Logger: quietLogger()})
	var e *secrets.Error
	if !errors.As(err, &e) || e.Reason != secrets.ReasonStartup || e.Target != "secretstest.Fake" || !errors.Is(err, secrets.ErrSealed) {
		t.Fatalf("New against a sealed Vault = %v", err)
	}
	if n := f.Count("write", "auth/approle/login"); n != 3 {
		t.Fatalf("%d login attempts; want 3", n)
	}
	// A refused login is not retried.
	f.Unseal()
	_, err = secrets.New(context.Background(), secrets.Config{Backend: f, Login: secrets.AppRoleLogin{RoleID: "r", SecretIDFile: writeFile(t, "x")},
		StartupAttempts: 3, RetryBase: time.Millisecond, Posture: &paved.Posture{}, Logger: quietLogger()})
	if !errors.As(err, &e) || e.Reason != secrets.ReasonStartup || !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("New with a bad secret ID = %v", err)
	}
	if n := f.Count("write", "auth/approle/login"); n != 4 {
		t.Fatalf("%d login attempts; a refused login must not be retried", n-3)
	}
}

func TestStaticNeverTouchesDynamic(t *testing.T) {
	f, c, _ := fakeClient(t, func(c *secrets.Config) { c.RefreshInterval = time.Minute })
	f.Mount("database/", "database", 0)
	_, err := c.Get(context.Background(), "database/creds/app#username")
	var e *secrets.Error
	if !errors.As(err, &e) || e.Reason != secrets.ReasonWrongMount || !strings.Contains(err.Error(), `"database" mount`) {
		t.Fatalf("Get on a database mount = %v; want wrong_mount", err)
	}
	f.Put("secret/app", map[string]any{"k": "v"})
	if _, err := c.Get(context.Background(), "secret/app#k"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		advance(t, f, 2, time.Minute)
	}
	eventually(t, "refreshes", func() bool { return f.Count("read", "secret/data/app") >= 4 })
	if n := f.Count("read", "database/creds/app"); n != 0 {
		t.Fatalf("%d reads of a dynamic path", n)
	}
}

func TestInject(t *testing.T) {
	f, c, _ := fakeClient(t, nil)
	ctx := context.Background()
	f.Put("secret/db", map[string]any{"password": "pw", "user": "u"})
	f.Put("secret/api", map[string]any{"key": "k1"})
	f.Put("secret/api", map[string]any{"key": "k2"})
	var cfg struct {
		DBPassword secrets.Secret `secret:"secret/db#password"`
		DBUser     string         `secret:"secret/db#user"`
		APIKeyV1   []byte         `secret:"secret/api#key@1"`
		APIKey     string         `secret:"secret/api#key"`
		Optional   string         `secret:"secret/none#x,optional"`
		Plain      string
		Inner      struct {
			User string `secret:"secret/db#user"`
		}
	}
	cfg.Optional = "default"
	if err := c.Inject(ctx, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.DBPassword.Reveal() != "pw" || cfg.DBUser != "u" || string(cfg.APIKeyV1) != "k1" || cfg.APIKey != "k2" || cfg.Optional != "default" || cfg.Inner.User != "u" {
		t.Fatalf("Inject filled %+v", cfg)
	}
	if n := f.Count("read", "secret/data/db"); n != 1 {
		t.Fatalf("%d reads of one secret for three keys; want 1", n)
	}

	bad := []struct {
		name   string
		dst    any
		reason string
		field  string
	}{
		{"not a pointer", cfg, secrets.ReasonBadTarget, ""},
		{"nil", (*struct{})(nil), secrets.ReasonBadTarget, ""},
		{"bad type", &struct {
			N int `secret:"secret/db#user"`
		}{}, secrets.ReasonBadTarget, "N"},
		{"bad ref", &struct {
			S string `secret:"secret/db"`
		}{}, secrets.ReasonBadReference, "S"},
		{"bad option", &struct {
			S string `secret:"secret/db#user,maybe"`
		}{}, secrets.ReasonBadTarget, "S"},
		{"missing key", &struct {
			S string `secret:"secret/db#nokey"`
		}{}, secrets.ReasonMissingKey, "S"},
		{"missing secret", &struct {
			S string `secret:"secret/nosuch#k"`
		}{}, secrets.ReasonNotFound, "S"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Inject(ctx, tc.dst)
			var e *secrets.Error
			if !errors.As(err, &e) || e.Reason != tc.reason || e.Field != tc.field {
				t.Fatalf("Inject = %v; want reason %s on field %q", err, tc.reason, tc.field)
			}
			if tc.field != "" && !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not name the field", err)
			}
		})
	}
}

func TestChangeNotificationOnInterval(t *testing.T) {
	f, c, ev := fakeClient(t, func(c *secrets.Config) { c.RefreshInterval = time.Minute })
	f.Put("secret/app", map[string]any{"k": "a"})
	s, err := c.Static(context.Background(), "secret/app#k")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 2)
	s.OnChange(func(old, new secrets.Secret) { got <- old.Reveal() + "->" + new.Reveal() })
	f.Put("secret/app", map[string]any{"k": "b"})
	advance(t, f, 2, time.Minute)
	select {
	case g := <-got:
		if g != "a->b" {
			t.Fatalf("change %s", g)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change notified")
	}
	if ev.count(paved.EventSecretRotation) != 1 {
		t.Fatalf("%d rotation events", ev.count(paved.EventSecretRotation))
	}
	// Deleting the secret makes its reads fail (fail closed), and restoring brings it back.
	if _, err := f.Delete(context.Background(), f.RootToken(), "secret/metadata/app"); err != nil {
		t.Fatal(err)
	}
	advance(t, f, 2, time.Minute)
	eventually(t, "deleted", func() bool { _, err := s.Value(); return errors.Is(err, secrets.ErrNotFound) })
}

// An outage costs one request timeout per refresh round, not one per
// secret, and every secret keeps its staleness bound.
func TestOutageOneTimeoutPerRound(t *testing.T) {
	f, c, _ := fakeClient(t, func(c *secrets.Config) {
		c.RefreshInterval, c.MaxStale, c.Vault.Timeout = time.Minute, 3*time.Minute, 100*time.Millisecond
	})
	ctx := context.Background()
	var handles []*secrets.Static
	for i := range 20 {
		p := "secret/s" + string(rune('a'+i))
		f.Put(p, map[string]any{"k": "v"})
		s, err := c.Static(ctx, p+"#k")
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, s)
	}
	f.Pause()
	defer f.Resume()
	before := totalReads(f)
	start := time.Now()
	advance(t, f, 2, time.Minute)
	eventually(t, "one failed round", func() bool { return totalReads(f) == before+1 && f.Clock().Waiters() >= 2 })
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a refresh round during the outage took %v", d)
	}
	for range 10 {
		advance(t, f, 2, 30*time.Second)
	}
	for _, s := range handles {
		_, err := s.Value()
		var e *secrets.Error
		if !errors.As(err, &e) || e.Reason != secrets.ReasonStale || !errors.Is(err, secrets.ErrUnavailable) {
			t.Fatalf("%s past the bound = %v; want stale, wrapping ErrUnavailable", s.Ref(), err)
		}
	}
}

func totalReads(f *secretstest.Fake) int {
	n := 0
	for i := range 20 {
		n += f.Count("read", "secret/data/s"+string(rune('a'+i)))
	}
	return n
}

// inflight wraps a backend and records the most reads in flight at once.
type inflight struct {
	secrets.Backend
	mu       sync.Mutex
	cur, max int
}

func (b *inflight) Read(ctx context.Context, token, path string) (*secrets.Response, error) {
	if strings.Contains(path, "/data/") {
		b.mu.Lock()
		b.cur++
		b.max = max(b.max, b.cur)
		b.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		defer func() { b.mu.Lock(); b.cur--; b.mu.Unlock() }()
	}
	return b.Backend.Read(ctx, token, path)
}

func TestInjectConcurrencyBound(t *testing.T) {
	f := secretstest.New()
	for _, p := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		f.Put("secret/"+p, map[string]any{"k": p})
	}
	b := &inflight{Backend: f}
	c, err := secrets.New(context.Background(), secrets.Config{Backend: b, InjectConcurrency: 3, Posture: &paved.Posture{}, Logger: quietLogger(),
		Login: secrets.TokenLogin{Token: secrets.NewSecret(f.RootToken())}, OptOuts: []paved.OptOut{secrets.AllowStaticToken("test")}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var dst struct {
		A string `secret:"secret/a#k"`
		B string `secret:"secret/b#k"`
		C string `secret:"secret/c#k"`
		D string `secret:"secret/d#k"`
		E string `secret:"secret/e#k"`
		F string `secret:"secret/f#k"`
		G string `secret:"secret/g#k"`
		H string `secret:"secret/h#k"`
		I string `secret:"secret/i#k"`
		J string `secret:"secret/j#k"`
	}
	if err := c.Inject(context.Background(), &dst); err != nil {
		t.Fatal(err)
	}
	if dst.A != "a" || dst.J != "j" {
		t.Fatalf("Inject filled %+v", dst)
	}
	if b.max < 2 || b.max > 3 {
		t.Fatalf("%d reads in flight at most; want 2 or 3 with InjectConcurrency 3", b.max)
	}
}

func TestKV1ChangeNotification(t *testing.T) {
	f, c, _ := fakeClient(t, nil)
	f.Mount("kv/", "kv", 1)
	f.Put("kv/app", map[string]any{"k": "a", "other": "x"})
	s, err := c.Static(context.Background(), "kv/app#k")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	s.OnChange(func(o, n secrets.Secret) { got = append(got, o.Reveal()+"->"+n.Reveal()) })
	f.Put("kv/app", map[string]any{"k": "a", "other": "y"}) // another key changed: no notification for k
	_ = c.Refresh(context.Background())
	f.Put("kv/app", map[string]any{"k": "b", "other": "y"})
	_ = c.Refresh(context.Background())
	if len(got) != 1 || got[0] != "a->b" || s.Version() != 0 {
		t.Fatalf("changes %v, version %d; want [a->b], 0", got, s.Version())
	}
}

func TestPostureAndEvents(t *testing.T) {
	f := secretstest.New()
	sid := f.AddAppRole("approle", "r")
	p := &paved.Posture{}
	ev := &coreEvents{}
	file := writeFile(t, sid)
	c, err := secrets.New(context.Background(), secrets.Config{Name: "app", Backend: f, Clock: f.Clock(), Events: ev, Posture: p, Logger: quietLogger(),
		Login: secrets.AppRoleLogin{RoleID: "r", SecretIDFile: file}, RetryBase: time.Second, RetryCap: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	controls := func() map[string]paved.Control {
		m := map[string]paved.Control{}
		for _, ctl := range p.Report().Controls {
			if ctl.Component == secrets.Component && ctl.Instance == "app" {
				m[ctl.Name] = ctl
			}
		}
		return m
	}
	m := controls()
	if !m["auth-method"].Enabled || m["auth-method"].Detail != "approle" || !m["token-renewal"].Enabled || !m["staleness-bound"].Enabled {
		t.Fatalf("controls %+v", m)
	}
	// A failing renewal shows in posture and as a failure event.
	f.SetDown(true)
	advance(t, f, 1, 41*time.Minute)
	eventually(t, "renewal failure", func() bool { return ev.count(paved.EventSecretFailure) >= 1 })
	eventually(t, "posture degraded", func() bool {
		ctl := controls()["token-renewal"]
		return !ctl.Enabled && strings.Contains(ctl.Detail, "degraded since")
	})
	f.SetDown(false)
	advance(t, f, 1, 2*time.Second)
	eventually(t, "renewal recovered", func() bool { return controls()["token-renewal"].Enabled })
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, e := range ev.events {
		if e.Component != secrets.Component {
			t.Errorf("event %s from component %q", e.Type, e.Component)
		}
		for _, a := range e.Attrs {
			if strings.Contains(a.Value.String(), "hvs.") || strings.Contains(a.Value.String(), sid) {
				t.Errorf("event %s carries a credential in %s", e.Type, a.Key)
			}
		}
	}
}
