package secrets_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/internal/testenv"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// vaultEngineTarget is the integration Vault as a conformance target: a
// Client logged in with the root token, the root token as admin, the
// harness's PostgreSQL behind a database connection of the test's own.
func vaultEngineTarget(t *testing.T, name string) secretstest.EngineTarget {
	t.Helper()
	v := testenv.RequireVault(t)
	dbURL := testenv.RequirePostgres(t)
	b, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: v.Addr})
	if err != nil {
		t.Fatal(err)
	}
	c, err := secrets.New(context.Background(), secrets.Config{
		Backend: b, Login: secrets.TokenLogin{Token: secrets.NewSecret(v.Token)},
		OptOuts: []paved.OptOut{secrets.AllowStaticToken("integration test with the dev server's root token")},
		Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := u.User.Password()
	tmpl := *u
	tmpl.User = nil
	conn := "postgresql://{{username}}:{{password}}@" + u.Host + u.Path + "?" + u.RawQuery
	return secretstest.EngineTarget{
		Client: c, Admin: b, AdminToken: v.Token, Name: name,
		Database: map[string]any{"plugin_name": "postgresql-database-plugin", "connection_url": conn,
			"username": u.User.Username(), "password": pass},
		DBLogin: func(ctx context.Context, user, password string) error {
			cu := tmpl
			cu.User = url.UserPassword(user, password)
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			pc, err := pgx.Connect(ctx, cu.String())
			if err != nil {
				return err
			}
			defer pc.Close(context.Background())
			var one int
			return pc.QueryRow(ctx, "SELECT 1").Scan(&one)
		},
		Sleep: time.Sleep,
	}
}

func TestEngineConformanceVault(t *testing.T) {
	tgt := vaultEngineTarget(t, fmt.Sprintf("paved-dyn-%d", time.Now().UnixNano()%1e9))
	secretstest.RunEngineConformance(t, tgt)
}
