package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/internal/testenv"
)

// systems returns the quickstart/systems controls of the running
// quickstart's posture report: each real system it uses, or its stand-in.
func (qs quickstart) systems(t *testing.T, token string) map[string]bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, qs.url+"/posture", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := qs.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var report struct {
		Controls []struct {
			Component, Instance, Name string
			Enabled                   bool
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/posture: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range report.Controls {
		if c.Component == component {
			got[c.Instance+"/"+c.Name] = c.Enabled
		}
	}
	return got
}

func wantSystems(t *testing.T, got map[string]bool, issuer, secrets, redis bool) {
	t.Helper()
	want := map[string]bool{"systems/real-issuer": issuer, "systems/real-secrets": secrets, "systems/shared-rate-limit": redis}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("posture quickstart controls %v, want %v", got, want)
	}
}

// With the stand-ins, the posture report says so.
func TestQuickstartPostureStandIns(t *testing.T) {
	qs := startQuickstart(t)
	wantSystems(t, qs.systems(t, qs.token), false, false, false)
}

// PAVED_OIDC_ISSUER and PAVED_OIDC_AUDIENCE replace the in-process
// provider with yours (here an authtest provider of the test's own, on a
// private CA named by PAVED_OIDC_CACERT): the quickstart mints nothing,
// says how to bring a token, and every printed command works with one.
func TestQuickstartOwnIssuer(t *testing.T) {
	idp := authtest.NewServer(t, authtest.Config{TokenTTL: time.Hour})
	ca := filepath.Join(t.TempDir(), "issuer-ca.pem")
	if err := os.WriteFile(ca, idp.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	qs := startQuickstartEnv(t, map[string]string{envIssuer: idp.Issuer(), envAudience: idp.Audience(), envIssuerCA: ca})
	if v := qs.exports["TOKEN"]; v != "'<your access token>'" || len(qs.exports) != 2 {
		t.Fatalf("exports %v: want PAVED_CA and a TOKEN placeholder, no minted token", qs.exports)
	}
	if text := strings.Join(qs.printed, "\n"); !strings.Contains(text, idp.Issuer()) || !strings.Contains(text, idp.Audience()) {
		t.Errorf("printed text names neither the issuer nor the audience:\n%s", text)
	}
	token := idp.Mint(map[string]any{"sub": "someone"})
	cmds := runPrinted(t, qs, map[string]string{"TOKEN": token})
	checkWalkthrough(t, cmds)
	wantSystems(t, qs.systems(t, token), true, false, false)
}

// The switches fail closed: a half-set issuer (or Vault), an http issuer
// off loopback, an unreadable CA file, an opt-out without a reason and a
// Redis that is not there each stop the start-up with an error naming the
// variable; none is ignored.
func TestQuickstartSwitchErrors(t *testing.T) {
	t.Parallel()              // mostly waiting: go-redis retries the refused connection
	closed := func() string { // a loopback port nothing listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}()
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"audience alone", map[string]string{envAudience: "api"}, "PAVED_OIDC_AUDIENCE is set but PAVED_OIDC_ISSUER is not"},
		{"issuer alone", map[string]string{envIssuer: "https://idp.example.com"}, "PAVED_OIDC_ISSUER is set but PAVED_OIDC_AUDIENCE is not"},
		{"http off loopback", map[string]string{envIssuer: "http://idp.example.com", envAudience: "api"}, "http is accepted only on loopback"},
		{"missing CA file", map[string]string{envIssuer: "https://127.0.0.1:1", envAudience: "api", envIssuerCA: "/nonexistent/ca.pem"}, "PAVED_OIDC_CACERT"},
		{"redis down", map[string]string{envRedis: closed}, "REDIS_ADDR " + closed},
		// What only your issuer reads, set without it, is not ignored.
		{"CA file alone", map[string]string{envIssuerCA: "/etc/ssl/private-ca.pem"}, "PAVED_OIDC_CACERT is set but PAVED_OIDC_ISSUER is not"},
		{"untyped alone", map[string]string{envUntyped: "Vault identity tokens"}, "PAVED_OIDC_ALLOW_UNTYPED_TOKENS is set but PAVED_OIDC_ISSUER is not"},
		// The opt-out's value is its reason, not a switch.
		{"untyped as a boolean", map[string]string{envIssuer: "https://idp.example.com", envAudience: "api", envUntyped: "true"}, "PAVED_OIDC_ALLOW_UNTYPED_TOKENS is the reason"},
		{"untyped as 1", map[string]string{envIssuer: "https://idp.example.com", envAudience: "api", envUntyped: "1"}, "PAVED_OIDC_ALLOW_UNTYPED_TOKENS is the reason"},
		{"vault token alone", map[string]string{"VAULT_TOKEN": "hvs.example"}, "VAULT_TOKEN is set but VAULT_ADDR is not"},
		// A redis:// URL is refused without echoing its password.
		{"redis URL", map[string]string{envRedis: "redis://:hunter2@127.0.0.1:6379/0"}, "REDIS_ADDR: want host:port"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			err := run(ctx, []string{"-addr", "127.0.0.1:0", "-quiet"}, func(k string) string { return tt.env[k] }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "hvs.example") {
				t.Errorf("err = %v: a secret is echoed", err)
			}
		})
	}
}

// realEnv returns the environment of the integration run's real systems
// the quickstart reads; which says which of them.
func realEnv(t *testing.T, vault, issuer, rdb bool) map[string]string {
	t.Helper()
	env := map[string]string{}
	if vault {
		v := testenv.RequireVault(t)
		env[envVault], env["VAULT_TOKEN"] = v.Addr, v.Token
	}
	if issuer {
		o := testenv.RequireOIDC(t)
		env[envIssuer], env[envAudience] = o.TokenIssuer, o.TokenAudience
		env[envUntyped] = "Vault identity tokens carry no RFC 9068 typ header"
	}
	if rdb {
		env[envRedis] = testenv.RequireRedis(t)
		flushQuickstartKeys(t, env[envRedis])
	}
	return env
}

// flushQuickstartKeys deletes the quickstart's rate-limit keys, so that
// each test starts with its full budget.
func flushQuickstartKeys(t *testing.T, addr string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, redisPrefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("Redis at %s: %v", addr, err)
	}
}

// vaultToken logs in the integration run's Vault userpass user and reads
// an identity token of its token role: a bearer token from Vault's OpenID
// provider, as a user would bring one.
func vaultToken(t *testing.T) string {
	t.Helper()
	v, o := testenv.RequireVault(t), testenv.RequireOIDC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	do := func(method, path, token string, body, out any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(v.Addr, "/")+path, rd)
		if token != "" {
			req.Header.Set("X-Vault-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, out) != nil {
			t.Fatalf("vault %s %s: %d %.300s", method, path, resp.StatusCode, b)
		}
	}
	var login struct {
		Auth struct {
			ClientToken string `json:"client_token"`
		} `json:"auth"`
	}
	do(http.MethodPost, "/v1/auth/"+url.PathEscape(o.UserpassMount)+"/login/"+url.PathEscape(o.Username), "",
		map[string]string{"password": o.Password}, &login)
	var tok struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	do(http.MethodGet, "/v1/identity/oidc/token/"+url.PathEscape(o.TokenRole), login.Auth.ClientToken, nil, &tok)
	if tok.Data.Token == "" {
		t.Fatal("Vault returned no identity token")
	}
	return tok.Data.Token
}

// VAULT_ADDR: the secrets come from the real Vault.
func TestQuickstartRealVault(t *testing.T) {
	qs := startQuickstartEnv(t, realEnv(t, true, false, false))
	resp, err := qs.client.Get(qs.url + "/config")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got["source"], "Vault at ") || got["greeting"] == "" || got["api_key"] != "REDACTED" {
		t.Fatalf("/config = %v, want secrets from Vault", got)
	}
	wantSystems(t, qs.systems(t, qs.token), false, true, false)
}

// REDIS_ADDR: both rate limits live in Redis, shared by every instance
// using it: two requests to one quickstart spend the budget of the other.
func TestQuickstartRealRedis(t *testing.T) {
	env := realEnv(t, false, false, true)
	a, b := startQuickstartEnv(t, env), startQuickstartEnv(t, env)
	for i, step := range []struct {
		qs   quickstart
		want int
	}{{a, 200}, {a, 200}, {b, 429}, {a, 429}} {
		resp, err := step.qs.client.Get(step.qs.url + "/limited")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != step.want {
			t.Fatalf("request %d: %d, want %d", i+1, resp.StatusCode, step.want)
		}
	}
	wantSystems(t, a.systems(t, a.token), false, false, true)
	resp, err := a.client.Get(a.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "redis") {
		t.Errorf("/readyz = %d %s, want 200 with the redis check", resp.StatusCode, body)
	}
}

// PAVED_OIDC_ISSUER: tokens from Vault's OpenID provider (http on
// loopback, through the named opt-out), which the user brings.
func TestQuickstartRealIssuer(t *testing.T) {
	env := realEnv(t, false, true, false)
	token := vaultToken(t)
	qs := startQuickstartEnv(t, env)
	if qs.exports["TOKEN"] != "'<your access token>'" {
		t.Fatalf("exports %v: want a TOKEN placeholder", qs.exports)
	}
	checkWalkthrough(t, runPrinted(t, qs, map[string]string{"TOKEN": token}))
	wantSystems(t, qs.systems(t, token), true, false, false)
}

// Every real system at once (the integration env file's, with its token
// issuer and audience as PAVED_OIDC_ISSUER and PAVED_OIDC_AUDIENCE):
// every printed command works as printed.
func TestQuickstartAllReal(t *testing.T) {
	env := realEnv(t, true, true, true)
	token := vaultToken(t)
	qs := startQuickstartEnv(t, env)
	checkWalkthrough(t, runPrinted(t, qs, map[string]string{"TOKEN": token}))
	wantSystems(t, qs.systems(t, token), true, true, true)
}

// After run returns, nothing it started is left: not even an idle
// connection to your issuer (here on a private CA, PAVED_OIDC_CACERT),
// which is still up.
func TestQuickstartOwnIssuerNoLeak(t *testing.T) {
	idp, err := authtest.Start(authtest.Config{TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	ca := filepath.Join(t.TempDir(), "issuer-ca.pem")
	if err := os.WriteFile(ca, idp.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envIssuer: idp.Issuer(), envAudience: idp.Audience(), envIssuerCA: ca}
	before := runtime.NumGoroutine()
	for range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := run(ctx, []string{"-addr", "127.0.0.1:0", "-ca-dir", t.TempDir(), "-quiet"}, func(k string) string { return env[k] }, pw, io.Discard)
			pw.CloseWithError(fmt.Errorf("quickstart stopped: %v", err))
			done <- err
		}()
		lines := bufio.NewScanner(pr)
		for lines.Scan() && !strings.HasPrefix(strings.TrimSpace(lines.Text()), "Ctrl-C stops it") {
		}
		go func() { _, _ = io.Copy(io.Discard, pr) }()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after run returned:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
