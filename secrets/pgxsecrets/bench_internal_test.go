package pgxsecrets

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func lazyPool(b *testing.B) *pgxpool.Pool {
	p, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkEnter is picking the pool in use for a call, at rest.
func BenchmarkEnter(b *testing.B) {
	var p Pool
	p.cur.Store(newGeneration(lazyPool(b), "u"))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g, err := p.enter()
			if err != nil {
				b.Error(err)
				return
			}
			g.leave()
		}
	})
}

// BenchmarkEnterDuringSwaps picks the pool while a goroutine swaps in a
// new one and retires the old one as fast as it can: no call waits.
func BenchmarkEnterDuringSwaps(b *testing.B) {
	var p Pool
	p.cur.Store(newGeneration(lazyPool(b), "u"))
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		defer func() { done <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			old := p.cur.Swap(newGeneration(lazyPool(b), "u"))
			old.retire(time.Minute)
			n++
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g, err := p.enter()
			if err != nil {
				b.Error(err)
				return
			}
			g.leave()
		}
	})
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(<-done), "swaps")
	p.cur.Load().retire(time.Second)
}
