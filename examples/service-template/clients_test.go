package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// An ACL user without its password would not authenticate at all: go-redis
// sends no AUTH without a password, so the connection would run as Redis's
// default user, not REDIS_USERNAME. Start-up refuses it instead.
func TestRedisUserNeedsPassword(t *testing.T) {
	cfg := Config{Name: "t", RedisAddr: "redis:6379", RedisUser: "service-template", RedisTLS: true}
	_, err := redisOptions(context.Background(), cfg, secrets.Secret{}, new(paved.Posture), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "REDIS_USERNAME") || !strings.Contains(err.Error(), "redis_password") {
		t.Fatalf("redisOptions with a user and no password = %v, want an error naming REDIS_USERNAME and redis_password", err)
	}
	if _, err := redisOptions(context.Background(), cfg, secrets.NewSecret("pw"), new(paved.Posture), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("with the password: %v", err)
	}
}

// The client built for a private CA keeps http.DefaultTransport's settings
// (dial timeout, proxy, HTTP/2) and paved's TLS floor (1.2, ECDHE AEAD suites).
func TestClientForTransport(t *testing.T) {
	c, err := clientFor(nil, "OIDC_CA_FILE", writeTestPKI(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Transport.(*http.Transport)
	if tr.DialContext == nil || tr.Proxy == nil || !tr.ForceAttemptHTTP2 || tr.TLSHandshakeTimeout == 0 {
		t.Errorf("transport lacks a dial timeout (%v), proxy, HTTP/2 (%v) or a handshake timeout (%v)", tr.DialContext != nil, tr.ForceAttemptHTTP2, tr.TLSHandshakeTimeout)
	}
	tc := tr.TLSClientConfig
	if tc.MinVersion != tls.VersionTLS12 || len(tc.CipherSuites) == 0 || tc.RootCAs == nil {
		t.Errorf("TLS config = min %x, %d suites, roots %v; want 1.2, paved's suites, the CA", tc.MinVersion, len(tc.CipherSuites), tc.RootCAs != nil)
	}
}

// The client run builds for OIDC_CA_FILE is closed with it: no idle
// keep-alive connection to the issuer (two net/http goroutines, no paved
// frame for the end-to-end test's goroutine check to see) outlives run
// while the issuer stays up.
func TestTemplateIssuerClientClosedWithRun(t *testing.T) {
	idp, err := authtest.Start(authtest.Config{TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	env := testEnv(idp)
	env["OIDC_CA_FILE"] = filepath.Join(t.TempDir(), "oidc-ca.pem")
	if err := os.WriteFile(env["OIDC_CA_FILE"], idp.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	vault := secretstest.New()
	vault.Clock().Advance(time.Since(vault.Clock().Now()))
	vault.Put("secret/service-template", map[string]any{"partner_api_key": "k-123"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up, done := make(chan struct{}, 1), make(chan error, 1)
	go func() {
		done <- run(ctx, cfg, seams{vault: vault, vaultLogin: secrets.TokenLogin{Token: secrets.NewSecret(vault.RootToken())},
			vaultOptOuts: []paved.OptOut{secrets.AllowStaticToken("tests: the in-memory fake's root token")},
			logger:       slog.New(slog.DiscardHandler), ready: func(string, *x509.CertPool) { up <- struct{}{} }})
	}()
	select {
	case <-up:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready within 30s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after shutdown: %v", err)
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		n := strings.Count(string(buf[:runtime.Stack(buf, true)]), "net/http.(*persistConn).readLoop")
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d keep-alive connections outlive run (the issuer is still up)", n)
		}
	}
}

// The client for a private CA refuses a redirect off https before sending
// it (the policy engine, given a client of the service's, checks only the
// answer: a bundle server's Authorization would have crossed in clear).
func TestClientForRefusesDowngrade(t *testing.T) {
	var plain atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { plain.Add(1) }))
	defer hs.Close()
	ts := httptest.NewTLSServer(http.RedirectHandler(hs.URL+"/b.tar.gz", http.StatusFound))
	defer ts.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := clientFor(nil, "POLICY_BUNDLE_CA_FILE", ca)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	resp, err := c.Get(ts.URL + "/bundle.tar.gz")
	if err == nil {
		_ = resp.Body.Close()
	}
	if err == nil || plain.Load() != 0 {
		t.Fatalf("redirect to http: err = %v, %d requests sent in clear; want an error and none", err, plain.Load())
	}
}
