package secrets_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/secrets"
)

// TestVaultTransportRefusals: the transport to Vault is held to the same
// rules whatever way it is configured: no plain http off loopback without
// AllowPlainHTTP (also for a Backend over the caller's api.Client), and
// no skipped certificate verification (Vault.TLS or VAULT_SKIP_VERIFY).
func TestVaultTransportRefusals(t *testing.T) {
	apiBackend := func(t *testing.T, addr string, insecure bool) secrets.Backend {
		t.Helper()
		ac := api.DefaultConfig()
		ac.Address = addr
		if insecure {
			if err := ac.ConfigureTLS(&api.TLSConfig{Insecure: true}); err != nil {
				t.Fatal(err)
			}
		}
		c, err := api.NewClient(ac)
		if err != nil {
			t.Fatal(err)
		}
		return secrets.VaultBackend(c)
	}
	cases := []struct {
		name  string
		env   string // VAULT_SKIP_VERIFY
		cfg   func(t *testing.T) secrets.Config
		field string // "" = accepted
	}{
		{"insecure TLS config", "", func(*testing.T) secrets.Config {
			return secrets.Config{Vault: secrets.VaultConfig{Address: "https://vault.example.com:8200", TLS: &tls.Config{InsecureSkipVerify: true}}}
		}, "Config.Vault.TLS"},
		{"VAULT_SKIP_VERIFY", "true", func(*testing.T) secrets.Config {
			return secrets.Config{Vault: secrets.VaultConfig{Address: "https://vault.example.com:8200"}}
		}, "Config.Vault.TLS"},
		{"api client, plain http remote", "", func(t *testing.T) secrets.Config {
			return secrets.Config{Backend: apiBackend(t, "http://vault.example.com:8200", false)}
		}, "Config.Backend"},
		{"api client, skip verify", "", func(t *testing.T) secrets.Config {
			return secrets.Config{Backend: apiBackend(t, "https://vault.example.com:8200", true)}
		}, "Config.Backend"},
		{"api client, plain http remote with opt-out", "", func(t *testing.T) secrets.Config {
			return secrets.Config{Backend: apiBackend(t, "http://vault.example.com:8200", false),
				OptOuts: []paved.OptOut{secrets.AllowPlainHTTP("TLS ends at the sidecar")}}
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("VAULT_SKIP_VERIFY", tc.env)
			cfg := tc.cfg(t)
			cfg.Login, cfg.Posture, cfg.Logger, cfg.StartupAttempts = secrets.CertLogin{}, &paved.Posture{}, quietLogger(), 1
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // an accepted configuration stops at its first login
			_, err := secrets.New(ctx, cfg)
			ces := paved.ConfigErrors(err)
			if tc.field == "" {
				if len(ces) != 0 || err == nil {
					t.Fatalf("New = %v; want no ConfigError, a failed start-up", err)
				}
				return
			}
			if len(ces) != 1 || ces[0].Field != tc.field {
				t.Fatalf("New = %v; want one ConfigError on %s", err, tc.field)
			}
		})
	}
	t.Run("NewVaultBackend", func(t *testing.T) {
		t.Setenv("VAULT_SKIP_VERIFY", "1")
		if _, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: "https://vault.example.com:8200"}); err == nil {
			t.Fatal("NewVaultBackend accepted VAULT_SKIP_VERIFY")
		}
	})
}

// TestVaultTLSFloor: the connection to Vault offers paved's TLS 1.2
// suites (httpx's) and HTTP/2, also with the caller's own tls.Config.
func TestVaultTLSFloor(t *testing.T) {
	want := httpx.TLSConfig(nil, nil, 0).CipherSuites
	for _, tc := range []struct {
		name string
		tls  *tls.Config
	}{{"default", nil}, {"caller's", &tls.Config{MinVersion: tls.VersionTLS10}}} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: "https://vault.example.com:8200", TLS: tc.tls})
			if err != nil {
				t.Fatal(err)
			}
			tr := secrets.APIClient(b).CloneConfig().HttpClient.Transport.(*http.Transport)
			c := tr.TLSClientConfig
			if c.MinVersion != tls.VersionTLS12 || !slices.Equal(c.CipherSuites, want) || !slices.Contains(c.NextProtos, "h2") {
				t.Fatalf("TLS config: min %x, suites %v, ALPN %v; want 1.2, %v, h2", c.MinVersion, c.CipherSuites, c.NextProtos, want)
			}
		})
	}
}

// TestVaultIdleConnsFollowInjectConcurrency: the client keeps as many idle
// connections to Vault as Inject reads at once, so that its concurrent
// reads reuse them rather than dial anew (net/http keeps 2 by default).
func TestVaultIdleConnsFollowInjectConcurrency(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"ttl":0,"renewable":false,"accessor":"acc"}}`))
	}))
	defer srv.Close()
	c, err := secrets.New(context.Background(), secrets.Config{Vault: secrets.VaultConfig{Address: srv.URL}, InjectConcurrency: 64,
		Login: secrets.TokenLogin{Token: secrets.NewSecret("t")}, OptOuts: []paved.OptOut{secrets.AllowStaticToken("test")},
		Posture: &paved.Posture{}, Logger: quietLogger(), Events: paved.NopSink{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	tr := secrets.APIClient(c.Backend()).CloneConfig().HttpClient.Transport.(*http.Transport)
	if tr.MaxIdleConnsPerHost != 64 {
		t.Fatalf("MaxIdleConnsPerHost = %d; want 64 (InjectConcurrency)", tr.MaxIdleConnsPerHost)
	}
}
