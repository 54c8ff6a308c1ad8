package secrets_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/internal/testenv"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

func adminWrite(t *testing.T, b secrets.Backend, root, path string, data map[string]any) *secrets.Response {
	t.Helper()
	r, err := b.Write(context.Background(), root, path, data)
	if err != nil {
		t.Fatalf("vault write %s: %v", path, err)
	}
	return r
}

func loginClient(t *testing.T, b secrets.Backend, login secrets.LoginMethod) *secrets.Client {
	t.Helper()
	c, err := secrets.New(context.Background(), secrets.Config{Backend: b, Login: login, StartupAttempts: 2,
		RetryBase: 10 * time.Millisecond, RetryCap: 50 * time.Millisecond, Posture: &paved.Posture{}, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("secrets.New with %s: %v", login.Method(), err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// TestVaultJWTLogin: Vault's jwt auth method trusts authtest as the
// issuer; the JWT file is re-read at every login.
func TestVaultJWTLogin(t *testing.T) {
	v := testenv.RequireVault(t)
	b, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: v.Addr, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	idp := authtest.NewServer(t, authtest.Config{})
	m := "jwt-" + randID(3)
	adminWrite(t, b, v.Token, "sys/auth/"+m, map[string]any{"type": "jwt"})
	adminWrite(t, b, v.Token, "auth/"+m+"/config", map[string]any{"oidc_discovery_url": idp.Issuer(), "oidc_discovery_ca_pem": string(idp.CACertPEM()), "bound_issuer": idp.Issuer()})
	adminWrite(t, b, v.Token, "auth/"+m+"/role/app", map[string]any{"role_type": "jwt", "bound_audiences": []string{idp.Audience()},
		"user_claim": "sub", "token_policies": []string{"default"}, "token_ttl": "1h"})
	file := writeFile(t, idp.Mint(map[string]any{"sub": "workload-1"}))
	c := loginClient(t, b, secrets.JWTLogin{Mount: m, Role: "app", TokenFile: file})
	first := c.TokenAccessor()
	// A token for another audience is refused...
	if err := os.WriteFile(file, []byte(idp.Mint(map[string]any{"aud": "someone-else"})), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Login(context.Background()); err == nil {
		t.Fatal("Vault accepted a JWT for another audience")
	}
	// ...and a fresh one is read from the file at the next login.
	if err := os.WriteFile(file, []byte(idp.Mint(map[string]any{"sub": "workload-1"})), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Login(context.Background()); err != nil {
		t.Fatalf("re-login: %v", err)
	}
	if c.TokenAccessor() == first {
		t.Fatal("re-login kept the token")
	}
}

// TestVaultKubernetesLogin: no cluster exists here, so Vault's kubernetes
// auth method is pointed at a stand-in TokenReview endpoint this test
// serves; the service account token file is re-read at every login.
func TestVaultKubernetesLogin(t *testing.T) {
	v := testenv.RequireVault(t)
	b, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: v.Addr, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	review := testenv.NewTokenReview(t, "default", "app")
	m := "k8s-" + randID(3)
	adminWrite(t, b, v.Token, "sys/auth/"+m, map[string]any{"type": "kubernetes"})
	adminWrite(t, b, v.Token, "auth/"+m+"/config", map[string]any{"kubernetes_host": review.URL(), "kubernetes_ca_cert": review.CAPEM(),
		"token_reviewer_jwt": testenv.TokenReviewerJWT, "disable_local_ca_jwt": true})
	adminWrite(t, b, v.Token, "auth/"+m+"/role/app", map[string]any{"bound_service_account_names": []string{"app"},
		"bound_service_account_namespaces": []string{"default"}, "token_policies": []string{"default"}, "token_ttl": "1h"})
	file := writeFile(t, review.ServiceAccountToken())
	c := loginClient(t, b, secrets.KubernetesLogin{Mount: m, Role: "app", TokenFile: file})
	first := c.TokenAccessor()
	// The kubelet rotates the projected token: the next login reads the new one.
	next := review.ServiceAccountToken()
	if err := os.WriteFile(file, []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	review.AcceptOnly(next)
	if err := c.Login(context.Background()); err != nil {
		t.Fatalf("re-login with the rotated token: %v", err)
	}
	if c.TokenAccessor() == first {
		t.Fatal("re-login kept the token")
	}
	if n := review.Reviews(); n < 2 {
		t.Fatalf("%d token reviews; want one per login", n)
	}
}

// TestVaultCertLogin: a Vault this test starts serves TLS (-dev-tls); the
// client trusts only its CA and logs in with a client certificate.
func TestVaultCertLogin(t *testing.T) {
	v := startVault(t, t.TempDir())
	caPEM, err := os.ReadFile(v.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	admin, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: v.addr, TLS: &tls.Config{RootCAs: pool}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	clientCA, clientCert := clientCertificate(t)
	adminWrite(t, admin, v.root, "sys/auth/cert", map[string]any{"type": "cert"})
	adminWrite(t, admin, v.root, "auth/cert/certs/app", map[string]any{"certificate": string(clientCA), "token_policies": []string{"default"}, "token_ttl": "1h"})

	b, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: v.addr, TLS: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}}})
	if err != nil {
		t.Fatal(err)
	}
	c := loginClient(t, b, secrets.CertLogin{Name: "app"})
	if c.TokenAccessor() == "" {
		t.Fatal("no token after a certificate login")
	}
	// Without the certificate the login is refused.
	_, err = secrets.New(context.Background(), secrets.Config{Backend: admin, Login: secrets.CertLogin{}, StartupAttempts: 1, Posture: &paved.Posture{}, Logger: quietLogger()})
	if err == nil {
		t.Fatal("a certificate login without a certificate succeeded")
	}
	// A client that does not trust Vault's CA cannot connect at all.
	plain, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: v.addr})
	if err != nil {
		t.Fatal(err)
	}
	_, err = secrets.New(context.Background(), secrets.Config{Backend: plain, Login: secrets.CertLogin{}, StartupAttempts: 1, Posture: &paved.Posture{}, Logger: quietLogger()})
	if err == nil {
		t.Fatal("connected to Vault without trusting its CA")
	}
}

// clientCertificate returns a CA certificate (PEM) and a client
// certificate it signed.
func clientCertificate(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test client CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "app"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// approleAPI is an api.AuthMethod written as the api/auth/approle module
// does it, to show APIAuthLogin running one.
type approleAPI struct{ mount, roleID, secretID string }

func (a approleAPI) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	if c.Token() != "" {
		return nil, fmt.Errorf("the login client carries a token")
	}
	return c.Logical().WriteWithContext(ctx, "auth/"+a.mount+"/login", map[string]any{"role_id": a.roleID, "secret_id": a.secretID})
}

func TestVaultAPIAuthLogin(t *testing.T) {
	b, env := integrationVault(t)
	roleID, mint := env.AppRole(t, env.Prefix+"-apiauth", "secret/")
	un, err := b.Write(context.Background(), mint(), "sys/wrapping/unwrap", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := approleAPI{mount: env.Prefix + "-apiauth", roleID: roleID, secretID: un.Data["secret_id"].(string)}
	c := loginClient(t, b, secrets.APIAuthLogin{Auth: m, Name: "approle"})
	if c.TokenAccessor() == "" {
		t.Fatal("no token")
	}
	// Over the fake, the adapter says what it needs.
	f := secretstest.New()
	_, err = secrets.New(context.Background(), secrets.Config{Backend: f, Login: secrets.APIAuthLogin{Auth: m}, Posture: &paved.Posture{}, Logger: quietLogger()})
	if !errors.Is(err, secrets.ErrLogin) {
		t.Fatalf("APIAuthLogin over the fake = %v; want ErrLogin", err)
	}
}
