package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/internal/testenv"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// Redis is reached over TLS unless the deployment says why not: plain TCP
// needs REDIS_TLS=false and a reason, and a malformed value is an error.
func TestLoadConfigRedisTLS(t *testing.T) {
	base := map[string]string{"VAULT_ADDR": "https://vault:8200", "VAULT_ROLE": "r", "VAULT_PKI_ROLE": "p", "TLS_NAMES": "svc",
		"OIDC_ISSUER": "https://id.example", "OIDC_AUDIENCE": "a", "REDIS_ADDR": "redis:6379"}
	tests := []struct {
		name    string
		extra   map[string]string
		wantTLS bool
		want    []string
	}{
		{"default", nil, true, nil},
		{"private CA", map[string]string{"REDIS_CA_FILE": "/etc/redis-ca.pem"}, true, nil},
		{"plaintext without a reason", map[string]string{"REDIS_TLS": "false"}, false, []string{"REDIS_PLAINTEXT_REASON"}},
		{"plaintext with a reason", map[string]string{"REDIS_TLS": "false", "REDIS_PLAINTEXT_REASON": "the mesh sidecar encrypts pod traffic"}, false, nil},
		{"not a boolean", map[string]string{"REDIS_TLS": "yes"}, false, []string{"REDIS_TLS"}},
		{"CA without TLS", map[string]string{"REDIS_TLS": "false", "REDIS_PLAINTEXT_REASON": "the mesh sidecar encrypts pod traffic",
			"REDIS_CA_FILE": "/etc/redis-ca.pem"}, false, []string{"REDIS_CA_FILE"}},
		// A reason with TLS on would do nothing: said, rather than ignored.
		{"reason with TLS", map[string]string{"REDIS_PLAINTEXT_REASON": "the mesh sidecar encrypts pod traffic"}, true, []string{"REDIS_PLAINTEXT_REASON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.extra {
				env[k] = v
			}
			cfg, err := LoadConfig(func(k string) string { return env[k] })
			var got []string
			for _, ce := range paved.ConfigErrors(err) {
				got = append(got, ce.Field)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("faults in %q, want %q (%v)", got, tt.want, err)
			}
			if err == nil && cfg.RedisTLS != tt.wantTLS {
				t.Fatalf("RedisTLS = %t, want %t", cfg.RedisTLS, tt.wantTLS)
			}
		})
	}
}

// firstBytes listens on loopback and records the first byte each client
// sends: 0x16 opens a TLS handshake, '*' a plain RESP command.
type firstBytes struct {
	mu  sync.Mutex
	got []byte
}

func (f *firstBytes) listen(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 1)
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if n, _ := c.Read(b); n == 1 {
					f.mu.Lock()
					f.got = append(f.got, b[0])
					f.mu.Unlock()
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func (f *firstBytes) first(t *testing.T) byte {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		f.mu.Lock()
		if len(f.got) > 0 {
			b := f.got[0]
			f.mu.Unlock()
			return b
		}
		f.mu.Unlock()
	}
	t.Fatal("no client connected to the Redis stand-in within 10s")
	return 0
}

// The template's Redis client opens with a TLS handshake by default, and
// with a plain RESP command only under the named opt-out, which is logged.
func TestTemplateRedisSpeaksTLS(t *testing.T) {
	for _, tt := range []struct {
		name  string
		extra map[string]string
		want  byte
	}{
		{"default", nil, 0x16},
		{"opt-out", map[string]string{"REDIS_TLS": "false", "REDIS_PLAINTEXT_REASON": "a loopback stand-in in this test, nothing crosses a network"}, '*'},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var fb firstBytes
			env := map[string]string{"REDIS_ADDR": fb.listen(t)}
			for k, v := range tt.extra {
				env[k] = v
			}
			var mu sync.Mutex
			var logs bytes.Buffer
			tp, err := startWith(t, env, seams{logger: slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))})
			if err != nil {
				t.Fatal(err)
			}
			tp.do(t, "GET", "/readyz", "") // pings Redis
			if b := fb.first(t); b != tt.want {
				t.Fatalf("first byte to Redis = %#x, want %#x", b, tt.want)
			}
			mu.Lock()
			logged := strings.Contains(logs.String(), "allow-plaintext-redis")
			mu.Unlock()
			if logged != (tt.want == '*') {
				t.Fatalf("opt-out logged = %t, want %t", logged, tt.want == '*')
			}
		})
	}
}

// Against a real redis-server serving TLS only, with an ACL user whose
// password is in Vault (the fake here): both replicas verify its
// certificate against REDIS_CA_FILE, authenticate, report ready and share
// one limit. With a wrong password, a replica is not ready. (Skipped in a
// unit run; fails under PAVED_INTEGRATION=1 without redis-server.)
func TestTemplateRedisTLSAuth(t *testing.T) {
	testenv.RequireTool(t, "redis-server")
	dir := t.TempDir()
	caFile := writeTestPKI(t, dir)
	port := freePort(t)
	pw := make([]byte, 12)
	_, _ = rand.Read(pw)
	password := hex.EncodeToString(pw) // for a throwaway server
	// TLS only (port 0 turns plain TCP off), the default user off, one ACL
	// user; in a file, so that the command line holds no secret.
	conf := fmt.Sprintf("port 0\ntls-port %s\nbind 127.0.0.1\ntls-cert-file redis.crt\ntls-key-file redis.key\n"+
		"tls-ca-cert-file ca.crt\ntls-auth-clients no\nuser default off\nuser limiter on >%s ~* +@all\nsave \"\"\nappendonly no\n", port, password)
	if err := os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := exec.CommandContext(ctx, "redis-server", "redis.conf")
	srv.Dir = dir
	out := new(safeBuffer)
	srv.Stdout, srv.Stderr = out, out
	dieWithTest(srv) // also when a -timeout panic skips the cleanup below
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = srv.Wait() })
	addr := "127.0.0.1:" + port
	waitListening(t, addr, out)

	env := map[string]string{"REDIS_ADDR": addr, "REDIS_CA_FILE": caFile, "REDIS_USERNAME": "limiter", "RATE_LIMIT": "4"}
	start := func(pw string) template {
		v := secretstest.New()
		v.Clock().Advance(time.Since(v.Clock().Now()))
		v.Put("secret/service-template", map[string]any{"partner_api_key": "k-123", "redis_password": pw})
		tp, err := startWith(t, env, seams{vault: v, vaultLogin: secrets.TokenLogin{Token: secrets.NewSecret(v.RootToken())}})
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	a, b := start(password), start(password)
	for _, tp := range []template{a, b} {
		if resp, body := tp.do(t, "GET", "/readyz", ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("/readyz against TLS Redis = %d %s\n%s", resp.StatusCode, body, out.String())
		}
	}
	limited := false
	for i := range 5 { // 4 a minute shared: the 5th in total is 429, where each replica alone would allow 8
		if resp, _ := []template{a, b}[i%2].do(t, "GET", "/v1/orders", ""); resp.StatusCode == http.StatusTooManyRequests {
			limited = i == 4
			break
		}
	}
	if !limited {
		t.Fatal("the limit over TLS Redis is not shared: no 429 on the 5th call across two replicas at 4 a minute")
	}
	wrong := start("not-the-password")
	if resp, body := wrong.do(t, "GET", "/readyz", ""); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "redis") {
		t.Fatalf("/readyz with a wrong Redis password = %d %s, want 503 naming redis", resp.StatusCode, body)
	}
}

// writeTestPKI writes a throwaway CA (ca.crt) and a certificate for
// 127.0.0.1 signed by it (redis.crt, redis.key) into dir, and returns the
// CA's path. Test scaffolding only: crypto/x509 does the work.
func writeTestPKI(t *testing.T, dir string) string {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test Redis CA"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	caCert, _ := x509.ParseCertificate(caDER)
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", "CERTIFICATE", caDER)
	write("redis.crt", "CERTIFICATE", leafDER)
	write("redis.key", "PRIVATE KEY", keyDER)
	return filepath.Join(dir, "ca.crt")
}

func freePort(t *testing.T) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(closedAddr(t))
	return port
}

// safeBuffer collects a child process's output for the failure message.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitListening(t *testing.T, addr string, out *safeBuffer) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return
		}
	}
	t.Fatalf("redis-server not listening on %s within 10s:\n%s", addr, out.String())
}
