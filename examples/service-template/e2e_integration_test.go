package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/internal/testenv"
	"github.com/pavedroad/paved/policy"
)

// TestEndToEnd runs the template's own run, twice (two replicas), against
// the real systems of the integration run: a TLS Vault this test starts
// (Kubernetes login through a stand-in TokenReview endpoint, a PKI
// certificate, a KV secret, dynamic PostgreSQL credentials that rotate
// while it serves, and the OpenID provider), the shared PostgreSQL
// (verify-full), the shared Redis (its TLS port, an ACL user), a signed
// policy bundle from a bundle server and the real OpenTelemetry
// Collector. The configuration comes from LoadConfig (the issuer's and the
// bundle server's private CAs through OIDC_CA_FILE and
// POLICY_BUNDLE_CA_FILE); the seams used are the issuer's untyped-token
// opt-out with the org policy's waiver of it (Vault's tokens carry no
// RFC 9068 typ), the logger and the ready callback. Skipped in a unit run; fails under
// PAVED_INTEGRATION=1 when a service is missing.
func TestEndToEnd(t *testing.T) {
	env := testenv.Require(t, "PAVED_VAULT_BIN", "DATABASE_URL", "PAVED_PG_CA_FILE", "REDIS_ADDR", "PAVED_REDIS_TLS_ADDR",
		"PAVED_REDIS_CA_FILE", "PAVED_OTELCOL_GRPC_ENDPOINT", "PAVED_OTELCOL_DIR")
	began := time.Now()
	v := startE2EVault(t, env["PAVED_VAULT_BIN"])
	vaultUp := time.Since(began)
	review := testenv.NewTokenReview(t, "shop", "service-template")
	w := configureE2EVault(t, v, review, env)
	configured := time.Since(began)

	// The policy comes signed from a bundle server (TLS, its own test CA,
	// trusted through POLICY_BUNDLE_CA_FILE).
	tarball, pub := signedBundle(t)
	bundles := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(tarball) }))
	t.Cleanup(bundles.Close)
	keyFile := filepath.Join(t.TempDir(), "bundle.pem")
	if err := os.WriteFile(keyFile, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	bundleCA := filepath.Join(t.TempDir(), "bundle-ca.pem")
	if err := os.WriteFile(bundleCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: bundles.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	// What a pod would have: the projected service-account token, Vault's
	// CA in VAULT_CACERT, the collector in the standard OTEL_* variables.
	saFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(saFile, []byte(review.ServiceAccountToken()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VAULT_CACERT", v.caFile)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+env["PAVED_OTELCOL_GRPC_ENDPOINT"])
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	name := "e2e-" + w.id
	vars := map[string]string{
		"SERVICE_NAME": name, "SERVICE_ADDR": "127.0.0.1:0",
		"VAULT_ADDR": v.addr, "VAULT_ROLE": "service-template", "VAULT_TOKEN_FILE": saFile,
		"VAULT_PKI_ROLE": "localhost", "TLS_NAMES": "localhost",
		"OIDC_ISSUER": w.tokenIssuer, "OIDC_AUDIENCE": w.audience, "OIDC_CA_FILE": v.caFile, // Vault's dev CA signs the issuer's certificate
		"DATABASE_URL": w.databaseURL, "DATABASE_ROLE": "app",
		"POLICY_BUNDLE_URL": bundles.URL + "/service.tar.gz", "POLICY_BUNDLE_KEY_FILE": keyFile, "POLICY_BUNDLE_CA_FILE": bundleCA,
		"TRUSTED_PROXIES": "127.0.0.1/32", // callers are told apart by X-Forwarded-For, as behind the ingress
		// The shared Redis's TLS port, as an ACL user whose password is in KV.
		"REDIS_ADDR": env["PAVED_REDIS_TLS_ADDR"], "REDIS_CA_FILE": env["PAVED_REDIS_CA_FILE"], "REDIS_USERNAME": w.redisUser,
		"RATE_LIMIT": "20", "RATE_WINDOW": "10m", // a token back every 30s: the counts below are exact on a slow machine too
	}
	cfg, err := LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	s := seams{
		// Vault's identity tokens carry no RFC 9068 typ header: the issuer
		// accepts them by a named opt-out, and the org policy's token-checks
		// rule, which refuses that weakening, is waived by name.
		issuerOptOuts: []paved.OptOut{auth.AllowUntypedTokens("Vault's identity tokens carry no RFC 9068 typ header")},
		orgWaivers:    []paved.OptOut{policy.AllowOrgViolation("token-checks", "Vault is the OpenID provider here and its tokens carry no RFC 9068 typ")},
	}
	logs := &lockedBuffer{}
	t.Cleanup(func() { // why a call was denied, when the test failed
		if t.Failed() {
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, `"msg":"policy decision"`) && strings.Contains(line, `"allow":false`) {
					t.Log(line)
				}
			}
		}
	})
	global := len(paved.DefaultPosture().Report().Controls)
	a := startE2E(t, cfg, s, logs)
	aUp := time.Since(began)
	b := startE2E(t, cfg, s, logs)
	// Every block records its controls in the service's posture, which
	// /posture serves and CheckConfig judges: none in the process's
	// default one, which nothing reads.
	if r := paved.DefaultPosture().Report(); len(r.Controls) != global {
		t.Errorf("controls recorded in paved.DefaultPosture instead of the service's: %+v", r.Controls)
	}
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	t.Logf("setup until both replicas reported ready: %v (Vault up %v, configured %v, replica a ready %v, b %v)",
		ms(time.Since(began)), ms(vaultUp), ms(configured), ms(aUp), ms(time.Since(began)))

	// The test's HTTPS client trusts only the CA of Vault's PKI engine.
	caPEM := v.raw(t, "pki/ca/pem")
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("pki/ca/pem holds no certificate: %.200s", caPEM)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	alice := caller{client: client, xff: randomCaller()}

	t.Run("PKI certificate", func(t *testing.T) {
		for _, r := range []replica{a, b} {
			resp, body := alice.do(t, r, "GET", "/readyz", "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/readyz = %d %s", resp.StatusCode, body)
			}
			leaf := resp.TLS.PeerCertificates[0]
			var serial []string // as Vault writes it: hex bytes joined by dashes
			for _, c := range leaf.SerialNumber.Bytes() {
				serial = append(serial, fmt.Sprintf("%02x", c))
			}
			if got := v.read(t, "pki/cert/"+strings.Join(serial, "-"))["certificate"]; got == nil || !slices.Contains(leaf.DNSNames, "localhost") {
				t.Fatalf("the served certificate (serial %s, names %v) is not one Vault's PKI issued", serial, leaf.DNSNames)
			}
		}
	})

	t.Run("KV secret", func(t *testing.T) {
		// Vault's audit log holds each response value as an HMAC: the hash
		// of the secret in the response to the template's own read (its
		// Kubernetes login) shows the value reached it, without printing it.
		hash, _ := v.write(t, "sys/audit-hash/file", map[string]any{"input": w.kvValue})["hash"].(string)
		found := false
		for _, e := range w.auditEntries(t) {
			if e.Type == "response" && e.Request.Path == "secret/data/service-template" && strings.HasPrefix(e.Auth.DisplayName, "kubernetes-") {
				data, _ := e.Response.Data["data"].(map[string]any)
				found = found || (hash != "" && data["partner_api_key"] == hash)
			}
		}
		if !found {
			t.Fatal("no response to the template's KV read carries the secret (by its audit HMAC)")
		}
		// And by behaviour: both replicas are logged in to Redis, over its
		// TLS port, as the ACL user whose password only KV holds.
		clients, err := w.redisAdmin.ClientList(t.Context()).Result()
		if err != nil {
			t.Fatal(err)
		}
		_, tlsPort, _ := net.SplitHostPort(env["PAVED_REDIS_TLS_ADDR"])
		n := 0
		for _, line := range strings.Split(clients, "\n") {
			f := strings.Fields(line)
			if slices.Contains(f, "user="+w.redisUser) && slices.ContainsFunc(f, func(s string) bool { return strings.HasPrefix(s, "laddr=") && strings.HasSuffix(s, ":"+tlsPort) }) {
				n++
			}
		}
		if n < 2 {
			t.Fatalf("%d Redis connections as %s on the TLS port, want one a replica at least:\n%s", n, w.redisUser, clients)
		}
	})

	var token, idToken string
	t.Run("OIDC login", func(t *testing.T) {
		token, idToken = w.login(t)
	})
	if token == "" {
		t.FailNow()
	}

	t.Run("bearer calls", func(t *testing.T) {
		if resp, body := alice.served(t, a, "/v1/orders", token, logs); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"checked_at"`) {
			t.Errorf("GET /v1/orders as a reader = %d %s, want 200 with the database's time", resp.StatusCode, body)
		}
		if resp, body := alice.do(t, b, "GET", "/v1/orders", ""); resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("GET /v1/orders without a token = %d %s, want 401 Bearer", resp.StatusCode, body)
		}
		// The login's ID token is for the client, not a bearer token for the API.
		if resp, body := alice.do(t, b, "GET", "/v1/orders", idToken); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /v1/orders with the ID token = %d %s, want 401", resp.StatusCode, body)
		}
		resp, body := alice.do(t, b, "DELETE", "/v1/orders/7", token)
		var p struct {
			Status     int    `json:"status"`
			DecisionID string `json:"decision_id"`
		}
		_ = json.Unmarshal(body, &p)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/problem+json" || p.Status != http.StatusForbidden || len(p.DecisionID) != 32 {
			t.Fatalf("DELETE as a reader = %d %q %s, want 403 problem+json with a decision_id", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if !logs.contains(`"decision_id":"` + p.DecisionID + `"`) {
			t.Errorf("decision %s is not in the decision log", p.DecisionID)
		}
	})

	t.Run("SBOM", func(t *testing.T) {
		resp, body := alice.do(t, a, "GET", "/.well-known/sbom", token)
		var doc struct {
			SPDXVersion string `json:"spdxVersion"`
			Name        string `json:"name"`
			Packages    []struct {
				Name string `json:"name"`
			} `json:"packages"`
		}
		if err := json.Unmarshal(body, &doc); resp.StatusCode != http.StatusOK || err != nil || doc.SPDXVersion != "SPDX-2.3" {
			t.Fatalf("SBOM = %d %.300s (%v)", resp.StatusCode, body, err)
		}
		if !slices.ContainsFunc(doc.Packages, func(p struct {
			Name string `json:"name"`
		}) bool {
			return p.Name == "github.com/pavedroad/paved"
		}) {
			t.Fatalf("the SBOM %q does not name the module github.com/pavedroad/paved among %d packages", doc.Name, len(doc.Packages))
		}
	})

	t.Run("posture", func(t *testing.T) {
		resp, body := alice.do(t, b, "GET", "/posture", token)
		var report struct {
			Controls []struct {
				Component, Name string
				Enabled         bool
			} `json:"controls"`
			OptOuts []struct{ Component, Name string } `json:"opt_outs"`
		}
		if err := json.Unmarshal(body, &report); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("posture = %d %.300s (%v)", resp.StatusCode, body, err)
		}
		enabled := map[string]bool{}
		for _, c := range report.Controls {
			enabled[c.Component+"/"+c.Name] = c.Enabled
		}
		// One control at least of every block, each on.
		for _, want := range []string{"httpx/tls", "httpx/tls-certificate", "secrets/certificate-rotation", // TLS from Vault PKI
			"auth/bearer-verification",                             // OIDC
			"policy/http-authorization", "policy/bundle-signature", // policy
			"httpx/rate-limit", "service-template/redis-tls", // rate limit
			"secrets/auth-method", "secrets/transport-tls", "secrets/lease-renewal", // secrets
			"telemetry/export-encryption", "sbom/sbom-endpoint"} {
			if on, ok := enabled[want]; !on {
				t.Errorf("posture control %s: listed %v, enabled %v; want listed and on", want, ok, on)
			}
		}
		// What is weakened is exactly what this test weakened.
		var optOuts []string
		for _, o := range report.OptOuts {
			optOuts = append(optOuts, o.Component+"/"+o.Name)
		}
		if want := []string{"auth/allow-untyped-tokens", "policy/allow-org-violation:token-checks"}; !slices.Equal(optOuts, want) {
			t.Errorf("posture opt-outs %q, want only the test's %q", optOuts, want)
		}
	})

	t.Run("database credentials rotate", func(t *testing.T) {
		db := w.adminDB(t)
		before := w.dbUsers(t, db)
		if len(before) == 0 {
			t.Fatal("no connection of the template's dynamic users in pg_stat_activity")
		}
		rot := caller{client: client, xff: randomCaller()}
		deadline := time.Now().Add(15 * time.Second)
		for i := 0; ; i++ {
			r := []replica{a, b}[i%2]
			if resp, body := rot.do(t, r, "GET", "/v1/orders", token); resp.StatusCode != http.StatusOK && !logs.timedOut(resp, body) {
				t.Fatalf("GET /v1/orders #%d during rotation = %d %s", i, resp.StatusCode, body)
			}
			now := w.dbUsers(t, db)
			// Both replicas rotated: none of the first users is still connected.
			if len(now) > 0 && !slices.ContainsFunc(now, func(u string) bool { return slices.Contains(before, u) }) {
				t.Logf("database users %v, then %v after %d calls, all served", before, now, i+1)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the database users stayed %v for 15s at a 3s lease", before)
			}
			time.Sleep(time.Second) // at most 15 calls: within the caller's budget of 20
		}
		if !logs.contains("pgxsecrets: pool rotated to fresh credentials") {
			t.Error("no rotation in the logs")
		}
		// The retired users' leases were revoked by the template, not left
		// to expire: at a 6s max TTL Vault's expiry would drop their roles
		// as soon, so the evidence is the template's revocations in the
		// audit log (one a rotated replica, after its old pool drained).
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			revoked := w.templateWrites(t, "sys/leases/revoke")
			if revoked >= len(before) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the template revoked %d leases in the 10s after the rotation of %v, want %d", revoked, before, len(before))
			}
		}
		var left int
		if err := db.QueryRow(t.Context(), "SELECT count(*) FROM pg_roles WHERE rolname = ANY($1)", before).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Fatalf("%d of the retired users %v still exist after their leases were revoked", left, before)
		}
	})

	t.Run("rate limit across replicas", func(t *testing.T) {
		rl := caller{client: client, xff: randomCaller()} // a fresh budget
		for i := range 20 {
			r := []replica{a, b}[i%2]
			// (a policy evaluation past its 50ms budget denies, fail
			// closed, on a loaded machine: such a call passed the limiter)
			if resp, body := rl.do(t, r, "GET", "/v1/orders", token); resp.StatusCode != http.StatusOK && !logs.timedOut(resp, body) {
				t.Fatalf("call %d of 20 (replica %d) = %d %s, want 200 within the limit", i+1, i%2, resp.StatusCode, body)
			}
		}
		for i, r := range []replica{a, b} {
			resp, body := rl.do(t, r, "GET", "/v1/orders", token)
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
				t.Errorf("call 21+%d (replica %d) = %d %s, want 429 with Retry-After: the budget is shared", i, i, resp.StatusCode, body)
			}
		}
	})

	t.Run("shutdown", func(t *testing.T) {
		a.stop(t) // also flushes the spans to the collector
		b.stop(t)
		// Nothing of the blocks outlives run: pools, renewers, pollers,
		// exporters and clients have all ended.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			left := blockGoroutines()
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d goroutines of the blocks outlive run:\n%s", len(left), strings.Join(left, "\n\n"))
			}
		}
		// Nor any connection: go-redis has no goroutine to find when a
		// client is left open, a pool's sessions would show in PostgreSQL.
		clients, err := w.redisAdmin.ClientList(t.Context()).Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(clients, " user="+w.redisUser+" ") {
			t.Errorf("Redis connections as %s outlive run:\n%s", w.redisUser, clients)
		}
		if users := w.dbUsers(t, w.adminDB(t)); len(users) != 0 {
			t.Errorf("PostgreSQL sessions of %v outlive run", users)
		}
		// And each replica revoked its Vault token (and with it, its leases).
		if n := w.templateWrites(t, "auth/token/revoke-self"); n != 2 {
			t.Errorf("%d replicas revoked their Vault token at shutdown, want 2", n)
		}
	})

	t.Run("traces at the collector", func(t *testing.T) {
		var spans int
		deadline := time.Now().Add(15 * time.Second)
		for {
			spans = countSpans(t, env["PAVED_OTELCOL_DIR"], name, "GET /v1/orders")
			if spans >= 5 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if spans < 5 {
			t.Fatalf("%d spans named GET /v1/orders of service.name %s at the collector, want at least 5", spans, name)
		}
	})

	if logs.contains(w.kvValue) || logs.contains(w.redisPass) {
		t.Error("the logs hold a KV secret")
	}
	for what, jwt := range map[string]string{"bearer token": token, "ID token": idToken} {
		if jwt != "" && logs.contains(jwt[strings.LastIndexByte(jwt, '.')+1:]) {
			t.Errorf("the logs hold the %s's signature", what)
		}
	}
}

// blockGoroutines returns the stacks of the goroutines running code of
// the blocks the template wires (or of their clients).
func blockGoroutines() []string {
	buf := make([]byte, 4<<20)
	var left []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		for _, pkg := range []string{"github.com/pavedroad/paved/secrets", "github.com/pavedroad/paved/policy.", "github.com/pavedroad/paved/httpx",
			"github.com/pavedroad/paved/auth.", "github.com/pavedroad/paved/telemetry", "github.com/pavedroad/paved/sbom",
			"github.com/jackc/pgx", "github.com/redis/go-redis", "go.opentelemetry.io/", "google.golang.org/grpc", "github.com/open-policy-agent/opa"} {
			if strings.Contains(g, pkg) {
				left = append(left, g)
				break
			}
		}
	}
	return left
}

// replica is one running instance of the template.
type replica struct {
	url  string
	stop func(t *testing.T)
}

// startE2E runs the template's run with cfg and s until the test ends (or
// stop), and waits until it reports ready.
func startE2E(t *testing.T, cfg Config, s seams, logs *lockedBuffer) replica {
	t.Helper()
	s.logger = slog.New(slog.NewJSONHandler(logs, nil))
	up := make(chan string, 1)
	s.ready = func(url string, _ *x509.CertPool) { up <- url }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, s) }()
	var once sync.Once
	stop := func(t *testing.T) {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run after shutdown: %v", err)
			}
		})
	}
	select {
	case url := <-up:
		t.Cleanup(func() { stop(t) })
		return replica{url: url, stop: stop}
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		<-done
		t.Fatal("the template was not ready within 60s")
	}
	return replica{}
}

// randomCaller returns a client address of its own /64 in the IPv6
// documentation prefix: the limiter keys IPv6 clients by /64, and the
// shared Redis keeps budgets across runs of the test within the window.
func randomCaller() string {
	h := randHex(4)
	return "2001:db8:" + h[:4] + ":" + h[4:] + "::1"
}

// caller is one client behind the trusted proxy (its X-Forwarded-For).
type caller struct {
	client *http.Client
	xff    string
}

func (c caller) do(t *testing.T, r replica, method, path, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, r.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", c.xff)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// served is a GET of path that the policy allows, tried again (up to three
// times) when its evaluation timed out (see timedOut).
func (c caller) served(t *testing.T, r replica, path, token string, logs *lockedBuffer) (*http.Response, []byte) {
	t.Helper()
	for i := 0; ; i++ {
		resp, body := c.do(t, r, "GET", path, token)
		if i == 2 || !logs.timedOut(resp, body) {
			return resp, body
		}
		t.Logf("GET %s: the policy evaluation timed out (denied, fail closed); again", path)
	}
}

// countSpans counts the spans named span of service.name service in the
// collector's file exporter output in dir (traces.jsonl: OTLP JSON, one
// batch a line).
func countSpans(t *testing.T, dir, service, span string) int {
	t.Helper()
	f, err := os.OpenInRoot(dir, "traces.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if !bytes.Contains(sc.Bytes(), []byte(service)) {
			continue
		}
		var batch struct {
			ResourceSpans []struct {
				Resource struct {
					Attributes []struct {
						Key   string `json:"key"`
						Value struct {
							StringValue string `json:"stringValue"`
						} `json:"value"`
					} `json:"attributes"`
				} `json:"resource"`
				ScopeSpans []struct {
					Spans []struct {
						Name string `json:"name"`
					} `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		}
		if json.Unmarshal(sc.Bytes(), &batch) != nil {
			continue
		}
		for _, rs := range batch.ResourceSpans {
			if !slices.ContainsFunc(rs.Resource.Attributes, func(a struct {
				Key   string `json:"key"`
				Value struct {
					StringValue string `json:"stringValue"`
				} `json:"value"`
			}) bool {
				return a.Key == "service.name" && a.Value.StringValue == service
			}) {
				continue
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					if s.Name == span {
						n++
					}
				}
			}
		}
	}
	return n
}

// lockedBuffer collects the replicas' JSON logs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// timedOut reports whether resp is a 403 whose decision, in the
// decision log, is a policy evaluation that ran past its budget (50ms by
// default): it denies, fail closed, and a slow machine (-race, a loaded
// CI) meets it now and then.
func (l *lockedBuffer) timedOut(resp *http.Response, body []byte) bool {
	var p struct {
		DecisionID string `json:"decision_id"`
	}
	if resp.StatusCode != http.StatusForbidden || json.Unmarshal(body, &p) != nil || p.DecisionID == "" {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(l.buf.String(), "\n") {
		var rec struct {
			DecisionID string `json:"decision_id"`
			Cause      string `json:"cause"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.DecisionID == p.DecisionID {
			return rec.Cause == policy.CauseTimeout
		}
	}
	return false
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *lockedBuffer) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.buf.String(), s)
}

// login is the browser login a user does at Vault's OpenID provider,
// driven by an HTTP client: userpass login at Vault, the authorization
// request (code + PKCE S256) answered by Vault's authorize API, the code
// exchanged at the token endpoint. Vault's provider issues an opaque
// access token and an ID token, neither an API bearer token (an ID token
// is refused as one), so the API token is the identity token Vault mints
// for the same entity; the test checks both name the same subject.
func (w *e2eWorld) login(t *testing.T) (apiToken, idToken string) {
	t.Helper()
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, w.v.client)
	var login struct {
		Auth struct {
			ClientToken string `json:"client_token"`
		} `json:"auth"`
	}
	if err := w.v.do(ctx, "POST", "auth/userpass/login/alice", "-", map[string]any{"password": w.password}, &login); err != nil {
		t.Fatal(err)
	}
	user := login.Auth.ClientToken
	conf := oauth2.Config{ClientID: w.clientID, ClientSecret: w.clientSecret, RedirectURL: w.redirectURI, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: w.providerIssuer + "/authorize", TokenURL: w.providerIssuer + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
	// authorize is the browser's authorization request (code + PKCE S256
	// challenge of verifier) answered by Vault's authorize API: its code.
	authorize := func(verifier, nonce string) string {
		t.Helper()
		state := randHex(8)
		authURL, err := url.Parse(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce)))
		if err != nil {
			t.Fatal(err)
		}
		var authz struct {
			Code, State, Error string
		}
		path := strings.TrimPrefix(authURL.Path, "/v1/") + "?" + authURL.RawQuery
		if err := w.v.do(ctx, "GET", path, user, nil, &authz); err != nil || authz.Code == "" || authz.State != state {
			t.Fatalf("authorize = %+v (%v), want a code and state %s", authz, err, state)
		}
		return authz.Code
	}
	// PKCE binds the code to this client's verifier: an intercepted code
	// is refused with another verifier or none. Vault spends a code on
	// any exchange, so each refusal gets a code of its own.
	verifier := oauth2.GenerateVerifier()
	if _, err := conf.Exchange(ctx, authorize(verifier, randHex(8)), oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("a code was exchanged with another PKCE verifier")
	}
	if _, err := conf.Exchange(ctx, authorize(verifier, randHex(8))); err == nil {
		t.Fatal("a code was exchanged without its PKCE verifier")
	}
	nonce := randHex(8)
	code := authorize(verifier, nonce)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("token exchange: %v", err)
	}
	idClaims := jwtClaims(t, fmt.Sprint(tok.Extra("id_token")))
	if idClaims["nonce"] != nonce || idClaims["iss"] != w.providerIssuer || idClaims["aud"] != w.clientID {
		t.Fatalf("ID token claims %v: want nonce %s, issuer %s, audience %s", idClaims, nonce, w.providerIssuer, w.clientID)
	}
	// A spent code is refused, even with its verifier.
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("the code was exchanged twice")
	}
	var it struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := w.v.do(ctx, "GET", "identity/oidc/token/api", user, nil, &it); err != nil {
		t.Fatal(err)
	}
	if c := jwtClaims(t, it.Data.Token); c["sub"] != idClaims["sub"] || c["iss"] != w.tokenIssuer {
		t.Fatalf("the API token's sub %v (iss %v) is not the signed-in user %v", c["sub"], c["iss"], idClaims["sub"])
	}
	return it.Data.Token, fmt.Sprint(tok.Extra("id_token"))
}

// jwtClaims decodes a JWT's payload without verifying it: the template
// verifies the tokens it is given; the test only compares claims.
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return c
}

// adminDB connects to the shared PostgreSQL as its superuser, to watch
// which users the template's pools are logged in as.
func (w *e2eWorld) adminDB(t *testing.T) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), w.adminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// dbUsers lists, sorted, the dynamic users (of this test's Vault) with a
// connection open now.
func (w *e2eWorld) dbUsers(t *testing.T, db *pgx.Conn) []string {
	t.Helper()
	rows, err := db.Query(t.Context(), "SELECT DISTINCT usename FROM pg_stat_activity WHERE usename LIKE $1 ORDER BY 1", w.userPrefix+"%")
	if err != nil {
		t.Fatal(err)
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return users
}
