package pgxsecrets

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pavedroad/paved/internal/testenv"
)

// TestRetireBounded: a call in flight that outlives the drain timeout, with
// its connection held, delays the retirement by the timeout only: retire
// returns, the pool closes once the connection is released.
func TestRetireBounded(t *testing.T) {
	dbURL := testenv.RequirePostgres(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		t.Fatal(err)
	}
	g := newGeneration(pool, "u")
	if !g.enter() { // the call in flight
		t.Fatal("enter on a fresh generation")
	}
	release := time.AfterFunc(20*time.Second, func() { conn.Release(); g.leave() })
	defer func() {
		if release.Stop() {
			conn.Release()
			g.leave()
		}
	}()
	start := time.Now()
	done := make(chan struct{})
	go func() { g.retire(500 * time.Millisecond); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("retire(500ms) still waiting after 10s for a held connection")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("retire(500ms) took %s", d)
	}
}
