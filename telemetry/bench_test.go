package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// nopWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks measure the instrumentation, not a recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func benchMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("order")) })
	return mux
}

func runHandler(b *testing.B, h http.Handler) {
	b.Helper()
	r := httptest.NewRequest("GET", "/orders/42", nil)
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, r)
		clear(w.h)
	}
}

// BenchmarkHTTP compares, in one run, a handler with no instrumentation,
// with paved's when telemetry is not set up, with otelhttp and with
// paved's, both at 10% parent-based ratio sampling over the same SDK
// (batching into a no-op exporter; metrics into a manual reader).
//
//	go test -run '^$' -bench BenchmarkHTTP -benchtime 1s -count 5 ./telemetry
func BenchmarkHTTP(b *testing.B) {
	b.Run("bare", func(b *testing.B) { runHandler(b, benchMux()) })
	b.Run("paved-not-set-up", func(b *testing.B) {
		tel, err := Setup(context.Background(), Config{Getenv: noEnv, Logger: quiet(), Posture: &paved.Posture{}, LeaveGlobals: true, LeaveDefaultSink: true})
		if err != nil {
			b.Fatal(err)
		}
		defer tel.Shutdown(context.Background())
		runHandler(b, tel.Middleware(benchMux()))
	})
	b.Run("otelhttp-10pct", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))),
			sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		defer tp.Shutdown(context.Background())
		defer mp.Shutdown(context.Background())
		runHandler(b, otelhttp.NewHandler(benchMux(), "server", otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp)))
	})
	for _, sizes := range []bool{false, true} {
		name := "paved-10pct"
		if sizes {
			name += "-bodysizes" // the same measurements as otelhttp's
		}
		b.Run(name, func(b *testing.B) {
			tel, err := Setup(context.Background(), Config{Getenv: noEnv, Logger: quiet(), Posture: &paved.Posture{}, LeaveGlobals: true, LeaveDefaultSink: true,
				SampleRatio: 0.1, MetricReaders: []sdkmetric.Reader{sdkmetric.NewManualReader()}, hooks: &testHooks{spans: tracetest.NewNoopExporter()},
				HTTP: HTTPConfig{BodySizes: sizes}})
			if err != nil {
				b.Fatal(err)
			}
			defer tel.Shutdown(context.Background())
			runHandler(b, tel.Middleware(benchMux()))
		})
	}
}

// BenchmarkEmit measures a security event on its way to the metrics
// pipeline: 0 allocations once the attribute set is known.
//
//	go test -run '^$' -bench BenchmarkEmit -benchtime 1s ./telemetry
func BenchmarkEmit(b *testing.B) {
	tel, err := Setup(context.Background(), Config{Getenv: noEnv, Logger: quiet(), Posture: &paved.Posture{}, LeaveGlobals: true, LeaveDefaultSink: true,
		MetricReaders: []sdkmetric.Reader{sdkmetric.NewManualReader()}})
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	events := map[string]paved.Event{
		"authn-failure": {Type: paved.EventAuthnFailure, Component: "auth", Outcome: paved.OutcomeFailure, Reason: "expired", Duration: time.Millisecond},
		"authn-success": {Type: paved.EventAuthnSuccess, Component: "auth", Outcome: paved.OutcomeSuccess, Subject: "alice", Duration: time.Millisecond,
			Attrs: []slog.Attr{slog.Bool("mfa", true)}},
		"policy":       {Type: paved.EventPolicyDecision, Component: "policy", Outcome: paved.OutcomeDenied, Reason: "not_owner"},
		"rate-limited": {Type: paved.EventRateLimited, Component: "httpx", Outcome: paved.OutcomeDenied, Reason: "rate_limited"},
		"lease-count":  {Type: paved.EventLeaseCount, Component: "secrets", Value: 3},
	}
	for name, e := range events {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			e.Time = time.Now()
			b.ReportAllocs()
			for b.Loop() {
				paved.Emit(ctx, tel, e)
			}
		})
	}
}
