package pgxsecrets

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// TestGenerationSwap: calls never land on a retired generation, retire
// waits for calls in flight, and no caller blocks during a swap.
func TestGenerationSwap(t *testing.T) {
	lazy := func() *pgxpool.Pool {
		p, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	var p Pool
	p.cur.Store(newGeneration(lazy(), "u0"))
	stop := make(chan struct{})
	var inRetired, calls atomic.Int64
	var inflight sync.Map // *generation → *atomic.Int64: calls between enter and leave
	counter := func(g *generation) *atomic.Int64 {
		v, _ := inflight.LoadOrStore(g, new(atomic.Int64))
		return v.(*atomic.Int64)
	}
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
				g, err := p.enter()
				if err != nil {
					t.Error(err)
					return
				}
				c := counter(g)
				c.Add(1)
				if g.pool == nil {
					inRetired.Add(1)
				}
				calls.Add(1)
				c.Add(-1)
				g.leave()
			}
		}()
	}
	for i := range 20 {
		g := newGeneration(lazy(), "u")
		old := p.cur.Swap(g)
		old.retire(time.Minute)
		if n := counter(old).Load(); n != 0 {
			close(stop)
			wg.Wait()
			t.Fatalf("swap %d: %d calls still on the pool after its retirement", i, n)
		}
	}
	close(stop)
	wg.Wait()
	if inRetired.Load() != 0 {
		t.Fatalf("%d calls ran on a retired generation", inRetired.Load())
	}
	if calls.Load() == 0 {
		t.Fatal("no calls ran")
	}
	p.cur.Load().retire(time.Second)
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg    Config
		fields []string
	}{
		{Config{}, []string{"Config.ConnString", "Config.Dynamic.Path"}},
		{Config{ConnString: "postgres://u:pw@h/db", Dynamic: dynPath("database/creds/app")}, []string{"Config.ConnString"}},
		{Config{ConnString: "postgres://h/db", Dynamic: dynPath("database/creds/app"), DrainTimeout: -1}, []string{"Config.DrainTimeout"}},
		{Config{ConnString: "postgres://h/db", Dynamic: dynPath("database/creds/app")}, nil},
	} {
		_, err := tc.cfg.validate()
		got := configFields(err)
		if len(got) != len(tc.fields) {
			t.Errorf("%+v: fields %v, want %v (%v)", tc.cfg, got, tc.fields, err)
			continue
		}
		for i := range got {
			if got[i] != tc.fields[i] {
				t.Errorf("%+v: fields %v, want %v", tc.cfg, got, tc.fields)
			}
		}
	}
}
