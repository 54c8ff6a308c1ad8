// Command telemetry shows package telemetry with OpenTelemetry's stdout
// exporters, so that no collector is needed:
//
//	go run ./examples/telemetry
//
// It sends three requests in process through an instrumented, rate-limited
// route (the third is refused: a security event from package httpx), logs
// inside each request's span, prints the posture controls and a summary of
// the metrics, then flushes every signal as JSON lines to stdout: spans
// named by route, HTTP and paved.* metrics, logs with their trace IDs. With
// -exporter otlp and OTEL_EXPORTER_OTLP_ENDPOINT they go to a collector.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/telemetry"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "telemetry example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("telemetry", flag.ContinueOnError)
	exporter := flags.String("exporter", "stdout", `stdout, otlp, none, or "" (OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set)`)
	service := flags.String("service", "orders", "service.name of the resource")
	if err := flags.Parse(args); err != nil {
		return err
	}
	// One call: resource from the build, exporters, sampling, the slog
	// bridge, and the paved.Sink installed as paved's default, so that
	// every block's security events become metrics and logs.
	stdout = &lockedWriter{w: stdout} // the exporters write from their own goroutines
	posture := new(paved.Posture)
	reader := sdkmetric.NewManualReader() // only for the summary below
	tel, err := telemetry.Setup(ctx, telemetry.Config{
		ServiceName:   *service,
		Environment:   "development",
		Exporter:      telemetry.Exporter(*exporter),
		Stdout:        stdout,
		MetricReaders: []sdkmetric.Reader{reader},
		Logger:        slog.New(slog.DiscardHandler),
		Posture:       posture,
	})
	if err != nil {
		return err // names the faulty field or OTEL_* variable
	}
	defer tel.Shutdown(context.Background()) // flushes what is buffered, within 5s

	// Logs through the bridge: to the exporter, and to stderr with the
	// trace_id and span_id of the request added.
	logger := tel.Logger(slog.NewTextHandler(os.Stderr, nil))

	// A route with a limit of two requests a minute, inside the HTTP
	// instrumentation: a span and http.server.* metrics per request,
	// named by the route pattern, never the raw path.
	limit, err := httpx.RateLimit(httpx.RateLimitConfig{Policy: httpx.RatePolicy{Name: "orders", Limit: 2, Window: time.Minute}})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orders/{id}", limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "order read", "order", r.PathValue("id"))
		_, _ = io.WriteString(w, "ok\n")
	})))
	handler := tel.Middleware(mux) // in a service: httpx.Config.Handler, or each route
	for _, id := range []string{"1", "2", "3"} {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, httptest.NewRequest("GET", "/orders/"+id, nil))
		fmt.Fprintf(stdout, "GET /orders/%s: %d\n", id, w.Code)
	}

	// The posture report: every control and opt-out, and the score. A
	// service serves it behind its authentication (PostureConfig.Auth).
	report := telemetry.NewPostureReport(posture, *service, "dev")
	for _, c := range report.Controls {
		fmt.Fprintf(stdout, "posture: %s/%s %s: %t\n", c.Component, c.Instance, c.Name, c.Enabled)
	}
	fmt.Fprintf(stdout, "posture: score %.2f, %d opt-outs\n", report.Score, len(report.OptOuts))

	// What the metrics say so far, read through the summary's reader.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		return err
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Histogram[float64]: // http.server.request.duration
				for _, p := range data.DataPoints {
					route, _ := p.Attributes.Value("http.route")
					status, _ := p.Attributes.Value("http.response.status_code")
					lines = append(lines, fmt.Sprintf("metric %s{http.route=%s, status=%d}: %d requests", m.Name, route.AsString(), status.AsInt64(), p.Count))
				}
			case metricdata.Sum[int64]:
				if m.Name == "paved.ratelimit.denials" { // from the limiter's event
					lines = append(lines, fmt.Sprintf("metric %s: %d", m.Name, data.DataPoints[0].Value))
				}
			}
		}
	}
	slices.Sort(lines) // the SDK's order is not fixed
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	fmt.Fprintln(stdout, "--- the exporters' output follows, flushed on shutdown ---")
	return tel.Shutdown(ctx)
}

// lockedWriter serializes writes: the span, metric and log exporters each
// write whole JSON lines, from goroutines of their own.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
