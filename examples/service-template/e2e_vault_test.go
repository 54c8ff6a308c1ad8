package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// e2eVault is a Vault dev server the end-to-end test starts for itself,
// serving TLS (-dev-tls) so that the template's https-only VAULT_ADDR and
// OIDC_ISSUER hold; the shared integration Vault speaks plain HTTP.
type e2eVault struct {
	addr   string // https://127.0.0.1:PORT
	root   string
	caFile string // the dev server's own CA, which signed its certificate
	client *http.Client
}

// startE2EVault starts bin as a TLS dev server; it stops at the end of t.
func startE2EVault(t *testing.T, bin string) *e2eVault {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostPort := ln.Addr().String()
	_ = ln.Close()
	dir := t.TempDir()
	root := "root-" + randHex(8)
	// The root token and the address in the environment, not in the
	// arguments (which every local user can read); the dev server makes its
	// TLS files in a directory of its own under TMPDIR, the test's.
	cmd := exec.Command(bin, "server", "-dev", "-dev-tls", "-dev-no-store-token")
	cmd.Env = append(os.Environ(), "VAULT_DEV_ROOT_TOKEN_ID="+root, "VAULT_DEV_LISTEN_ADDRESS="+hostPort, "TMPDIR="+dir, "HOME="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-scanned:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		_ = cmd.Wait()
	})
	ready := make(chan struct{})
	go func() {
		defer close(scanned)
		var once sync.Once
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "core: vault is unsealed") || strings.Contains(sc.Text(), "Development mode should NOT be used") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("the TLS Vault did not start within 60s")
	}
	cas, _ := filepath.Glob(filepath.Join(dir, "vault-tls*", "vault-ca.pem"))
	if len(cas) != 1 {
		t.Fatalf("the TLS Vault's CA: %d files vault-tls*/vault-ca.pem in %s, want 1", len(cas), dir)
	}
	v := &e2eVault{addr: "https://" + hostPort, root: root, caFile: cas[0]}
	pem, err := os.ReadFile(v.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", v.caFile)
	}
	v.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	t.Cleanup(v.client.CloseIdleConnections)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var health map[string]any
		err := v.do(t.Context(), "GET", "sys/health", "", nil, &health)
		if err == nil && health["sealed"] == false {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("the TLS Vault at %s does not answer: %v", v.addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// do calls Vault's API at /v1/path with token (the root token when empty,
// none when "-")
// and decodes the JSON answer into out.
func (v *e2eVault) do(ctx context.Context, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, v.addr+"/v1/"+path, rd)
	if err != nil {
		return err
	}
	switch token {
	case "": // the root token
		req.Header.Set("X-Vault-Token", v.root)
	case "-": // none
	default:
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("vault %s %s: %d %.300s", method, path, resp.StatusCode, b)
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// write is an admin write that must succeed; it returns the answer's data.
func (v *e2eVault) write(t *testing.T, path string, body map[string]any) map[string]any {
	t.Helper()
	var out struct {
		Data map[string]any `json:"data"`
	}
	if err := v.do(t.Context(), "POST", path, "", body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Data
}

// read is an admin read that must succeed; it returns the answer's data.
func (v *e2eVault) read(t *testing.T, path string) map[string]any {
	t.Helper()
	var out struct {
		Data map[string]any `json:"data"`
	}
	if err := v.do(t.Context(), "GET", path, "", nil, &out); err != nil {
		t.Fatal(err)
	}
	return out.Data
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// raw is an unauthenticated GET of /v1/path that must succeed (such as a
// CA certificate in PEM).
func (v *e2eVault) raw(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := v.client.Get(v.addr + "/v1/" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d (%v)", path, resp.StatusCode, err)
	}
	return b
}
