package pgxsecrets_test

import (
	"context"
	"log"
	"net/http"

	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/pgxsecrets"
)

// A pool whose credentials come from Vault's database engine and rotate
// without dropping requests. (Not run: it needs Vault and PostgreSQL.)
func Example() {
	ctx := context.Background()
	c, err := secrets.New(ctx, secrets.Config{Login: secrets.AppRoleLogin{RoleID: "app", SecretIDFile: "/run/secrets/secret-id", Wrapped: true}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)
	db, err := pgxsecrets.New(ctx, c, pgxsecrets.Config{
		ConnString: "postgres://db.internal:5432/app?sslmode=verify-full",
		Dynamic:    secrets.DynamicConfig{Path: "database/creds/app"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close(ctx)
	http.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		var status string
		if err := db.QueryRow(r.Context(), "SELECT status FROM orders WHERE id = $1", r.PathValue("id")).Scan(&status); err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte(status))
	})
}
