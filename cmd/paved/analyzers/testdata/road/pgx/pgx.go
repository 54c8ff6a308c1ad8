// Package pgx is a stand-in for github.com/jackc/pgx/v5's query surface.
package pgx

import "context"

type Conn struct{}

func (c *Conn) Exec(ctx context.Context, sql string, args ...any) (int, error)  { return 0, nil }
func (c *Conn) Query(ctx context.Context, sql string, args ...any) (int, error) { return 0, nil }

type Tx interface {
	Exec(ctx context.Context, sql string, args ...any) (int, error)
}
