package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// quickstartConfig is filled by secrets.Inject: each tagged field from one
// key of a KV secret. The API key is a secrets.Secret, so /config (and any
// log line) shows it as REDACTED.
type quickstartConfig struct {
	Greeting string         `secret:"secret/quickstart#greeting"`
	APIKey   secrets.Secret `secret:"secret/quickstart#api_key"`
}

// mountSecrets serves /config from secrets injected at start-up, from an
// in-memory secretstest backend, or from the Vault at VAULT_ADDR (with
// VAULT_TOKEN) when it is set; it adds the client's readiness check. In
// Vault it writes secret/quickstart only if it does not exist yet
// (check-and-set 0), so it never overwrites yours.
func mountSecrets(ctx context.Context, srv *httpx.Server, getenv func(string) string, posture *paved.Posture, systems *paved.Registration, logger *slog.Logger) (func(), error) {
	cfg := secrets.Config{
		Name:    "quickstart",
		Posture: posture,
		Logger:  logger,
		OptOuts: []paved.OptOut{secrets.AllowStaticToken("quickstart: a development token, never a deployed service's")},
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	seed := map[string]any{"greeting": "hello from a secret", "api_key": hex.EncodeToString(key)}
	source := "secretstest (in memory)"
	var seedVault func(*secrets.Client) error
	addr := getenv(envVault)
	if addr == "" && getenv("VAULT_TOKEN") != "" {
		return nil, fmt.Errorf("VAULT_TOKEN is set but %s is not: set both to use Vault, or neither for the in-memory stand-in", envVault)
	}
	if addr != "" {
		cfg.Vault = secrets.VaultConfig{Address: addr}
		cfg.Login = secrets.TokenLogin{Token: secrets.NewSecret(getenv("VAULT_TOKEN"))}
		source = "Vault at " + addr
		seedVault = func(c *secrets.Client) error {
			_, err := c.Backend().Write(ctx, getenv("VAULT_TOKEN"), "secret/data/quickstart",
				map[string]any{"data": seed, "options": map[string]any{"cas": 0}})
			if err != nil && !errors.Is(err, secrets.ErrInvalidRequest) { // 400: it exists already
				return fmt.Errorf("seeding secret/quickstart: %w", err)
			}
			return nil
		}
	} else {
		f := secretstest.New()
		f.Put("secret/quickstart", seed)
		cfg.Backend = f
		cfg.Login = secrets.TokenLogin{Token: secrets.NewSecret(f.RootToken())}
	}
	c, err := secrets.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	if seedVault != nil {
		if err := seedVault(c); err != nil {
			_ = c.Close(ctx)
			return nil, err
		}
	}
	if seedVault != nil {
		logger.Info("secrets: Vault ("+envVault+")", "vault", cfg.Vault.Address)
		systems.SetControl("real-secrets", true, "Vault at "+cfg.Vault.Address+" ("+envVault+")")
	} else {
		logger.Info("secrets: in memory (secretstest); set " + envVault + " and VAULT_TOKEN to use Vault")
		systems.SetControl("real-secrets", false, "in memory (secretstest); set "+envVault+" and VAULT_TOKEN to use Vault")
	}
	var conf quickstartConfig
	if err := c.Inject(ctx, &conf); err != nil {
		_ = c.Close(ctx)
		return nil, fmt.Errorf("secrets: %w", err)
	}
	srv.AddCheck("secrets", c)
	srv.HandleFunc("GET /config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"source": source, "greeting": conf.Greeting, "api_key": conf.APIKey})
	})
	return func() { _ = c.Close(context.Background()) }, nil
}
