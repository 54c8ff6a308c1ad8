package testenv_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved/internal/testenv"
)

// vaultDo calls the Vault HTTP API and decodes the JSON answer into out.
func vaultDo(t *testing.T, v testenv.Vault, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, v.Addr+"/v1/"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", v.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, data, err)
		}
	}
}

func TestSmokeVaultKV(t *testing.T) {
	v := testenv.RequireVault(t)
	want := fmt.Sprintf("value-%d", time.Now().UnixNano())
	vaultDo(t, v, http.MethodPost, "secret/data/paved-smoke", map[string]any{"data": map[string]string{"k": want}}, nil)
	var got struct {
		Data struct {
			Data map[string]string `json:"data"`
		} `json:"data"`
	}
	vaultDo(t, v, http.MethodGet, "secret/data/paved-smoke", nil, &got)
	if got.Data.Data["k"] != want {
		t.Fatalf("KV read %q, want %q", got.Data.Data["k"], want)
	}
}

func TestSmokeVaultOIDC(t *testing.T) {
	o := testenv.RequireOIDC(t)
	var disc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	getJSON(t, o.Issuer+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != o.Issuer {
		t.Fatalf("discovery issuer %q, want %q", disc.Issuer, o.Issuer)
	}
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
			Kty string `json:"kty"`
		} `json:"keys"`
	}
	getJSON(t, disc.JWKSURI, &jwks)
	if len(jwks.Keys) == 0 || jwks.Keys[0].Kid == "" {
		t.Fatalf("JWKS has no keys: %+v", jwks)
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestSmokeVaultPKI(t *testing.T) {
	v := testenv.RequireVault(t)
	var out struct {
		Data struct {
			Certificate string `json:"certificate"`
			PrivateKey  string `json:"private_key"`
		} `json:"data"`
	}
	vaultDo(t, v, http.MethodPost, "pki/issue/localhost", map[string]any{"common_name": "localhost", "ip_sans": "127.0.0.1", "ttl": "1h"}, &out)
	block, _ := pem.Decode([]byte(out.Data.Certificate))
	if block == nil {
		t.Fatalf("no PEM certificate in %q", out.Data.Certificate)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("localhost"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Data.PrivateKey, "PRIVATE KEY") {
		t.Fatal("no private key issued")
	}
}

func TestSmokeVaultTransit(t *testing.T) {
	v := testenv.RequireVault(t)
	var enc struct {
		Data struct {
			Ciphertext string `json:"ciphertext"`
		} `json:"data"`
	}
	vaultDo(t, v, http.MethodPost, "transit/encrypt/paved", map[string]string{"plaintext": "aGVsbG8="}, &enc)
	if !strings.HasPrefix(enc.Data.Ciphertext, "vault:v1:") {
		t.Fatalf("ciphertext %q", enc.Data.Ciphertext)
	}
	var dec struct {
		Data struct {
			Plaintext string `json:"plaintext"`
		} `json:"data"`
	}
	vaultDo(t, v, http.MethodPost, "transit/decrypt/paved", map[string]string{"ciphertext": enc.Data.Ciphertext}, &dec)
	if dec.Data.Plaintext != "aGVsbG8=" {
		t.Fatalf("plaintext %q", dec.Data.Plaintext)
	}
}

func TestSmokeDynamicPostgresCredentials(t *testing.T) {
	v := testenv.RequireVault(t)
	dbURL := testenv.RequirePostgres(t)
	var creds struct {
		LeaseID string `json:"lease_id"`
		Data    struct {
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"data"`
	}
	vaultDo(t, v, http.MethodGet, "database/creds/app", nil, &creds)
	if creds.Data.Username == "" || creds.Data.Password == "" || creds.LeaseID == "" {
		t.Fatalf("no dynamic credentials: %+v", creds.LeaseID)
	}
	psql := testenv.RequireTool(t, "psql")
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(creds.Data.Username, creds.Data.Password)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// psql from Debian's postgresql-client (installed with the server):
	// the harness needs no Go driver, so the SDK's go.mod names none.
	who, err := psqlQuery(ctx, psql, u, "SELECT current_user")
	if err != nil {
		t.Fatalf("login with dynamic credentials: %v", err)
	}
	if who != creds.Data.Username {
		t.Fatalf("current_user %q, want %q", who, creds.Data.Username)
	}
	// Revoking the lease drops the role: the login must then fail.
	vaultDo(t, v, http.MethodPut, "sys/leases/revoke", map[string]string{"lease_id": creds.LeaseID}, nil)
	if _, err := psqlQuery(ctx, psql, u, "SELECT current_user"); err == nil {
		t.Fatal("login still works after the lease was revoked")
	}
}

// psqlQuery runs one query through psql and returns its single value.
func psqlQuery(ctx context.Context, psql string, dsn *url.URL, query string) (string, error) {
	cmd := psqlCommand(ctx, psql, dsn, query)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v: %s", err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// psqlCommand returns the psql command for query on dsn. The password
// goes in the environment (PGPASSWORD), not in the arguments, which any
// local user can read in the process list.
func psqlCommand(ctx context.Context, psql string, dsn *url.URL, query string) *exec.Cmd {
	u := *dsn
	env := []string{"PGCONNECT_TIMEOUT=10", "PATH=/usr/bin:/bin"}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
		}
		u.User = url.User(u.User.Username())
	}
	cmd := exec.CommandContext(ctx, psql, "--no-psqlrc", "-X", "-tA", "-v", "ON_ERROR_STOP=1", "-c", query, u.String())
	cmd.Env = env
	return cmd
}

func TestPsqlPasswordNotInArguments(t *testing.T) {
	u, err := url.Parse("postgres://app:s3cr%2Ft@127.0.0.1:5432/paved?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	cmd := psqlCommand(context.Background(), "/usr/bin/psql", u, "SELECT 1")
	for _, a := range cmd.Args {
		if strings.Contains(a, "s3cr") {
			t.Fatalf("password in the arguments: %q", cmd.Args)
		}
	}
	if last := cmd.Args[len(cmd.Args)-1]; last != "postgres://app@127.0.0.1:5432/paved?sslmode=disable" {
		t.Fatalf("DSN argument %q, want it without the password", last)
	}
	found := false
	for _, e := range cmd.Env {
		found = found || e == "PGPASSWORD=s3cr/t"
	}
	if !found {
		t.Fatalf("env %q lacks PGPASSWORD", cmd.Env)
	}
}

func TestSmokeRedis(t *testing.T) {
	addr := testenv.RequireRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rdb.Set(ctx, "paved:smoke", "ok", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := rdb.Get(ctx, "paved:smoke").Result()
	if err != nil || got != "ok" {
		t.Fatalf("GET = %q, %v", got, err)
	}
}
