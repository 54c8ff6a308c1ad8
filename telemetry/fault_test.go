package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/internal/testenv"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// unreachable returns a loopback address nothing listens on.
func unreachable(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestCollectorDownNeverBlocks serves a burst of requests while the
// collector is unreachable or slow: no request waits on the exporter, the
// bounded span queue drops what it cannot hold and counts it
// (otel.sdk.processor.span.processed with error.type=queue_full), and
// Shutdown, under load, returns by its deadline.
func TestCollectorDownNeverBlocks(t *testing.T) {
	for name, addr := range map[string]func(*testing.T) string{"unreachable": unreachable, "slow": func(t *testing.T) string { return testenv.SilentListener(t) }} {
		for _, proto := range []string{ProtocolGRPC, ProtocolHTTP} {
			t.Run(name+"/"+proto, func(t *testing.T) {
				t.Setenv("OTEL_GO_X_OBSERVABILITY", "true")
				prev := otel.GetMeterProvider()
				t.Cleanup(func() { otel.SetMeterProvider(prev) })
				reader := sdkmetric.NewManualReader()
				tel, err := Setup(context.Background(), Config{
					Getenv: noEnv, Logger: quiet(), Posture: &paved.Posture{}, LeaveDefaultSink: true,
					Exporter: ExporterOTLP, OTLP: OTLPConfig{Endpoint: "http://" + addr(t), Protocol: proto, Timeout: 5 * time.Second},
					QueueSize: 16, ShutdownTimeout: 500 * time.Millisecond, MetricReaders: []sdkmetric.Reader{reader},
				})
				if err != nil {
					t.Fatal(err)
				}
				h := tel.Middleware(testMux())
				const n = 2000
				start := time.Now()
				var slowest atomic.Int64
				var wg sync.WaitGroup
				for w := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range n / 4 {
							t0 := time.Now()
							serve(h, "GET", fmt.Sprintf("/orders/%d-%d", w, i), nil)
							if d := int64(time.Since(t0)); d > slowest.Load() {
								slowest.Store(d)
							}
						}
					}()
				}
				wg.Wait()
				// One request waiting on a 5s export would show; the
				// bound is loose so that a loaded machine does not fail it.
				if d := time.Duration(slowest.Load()); d > 2*time.Second {
					t.Errorf("slowest request took %v: a request waited on the exporter", d)
				}
				var rm = collectFrom(t, reader)
				dropped := points(t, rm, "otel.sdk.processor.span.processed")
				var full float64
				for k, v := range dropped {
					if strings.Contains(k, "queue_full") {
						full += v
					}
				}
				if full < n/2 {
					t.Errorf("queue_full count = %v (points %v), want most of %d spans dropped and counted", full, dropped, n)
				}

				// Shutdown under load honours its deadline.
				stop := make(chan struct{})
				var load sync.WaitGroup
				load.Add(1)
				go func() {
					defer load.Done()
					for {
						select {
						case <-stop:
							return
						default:
							serve(h, "GET", "/orders/x", nil)
						}
					}
				}()
				t0 := time.Now()
				err = tel.Shutdown(context.Background())
				took := time.Since(t0)
				close(stop)
				load.Wait()
				if took > 2*time.Second {
					t.Errorf("Shutdown took %v, deadline 500ms", took)
				}
				if name == "slow" && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Shutdown past its deadline returned %v, want context.DeadlineExceeded", err)
				}
				t.Logf("%d requests in %v; slowest %v; dropped %v; shutdown %v (%v)", n, time.Since(start), time.Duration(slowest.Load()), full, took, err)
			})
		}
	}
}

func collectFrom(t *testing.T, r *sdkmetric.ManualReader) (rm metricdataResourceMetrics) {
	t.Helper()
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}
