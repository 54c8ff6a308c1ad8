package secrets_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

var sinkLen int

// BenchmarkLeaseAtomicPointerLoad is the floor the hot paths below compare
// with, read in parallel as they are.
func BenchmarkLeaseAtomicPointerLoad(b *testing.B) {
	var p atomic.Pointer[string]
	s := "password"
	p.Store(&s)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			n += len(*p.Load())
		}
		sinkLen = n
	})
}

func benchDynamic(b *testing.B) (*secrets.Dynamic, *secrets.TokenOps) {
	b.Helper()
	clock := secretstest.NewClock(time.Time{})
	e := secretstest.NewEngines(clock)
	be := &engineBackend{e: e}
	ops := secrets.NewTokenOps(be, "token-1")
	d, err := ops.Dynamic(context.Background(), secrets.DynamicConfig{Path: "database/creds/app", Clock: clock,
		Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler), Events: paved.NopSink{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close(context.Background()) })
	return d, ops
}

// BenchmarkDynamicCurrent reads the current credential: the hot path.
func BenchmarkDynamicCurrent(b *testing.B) {
	d, _ := benchDynamic(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			n += len(d.Current().Reveal("password"))
		}
		sinkLen = n
	})
}

// BenchmarkDynamicCurrentDuringRotations reads while a goroutine rotates
// the lease as fast as it can (each re-login fetches a fresh lease and
// revokes the old one): readers are never blocked by a rotation.
func BenchmarkDynamicCurrentDuringRotations(b *testing.B) {
	d, ops := benchDynamic(b)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var rotations int
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			before := d.Current()
			ops.Relogin("token-1")
			for d.Current() == before {
				select {
				case <-stop:
					return
				default:
					time.Sleep(10 * time.Microsecond)
				}
			}
			rotations++
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			n += len(d.Current().Reveal("password"))
		}
		sinkLen = n
	})
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(rotations), "rotations")
}

// benchPKI issues from a fake CA on a fake clock; the source runs on the
// system clock (what production pays at each handshake) unless rotating
// asks for the fake one, to be pushed past each 2/3 mark.
func benchPKI(b *testing.B, rotating bool) (*secrets.PKI, *secretstest.Clock) {
	b.Helper()
	clock := secretstest.NewClock(time.Now())
	e := secretstest.NewEngines(clock)
	ops := secrets.NewTokenOps(&engineBackend{e: e}, "root")
	var sourceClock secrets.Clock = secrets.SystemClock{}
	if rotating {
		sourceClock = clock
	}
	p, err := ops.PKI(context.Background(), secrets.PKIConfig{Role: "localhost", CommonName: "localhost", TTL: time.Hour, Clock: sourceClock,
		Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler), Events: paved.NopSink{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	return p, clock
}

// BenchmarkPKIGetCertificate is httpx's per-handshake call.
func BenchmarkPKIGetCertificate(b *testing.B) {
	p, _ := benchPKI(b, false)
	hello := &tls.ClientHelloInfo{ServerName: "localhost"}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.GetCertificate(hello); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPKIGetCertificateDuringRotations calls GetCertificate while the
// clock is pushed past each certificate's 2/3 mark, so the source issues
// and swaps certificates continuously.
func BenchmarkPKIGetCertificateDuringRotations(b *testing.B) {
	p, clock := benchPKI(b, true)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			n := p.Issued()
			clock.Advance(41 * time.Minute) // past 2/3 of a 1h certificate
			for p.Issued() == n {
				select {
				case <-stop:
					return
				default:
					time.Sleep(10 * time.Microsecond)
				}
			}
		}
	}()
	hello := &tls.ClientHelloInfo{ServerName: "localhost"}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.GetCertificate(hello); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(p.Issued()), "issued")
}

// BenchmarkDynamicPassword reads the current password through its own
// field (no map lookup): the database-credential hot path.
func BenchmarkDynamicPassword(b *testing.B) {
	d, _ := benchDynamic(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			n += len(d.Current().Password().Reveal())
		}
		sinkLen = n
	})
}

// BenchmarkDynamicPasswordDuringRotations is BenchmarkDynamicPassword
// while the lease rotates as fast as it can.
func BenchmarkDynamicPasswordDuringRotations(b *testing.B) {
	d, ops := benchDynamic(b)
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		rotations := 0
		defer func() { done <- rotations }()
		for {
			before := d.Current()
			ops.Relogin("token-1")
			for d.Current() == before {
				select {
				case <-stop:
					return
				default:
					time.Sleep(10 * time.Microsecond)
				}
			}
			rotations++
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			n += len(d.Current().Password().Reveal())
		}
		sinkLen = n
	})
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(<-done), "rotations")
}

// BenchmarkDynamicCurrentLoad is Current alone, without reading a field.
func BenchmarkDynamicCurrentLoad(b *testing.B) {
	d, _ := benchDynamic(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			if d.Current() != nil {
				n++
			}
		}
		sinkLen = n
	})
}
