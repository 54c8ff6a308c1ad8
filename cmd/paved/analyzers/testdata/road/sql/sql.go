package sql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
)

func queries(ctx context.Context, db *sql.DB, conn *pgx.Conn, tx pgx.Tx, name, table string) {
	_, _ = db.Query("SELECT * FROM users WHERE name = '" + name + "'") // want `PAV106: SQL text built by concatenation reaches Query`
	q := fmt.Sprintf("DELETE FROM %s", table)
	_, _ = db.ExecContext(ctx, q)                               // want `PAV106: SQL text built by fmt.Sprintf reaches ExecContext`
	_, _ = conn.Exec(ctx, "UPDATE t SET a = 1 WHERE b = "+name) // want `PAV106: SQL text built by concatenation reaches Exec`
	_, _ = tx.Exec(ctx, fmt.Sprintf("DROP TABLE %s", table))    // want `PAV106: SQL text built by fmt.Sprintf reaches Exec`
	_, _ = db.Query("SELECT * FROM users WHERE name = $1", name)
	_, _ = conn.Query(ctx, "SELECT * FROM users "+"WHERE id = $1", 1) // constant concatenation
	base := "SELECT 1"
	_, _ = db.Query(base)
	const limit = 10
	_, _ = db.Query(fmt.Sprintf("SELECT * FROM users LIMIT %d", limit)) // constant arguments: gosec's G201 passes it too
}
