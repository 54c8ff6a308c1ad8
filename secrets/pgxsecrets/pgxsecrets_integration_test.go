package pgxsecrets_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/internal/backoff"
	"github.com/pavedroad/paved/internal/testenv"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/pgxsecrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// TestRotationKeepsQueriesWorking: credentials from Vault's database engine
// with a 3s lease (max 6s) rotate twice or more while four goroutines
// query without pause; no query fails, and after Close no lease is left.
func TestRotationKeepsQueriesWorking(t *testing.T) {
	v := testenv.RequireVault(t)
	dbURL := testenv.RequirePostgres(t)
	ctx := context.Background()
	b, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: v.Addr})
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("paved-pgx-%d", time.Now().UnixNano()%1e9)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := u.User.Password()
	admin := func(path string, data map[string]any) {
		t.Helper()
		if _, err := b.Write(ctx, v.Token, path, data); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	admin("database/config/"+name, map[string]any{"plugin_name": "postgresql-database-plugin", "allowed_roles": name,
		"connection_url": "postgresql://{{username}}:{{password}}@" + u.Host + u.Path + "?" + u.RawQuery,
		"username":       u.User.Username(), "password": pass})
	admin("database/roles/"+name, map[string]any{"db_name": name, "default_ttl": 3, "max_ttl": 6,
		"creation_statements":   `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT pg_read_all_data TO "{{name}}";`,
		"revocation_statements": `DROP ROLE IF EXISTS "{{name}}";`})
	c, err := secrets.New(ctx, secrets.Config{Backend: b, Login: secrets.TokenLogin{Token: secrets.NewSecret(v.Token)},
		OptOuts: []paved.OptOut{secrets.AllowStaticToken("integration test with the dev server's root token")},
		Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	base := *u
	base.User = nil
	events := &rotations{}
	p, err := pgxsecrets.New(ctx, c, pgxsecrets.Config{
		ConnString: base.String(),
		Dynamic: secrets.DynamicConfig{Path: "database/creds/" + name, Events: events, Posture: &paved.Posture{},
			Retry: backoff.Policy{Base: 200 * time.Millisecond, Cap: 2 * time.Second}},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = p.Close(ctx)
		}
	}()

	var queries, failures atomic.Int64
	var lastErr atomic.Value
	var users sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var user string
				qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := p.QueryRow(qctx, "SELECT current_user").Scan(&user)
				cancel()
				queries.Add(1)
				if err != nil {
					failures.Add(1)
					lastErr.Store(err.Error())
					continue
				}
				users.Store(user, true)
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for events.n.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // queries on the newest pool too
	close(stop)
	wg.Wait()
	if events.n.Load() < 2 {
		t.Fatalf("%d rotations in 30s, want 2", events.n.Load())
	}
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d of %d queries failed across the rotations; last: %v", f, queries.Load(), lastErr.Load())
	}
	distinct := 0
	users.Range(func(any, any) bool { distinct++; return true })
	if distinct < 3 {
		t.Fatalf("queries ran as %d database users, want 3 (two rotations)", distinct)
	}
	if n, err := secretstest.CountLeases(ctx, b, v.Token, "database/creds/"+name); err != nil || n != 1 {
		t.Fatalf("%d leases before Close (%v), want exactly 1", n, err)
	}
	closed = true
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := secretstest.CountLeases(ctx, b, v.Token, "database/creds/"+name); err != nil || n != 0 {
		t.Fatalf("%d leases after Close (%v), want exactly 0", n, err)
	}
	t.Logf("%d queries, %d rotations, %d users, 0 failures", queries.Load(), events.n.Load(), distinct)
}

type rotations struct{ n atomic.Int64 }

func (r *rotations) Enabled(_ context.Context, t paved.EventType) bool {
	return t == paved.EventSecretRotation
}

func (r *rotations) Emit(_ context.Context, e paved.Event) {
	if e.Reason != "issued" {
		r.n.Add(1)
	}
}
