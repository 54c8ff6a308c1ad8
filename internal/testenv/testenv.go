// Package testenv finds the real services of the integration run.
//
// The integration run (make test) starts Vault, Redis and PostgreSQL on
// loopback and exports where they are. Tests call the helpers here: when
// PAVED_INTEGRATION=1 a missing service fails the test with a message that
// says what is missing; otherwise the test is skipped as a unit-only run.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// EnvIntegration is the variable that turns the integration run on.
const EnvIntegration = "PAVED_INTEGRATION"

// Integration reports whether this is the integration run.
func Integration() bool {
	v := strings.TrimSpace(os.Getenv(EnvIntegration))
	return v == "1" || strings.EqualFold(v, "true")
}

var noticeOnce sync.Once

// Require returns the values of the named environment variables. In the
// integration run a missing one fails t at once; in a unit-only run t is
// skipped with a message saying how to run it.
func Require(t testing.TB, names ...string) map[string]string {
	t.Helper()
	vals := make(map[string]string, len(names))
	var missing []string
	for _, n := range names {
		v := strings.TrimSpace(os.Getenv(n))
		if v == "" {
			missing = append(missing, n)
		}
		vals[n] = v
	}
	if !Integration() {
		noticeOnce.Do(func() {
			_, _ = os.Stderr.WriteString("testenv: unit tests only; real-services tests skipped (run `make test`, which sets " + EnvIntegration + "=1)\n")
		})
		t.Skipf("unit run: needs the integration run (%s=1, started by make test)", EnvIntegration)
	}
	if len(missing) > 0 {
		t.Fatalf("integration run (%s=1) but %s not set: start the services with scripts/services.sh start and source the env file it prints", EnvIntegration, strings.Join(missing, ", "))
	}
	return vals
}

// Vault holds the address and root token of the integration Vault.
type Vault struct{ Addr, Token string }

// RequireVault returns the integration Vault (VAULT_ADDR, VAULT_TOKEN).
func RequireVault(t testing.TB) Vault {
	t.Helper()
	v := Require(t, "VAULT_ADDR", "VAULT_TOKEN")
	return Vault{Addr: v["VAULT_ADDR"], Token: v["VAULT_TOKEN"]}
}

// RequireRedis returns the integration Redis address (REDIS_ADDR, host:port).
func RequireRedis(t testing.TB) string {
	t.Helper()
	return Require(t, "REDIS_ADDR")["REDIS_ADDR"]
}

// RequirePostgres returns the integration PostgreSQL URL (DATABASE_URL).
func RequirePostgres(t testing.TB) string {
	t.Helper()
	return Require(t, "DATABASE_URL")["DATABASE_URL"]
}

// OIDC describes the OpenID provider the harness configured in Vault.
type OIDC struct {
	// Issuer is the provider's issuer URL (discovery at
	// Issuer + "/.well-known/openid-configuration").
	Issuer string
	// ClientID and ClientSecret identify the confidential test client,
	// whose redirect URI is RedirectURI.
	ClientID, ClientSecret, RedirectURI string
	// Username and Password log in a Vault userpass user linked to an
	// entity, for the authorization-code flow.
	Username, Password string
	// UserpassMount is the userpass auth mount path, e.g. "userpass".
	UserpassMount string
	// TokenRole is an identity/oidc role whose tokens (read from
	// identity/oidc/token/<TokenRole>) serve as bearer tokens; their issuer
	// is TokenIssuer and audience TokenAudience.
	TokenRole, TokenIssuer, TokenAudience string
}

// RequireOIDC returns the Vault OpenID provider set up by the harness.
func RequireOIDC(t testing.TB) OIDC {
	t.Helper()
	v := Require(t, "PAVED_OIDC_ISSUER", "PAVED_OIDC_CLIENT_ID", "PAVED_OIDC_CLIENT_SECRET",
		"PAVED_OIDC_REDIRECT_URI", "PAVED_OIDC_USERNAME", "PAVED_OIDC_PASSWORD", "PAVED_OIDC_USERPASS_MOUNT",
		"PAVED_OIDC_TOKEN_ROLE", "PAVED_OIDC_TOKEN_ISSUER", "PAVED_OIDC_TOKEN_AUDIENCE")
	return OIDC{
		Issuer: v["PAVED_OIDC_ISSUER"], ClientID: v["PAVED_OIDC_CLIENT_ID"], ClientSecret: v["PAVED_OIDC_CLIENT_SECRET"],
		RedirectURI: v["PAVED_OIDC_REDIRECT_URI"], Username: v["PAVED_OIDC_USERNAME"], Password: v["PAVED_OIDC_PASSWORD"],
		UserpassMount: v["PAVED_OIDC_USERPASS_MOUNT"], TokenRole: v["PAVED_OIDC_TOKEN_ROLE"],
		TokenIssuer: v["PAVED_OIDC_TOKEN_ISSUER"], TokenAudience: v["PAVED_OIDC_TOKEN_AUDIENCE"],
	}
}

// RequireTool returns the path of the first of the named programs found in
// PATH. In the integration run a missing program fails t (the harness
// installs it); in a unit-only run t is skipped.
func RequireTool(t testing.TB, names ...string) string {
	t.Helper()
	if !Integration() {
		t.Skipf("unit run: needs the integration run (%s=1) and one of %v", EnvIntegration, names)
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("integration run (%s=1) but none of %v is installed: scripts/services.sh install adds it", EnvIntegration, names)
	return ""
}

// SilentListener starts a loopback TCP listener that accepts connections
// and never answers, as a server that is stopped (SIGSTOP), swapping or cut
// off by a partition does, and returns its host:port. Everything closes at
// the end of the test.
func SilentListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}
