package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/policy"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// template is the service running in-process on loopback against the fakes.
type template struct {
	url    string
	client *http.Client
	idp    *authtest.Server
}

// testEnv is a complete configuration for the fakes; the Vault address is
// never dialled (the fake is the backend).
func testEnv(idp *authtest.Server) map[string]string {
	return map[string]string{
		"SERVICE_ADDR": "127.0.0.1:0", "VAULT_ADDR": "https://vault.invalid", "VAULT_ROLE": "service-template",
		"VAULT_PKI_ROLE": "localhost", "TLS_NAMES": "localhost",
		"OIDC_ISSUER": idp.Issuer(), "OIDC_AUDIENCE": idp.Audience(), "RATE_LIMIT": "20",
	}
}

func startTemplate(t *testing.T) template {
	t.Helper()
	tp, err := startWith(t, nil, seams{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return tp
}

// providerCA, as OIDC_CA_FILE in startWith's extra variables, stands for
// a file holding the test provider's CA.
const providerCA = "<the test provider's CA>"

// startWith starts the template with extra variables and seams, and
// returns run's error when it stops before serving.
func startWith(t *testing.T, extra map[string]string, s seams) (template, error) {
	t.Helper()
	idp, err := authtest.Start(authtest.Config{TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	env := testEnv(idp)
	maps.Copy(env, extra)
	if env["OIDC_CA_FILE"] == providerCA { // the test provider's CA, through the variable rather than the seam
		env["OIDC_CA_FILE"] = filepath.Join(t.TempDir(), "oidc-ca.pem")
		if err := os.WriteFile(env["OIDC_CA_FILE"], idp.CACertPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	vault := secretstest.New()
	vault.Clock().Advance(time.Since(vault.Clock().Now())) // the fake's PKI dates certificates by its clock
	vault.Put("secret/service-template", map[string]any{"partner_api_key": "k-123"})

	type started struct {
		url string
		ca  *x509.CertPool
	}
	up := make(chan started, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		if s.vault == nil { // a test may bring its own fake (one that is down, say)
			s.vault, s.vaultLogin = vault, secrets.TokenLogin{Token: secrets.NewSecret(vault.RootToken())}
		}
		if s.vaultOptOuts == nil {
			s.vaultOptOuts = []paved.OptOut{secrets.AllowStaticToken("tests: the in-memory fake's root token")}
		}
		if env["OIDC_CA_FILE"] == "" {
			s.issuerClient = idp.Client()
		}
		if s.logger == nil {
			s.logger = slog.New(slog.DiscardHandler)
		}
		s.ready = func(url string, ca *x509.CertPool) { up <- started{url, ca} }
		done <- run(ctx, cfg, s)
	}()
	select {
	case st := <-up:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run after shutdown: %v", err)
			}
		})
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: st.ca, ServerName: "localhost", MinVersion: tls.VersionTLS12}}
		t.Cleanup(tr.CloseIdleConnections)
		return template{url: st.url, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}, idp: idp}, nil
	case err := <-done:
		t.Cleanup(cancel) // not before: what run left running must show until the test ends
		return template{}, err
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("not ready within 30s")
	}
	return template{}, nil
}

func (tp template) do(t *testing.T, method, path, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, tp.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := tp.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestTemplate(t *testing.T) {
	tp := startTemplate(t)
	reader := tp.idp.Mint(map[string]any{"sub": "alice", "roles": []string{"reader"}})

	t.Run("ready", func(t *testing.T) {
		if resp, body := tp.do(t, "GET", "/readyz", ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("/readyz = %d %s", resp.StatusCode, body)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		resp, body := tp.do(t, "GET", "/v1/orders", reader)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"paving stones"`) {
			t.Fatalf("GET /v1/orders = %d %s", resp.StatusCode, body)
		}
	})
	t.Run("401 without a token", func(t *testing.T) {
		for _, path := range []string{"/v1/orders", "/.well-known/sbom", "/posture"} {
			resp, _ := tp.do(t, "GET", path, "")
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("GET %s = %d, WWW-Authenticate %q; want 401 Bearer", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
	})
	t.Run("403 with its decision ID", func(t *testing.T) {
		resp, body := tp.do(t, "DELETE", "/v1/orders/7", reader)
		var p struct {
			DecisionID string `json:"decision_id"`
		}
		_ = json.Unmarshal(body, &p)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/problem+json" || len(p.DecisionID) != 32 {
			t.Fatalf("DELETE as a reader = %d %q %s; want 403 problem+json with a decision_id", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
	t.Run("SBOM", func(t *testing.T) {
		resp, body := tp.do(t, "GET", "/.well-known/sbom", reader)
		var doc struct {
			SPDXVersion string `json:"spdxVersion"`
			Name        string `json:"name"`
		}
		if err := json.Unmarshal(body, &doc); resp.StatusCode != http.StatusOK || err != nil || doc.SPDXVersion != "SPDX-2.3" {
			t.Fatalf("SBOM = %d %+v (%v)", resp.StatusCode, doc, err)
		}
	})
	t.Run("posture", func(t *testing.T) {
		resp, body := tp.do(t, "GET", "/posture", reader)
		var report struct {
			OptOuts []struct{ Component, Name string } `json:"opt_outs"`
		}
		if err := json.Unmarshal(body, &report); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("posture = %d %s (%v)", resp.StatusCode, body, err)
		}
		// The only opt-out is the tests' own: the template weakens nothing.
		if len(report.OptOuts) != 1 || report.OptOuts[0].Name != "allow-static-token" {
			t.Fatalf("opt-outs = %+v, want only the tests' allow-static-token", report.OptOuts)
		}
	})
	t.Run("429 past the limit", func(t *testing.T) { // last: it spends the client's budget
		for range 25 {
			resp, body := tp.do(t, "GET", "/v1/orders", reader)
			if resp.StatusCode == http.StatusTooManyRequests {
				if resp.Header.Get("Retry-After") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
					t.Fatalf("429 without Retry-After or problem+json: %v %s", resp.Header, body)
				}
				return
			}
		}
		t.Fatal("no 429 within 25 requests at a limit of 20 a minute")
	})
}

// A bad deployment learns every fault in one start.
func TestLoadConfigEveryError(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"empty", map[string]string{}, []string{"VAULT_ADDR", "VAULT_ROLE", "VAULT_PKI_ROLE", "TLS_NAMES", "OIDC_ISSUER", "OIDC_AUDIENCE"}},
		{"wrong", map[string]string{
			"SERVICE_ENVIRONMENT": "dev", "SERVICE_ADDR": "8443", "VAULT_ADDR": "http://vault:8200", "VAULT_ROLE": "r", "VAULT_PKI_ROLE": "p",
			"TLS_NAMES": "svc", "OIDC_ISSUER": "https://id.example", "OIDC_AUDIENCE": "a", "DATABASE_URL": "postgres://u:pw@db/x",
			"POLICY_BUNDLE_URL": "https://bundles.example/b.tar.gz", "REDIS_ADDR": "redis", "RATE_LIMIT": "0", "RATE_WINDOW": "soon",
			"TRUSTED_PROXIES": "10.0.0.0/8, ingress",
		}, []string{"SERVICE_ENVIRONMENT", "SERVICE_ADDR", "VAULT_ADDR", "DATABASE_ROLE", "DATABASE_URL", "POLICY_BUNDLE_KEY_FILE", "REDIS_ADDR", "TRUSTED_PROXIES", "RATE_LIMIT", "RATE_WINDOW"}},
		{"database without verify-full", map[string]string{
			"VAULT_ADDR": "https://vault:8200", "VAULT_ROLE": "r", "VAULT_PKI_ROLE": "p", "TLS_NAMES": "svc", "OIDC_ISSUER": "https://id.example",
			"OIDC_AUDIENCE": "a", "DATABASE_URL": "postgres://db:5432/x?sslmode=require", "DATABASE_ROLE": "app",
		}, []string{"DATABASE_URL"}},
		{"database password in the query", map[string]string{
			"VAULT_ADDR": "https://vault:8200", "VAULT_ROLE": "r", "VAULT_PKI_ROLE": "p", "TLS_NAMES": "svc", "OIDC_ISSUER": "https://id.example",
			"OIDC_AUDIENCE": "a", "DATABASE_URL": "postgres://db:5432/x?sslmode=verify-full&password=pw", "DATABASE_ROLE": "app",
		}, []string{"DATABASE_URL"}},
		{"database not a URL", map[string]string{
			"VAULT_ADDR": "https://vault:8200", "VAULT_ROLE": "r", "VAULT_PKI_ROLE": "p", "TLS_NAMES": "svc", "OIDC_ISSUER": "https://id.example",
			"OIDC_AUDIENCE": "a", "DATABASE_URL": "host=db password=pw sslmode=verify-full", "DATABASE_ROLE": "app",
		}, []string{"DATABASE_URL"}},
		{"bundle CA without a bundle", map[string]string{
			"VAULT_ADDR": "https://vault:8200", "VAULT_ROLE": "r", "VAULT_PKI_ROLE": "p", "TLS_NAMES": "svc", "OIDC_ISSUER": "https://id.example",
			"OIDC_AUDIENCE": "a", "POLICY_BUNDLE_CA_FILE": "/etc/ca.pem",
		}, []string{"POLICY_BUNDLE_CA_FILE"}},
		{"database fine", map[string]string{
			"VAULT_ADDR": "https://vault:8200", "VAULT_ROLE": "r", "VAULT_PKI_ROLE": "p", "TLS_NAMES": "svc", "OIDC_ISSUER": "https://id.example",
			"OIDC_AUDIENCE": "a", "DATABASE_URL": "postgres://db:5432/x?sslmode=verify-full", "DATABASE_ROLE": "app",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(func(k string) string { return tt.env[k] })
			var got []string
			for _, ce := range paved.ConfigErrors(err) {
				got = append(got, ce.Field)
				if strings.Contains(ce.Error(), "pw") {
					t.Errorf("%s echoes the password", ce.Field)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("fields = %q, want %q", got, tt.want)
			}
		})
	}
}

// The organisation's configuration policy runs before the service serves:
// an opt-out whose reason says nothing stops start-up with the violation.
// The reason comes from configuration (a deployment value, say): paved vet
// judges only constant reasons, which is why the start-up check exists.
func TestTemplateConfigPolicyStopsStart(t *testing.T) {
	deployed := map[string]string{"vault_static_token_reason": "TODO"}
	_, err := startWith(t, nil, seams{vaultOptOuts: []paved.OptOut{secrets.AllowStaticToken(deployed["vault_static_token_reason"])}})
	var denied *policy.ConfigDeniedError
	if !errors.As(err, &denied) || len(denied.Violations) != 1 || denied.Violations[0].Rule != "opt-out-reason" {
		t.Fatalf("start-up error %v, want a ConfigDeniedError with one opt-out-reason violation", err)
	}
}

// Start-up fails closed: a Vault that does not answer, an issuer that
// cannot be discovered or a missing bundle key stops run before it serves,
// with an error naming the block (or the variable).
func TestTemplateStartFailsClosed(t *testing.T) {
	down := secretstest.New()
	down.SetDown(true)
	refused := closedAddr(t)
	tests := []struct {
		name  string
		extra map[string]string
		s     seams
		want  string
	}{
		{"vault down", nil, seams{vault: down, vaultLogin: secrets.TokenLogin{Token: secrets.NewSecret(down.RootToken())}}, "vault: "},
		{"issuer unreachable", map[string]string{"OIDC_ISSUER": "https://" + refused}, seams{}, "oidc: "},
		{"bundle key missing", map[string]string{"POLICY_BUNDLE_URL": "https://" + refused + "/b.tar.gz",
			"POLICY_BUNDLE_KEY_FILE": filepath.Join(t.TempDir(), "absent.pem")}, seams{}, "policy: POLICY_BUNDLE_KEY_FILE: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := startWith(t, tt.extra, tt.s)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("run = %v, want an error starting %q", err, tt.want)
			}
		})
	}
}

// With REDIS_ADDR set, /readyz reports Redis: while it is down the limiter
// denies every request, and the replica says why instead of claiming ready.
func TestTemplateRedisDownNotReady(t *testing.T) {
	tp, err := startWith(t, map[string]string{"REDIS_ADDR": closedAddr(t)}, seams{})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := tp.do(t, "GET", "/readyz", "")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "redis") {
		t.Fatalf("/readyz with Redis down = %d %s, want 503 naming redis", resp.StatusCode, body)
	}
}

// closedAddr is a loopback host:port where nothing listens (connection refused).
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// Behind a proxy named in TRUSTED_PROXIES, each caller (its X-Forwarded-For)
// has its own budget: one caller spending it does not throttle the next.
func TestTemplateTrustedProxyKeysTheClient(t *testing.T) {
	tp, err := startWith(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32", "RATE_LIMIT": "3"}, seams{})
	if err != nil {
		t.Fatal(err)
	}
	get := func(client string) int {
		req, err := http.NewRequest("GET", tp.url+"/v1/orders", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", client)
		resp, err := tp.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	for range 4 {
		get("203.0.113.1")
	}
	if code := get("203.0.113.1"); code != http.StatusTooManyRequests {
		t.Fatalf("the first caller past its budget = %d, want 429", code)
	}
	if code := get("203.0.113.2"); code != http.StatusUnauthorized {
		t.Fatalf("a second caller = %d, want 401 (its own budget, no token)", code)
	}
}

// Nothing the service logs, at any level, holds the KV secret or a
// caller's bearer token: start, allowed, denied and limited calls, shutdown.
func TestTemplateLogsNoSecret(t *testing.T) {
	var mu sync.Mutex
	var logs bytes.Buffer
	h := slog.NewJSONHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug})
	var token string
	t.Run("serve", func(t *testing.T) {
		tp, err := startWith(t, map[string]string{"RATE_LIMIT": "3"}, seams{logger: slog.New(h)})
		if err != nil {
			t.Fatal(err)
		}
		token = tp.idp.Mint(map[string]any{"sub": "alice", "roles": []string{"reader"}})
		for _, c := range []struct{ method, path string }{{"GET", "/v1/orders"}, {"DELETE", "/v1/orders/7"}, {"GET", "/posture"}, {"GET", "/v1/orders"}, {"GET", "/v1/orders"}} {
			tp.do(t, c.method, c.path, token)
		}
	}) // its cleanup shuts the service down
	mu.Lock()
	defer mu.Unlock()
	out := logs.String()
	if !strings.Contains(out, `"serving"`) {
		t.Fatalf("the capture missed the start-up log:\n%s", out)
	}
	sig := token[strings.LastIndexByte(token, '.')+1:]
	for what, s := range map[string]string{"the KV secret": "k-123", "the bearer token": token, "the token's signature": sig} {
		if strings.Contains(out, s) {
			t.Errorf("the logs hold %s", what)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// OIDC_CA_FILE is how a private issuer CA is trusted: with the provider's
// CA in it the template starts (its JWKS fetched over verified TLS); with
// another CA, or a file without a certificate, start-up fails naming the
// block and the variable.
func TestTemplateIssuerCAFile(t *testing.T) {
	if _, err := startWith(t, map[string]string{"OIDC_CA_FILE": providerCA}, seams{}); err != nil {
		t.Fatalf("with the provider's CA in OIDC_CA_FILE: %v", err)
	}
	dir := t.TempDir()
	wrong, empty := writeTestPKI(t, dir), filepath.Join(dir, "empty.pem") // a fresh CA that signed nothing of the provider's
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{wrong: "oidc: ", empty: "oidc: OIDC_CA_FILE " + empty + ": no PEM certificate"} {
		if _, err := startWith(t, map[string]string{"OIDC_CA_FILE": file}, seams{}); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("OIDC_CA_FILE=%s: run = %v, want an error starting %q", filepath.Base(file), err, want)
		}
	}
}
