package telemetry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/internal/testenv"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// TestShutdownHonoursContextDeadline shuts down, with spans queued for a
// collector that never answers, under a context whose deadline is well
// before Config.ShutdownTimeout: Shutdown returns by the context's
// deadline, not the timeout's.
func TestShutdownHonoursContextDeadline(t *testing.T) {
	tel, err := Setup(context.Background(), Config{Getenv: noEnv, Logger: quiet(), Posture: &paved.Posture{}, LeaveGlobals: true, LeaveDefaultSink: true,
		Exporter: ExporterOTLP, OTLP: OTLPConfig{Endpoint: "http://" + testenv.SilentListener(t), Protocol: ProtocolGRPC, Timeout: 30 * time.Second},
		ShutdownTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := tel.Middleware(testMux())
	for range 50 {
		serve(h, "GET", "/orders/1", nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	err = tel.Shutdown(ctx)
	if took := time.Since(t0); took > 3*time.Second {
		t.Errorf("Shutdown took %v; its context's deadline was 300ms", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown past its deadline returned %v, want context.DeadlineExceeded", err)
	}
}

// recordingSink is a sink that counts what it is given.
type recordingSink struct{ n int }

func (s *recordingSink) Enabled(context.Context, paved.EventType) bool { return true }
func (s *recordingSink) Emit(context.Context, paved.Event)             { s.n++ }

// TestShutdownRestoresALiveSink sets up twice, each Setup installing itself
// as paved's default sink, and shuts both down in the order they started:
// the default sink ends as the one before both, never a Telemetry already
// shut down, and a shut-down Telemetry wants no events.
func TestShutdownRestoresALiveSink(t *testing.T) {
	before := &recordingSink{}
	paved.SetDefaultSink(before)
	t.Cleanup(func() { paved.SetDefaultSink(nil) })
	setup := func() *Telemetry {
		tel, err := Setup(context.Background(), Config{Getenv: noEnv, Logger: quiet(), Posture: &paved.Posture{}, LeaveGlobals: true,
			MetricReaders: []sdkmetric.Reader{sdkmetric.NewManualReader()}})
		if err != nil {
			t.Fatal(err)
		}
		return tel
	}
	for _, order := range []string{"first-first", "last-first"} {
		t.Run(order, func(t *testing.T) {
			t1 := setup()
			t2 := setup()
			if got := paved.DefaultSink(); got != paved.Sink(t2) {
				t.Fatalf("default sink after the second Setup = %T %p, want the second Telemetry", got, got)
			}
			first, second := t1, t2
			if order == "last-first" {
				first, second = t2, t1
			}
			_ = first.Shutdown(context.Background())
			if first.Enabled(context.Background(), paved.EventAuthnFailure) {
				t.Error("a shut-down Telemetry still wants events")
			}
			_ = second.Shutdown(context.Background())
			if got := paved.DefaultSink(); got != paved.Sink(before) {
				t.Errorf("default sink after both Shutdowns = %T %p, want the sink from before Setup", got, got)
			}
			n := before.n
			paved.Emit(context.Background(), nil, paved.Event{Type: paved.EventAuthnFailure, Outcome: paved.OutcomeFailure, Reason: "expired"})
			if before.n != n+1 {
				t.Error("an event after both Shutdowns did not reach the sink from before Setup")
			}
		})
	}
}
