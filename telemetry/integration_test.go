package telemetry_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/testenv"
	"github.com/pavedroad/paved/telemetry"
	"github.com/pavedroad/paved/telemetry/promexport"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// serviceUnderTest is an httpx server whose handler is instrumented by
// tel, with one route that logs through the bridge and emits an event.
func serviceUnderTest(t *testing.T, tel *telemetry.Telemetry, p *paved.Posture) (*httptest.Server, *trace.TraceID) {
	t.Helper()
	var seen trace.TraceID
	logger := tel.Logger(nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		seen = trace.SpanContextFromContext(r.Context()).TraceID()
		logger.InfoContext(r.Context(), "order served", "order", r.PathValue("id"), "api_key", secretValue("sk-live-123"))
		paved.Emit(r.Context(), tel, paved.Event{Type: paved.EventAuthnFailure, Component: "auth", Outcome: paved.OutcomeFailure, Reason: "expired", Duration: time.Millisecond})
		_, _ = w.Write([]byte("ok"))
	})
	srv, err := httpx.New(httpx.Config{Handler: tel.Middleware(mux), Logger: quietLogger(), Posture: p, Events: tel,
		OptOuts: []paved.OptOut{httpx.AllowPlainHTTP("test server on loopback")}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts, &seen
}

type secretValue string

func (secretValue) LogValue() slog.Value { return slog.StringValue("REDACTED") }

func get(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// linesWith returns the lines of the collector's file that mention s.
func linesWith(t *testing.T, file, s string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// waitFor polls f until it reports true or 15 seconds pass.
func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestIntegrationCollector sends traces, metrics and logs by OTLP gRPC
// (configured in code) and by OTLP HTTP (configured by OTEL_* variables) to
// the real OpenTelemetry Collector, then reads what its file exporter
// wrote.
func TestIntegrationCollector(t *testing.T) {
	env := testenv.Require(t, "PAVED_OTELCOL_GRPC_ENDPOINT", "PAVED_OTELCOL_HTTP_ENDPOINT", "PAVED_OTELCOL_DIR")
	for _, proto := range []string{telemetry.ProtocolGRPC, telemetry.ProtocolHTTP} {
		t.Run(proto, func(t *testing.T) {
			endpoint := "http://" + env["PAVED_OTELCOL_GRPC_ENDPOINT"]
			if proto == telemetry.ProtocolHTTP {
				endpoint = "http://" + env["PAVED_OTELCOL_HTTP_ENDPOINT"]
			}
			name := fmt.Sprintf("paved-it-%s-%d", strings.ReplaceAll(proto, "/", "-"), time.Now().UnixNano())
			p := &paved.Posture{}
			cfg := telemetry.Config{
				ServiceName: name, Environment: "integration",
				MetricInterval: 500 * time.Millisecond, Logger: quietLogger(), Posture: p,
				LeaveGlobals: true, LeaveDefaultSink: true, Getenv: func(string) (string, bool) { return "", false },
			}
			if proto == telemetry.ProtocolGRPC {
				// Configured in code.
				cfg.Exporter, cfg.OTLP = telemetry.ExporterOTLP, telemetry.OTLPConfig{Endpoint: endpoint, Protocol: proto}
			} else {
				// Configured by the standard variables only.
				env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": proto, "OTEL_TRACES_SAMPLER": "parentbased_always_on"}
				cfg.Getenv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
			}
			tel, err := telemetry.Setup(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			ts, seen := serviceUnderTest(t, tel, p)
			for i := range 3 {
				get(t, fmt.Sprintf("%s/orders/%d", ts.URL, i))
			}
			get(t, ts.URL+"/livez")
			get(t, ts.URL+"/readyz")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tel.Shutdown(ctx); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			traceID := seen.String()
			dir := env["PAVED_OTELCOL_DIR"]

			waitFor(t, "traces", func() bool { return len(linesWith(t, filepath.Join(dir, "traces.jsonl"), name)) > 0 })
			traces := strings.Join(linesWith(t, filepath.Join(dir, "traces.jsonl"), name), "\n")
			if n := strings.Count(traces, `"name":"GET /orders/{id}"`); n != 3 {
				t.Errorf("%d server spans named by route, want 3", n)
			}
			if strings.Contains(traces, "/livez") || strings.Contains(traces, "/readyz") {
				t.Error("a health check was traced")
			}
			if !strings.Contains(traces, traceID) {
				t.Errorf("trace %s not in the collector's traces", traceID)
			}

			waitFor(t, "metrics", func() bool {
				return len(linesWith(t, filepath.Join(dir, "metrics.jsonl"), name)) > 0 &&
					strings.Contains(strings.Join(linesWith(t, filepath.Join(dir, "metrics.jsonl"), name), ""), "paved.authn.attempts")
			})
			metrics := strings.Join(linesWith(t, filepath.Join(dir, "metrics.jsonl"), name), "\n")
			for _, want := range []string{`"http.server.request.duration"`, `"paved.authn.attempts"`, `"paved.posture.compliance_score"`,
				`"paved.service.deployment"`, `{"key":"http.route","value":{"stringValue":"/orders/{id}"}}`,
				`{"key":"deployment.environment.name","value":{"stringValue":"integration"}}`} {
				if !strings.Contains(metrics, want) {
					t.Errorf("metrics lack %s", want)
				}
			}

			waitFor(t, "logs", func() bool { return len(linesWith(t, filepath.Join(dir, "logs.jsonl"), name)) > 0 })
			logs := strings.Join(linesWith(t, filepath.Join(dir, "logs.jsonl"), name), "\n")
			if !strings.Contains(logs, `"order served"`) || !strings.Contains(logs, `"traceId":"`+traceID+`"`) {
				t.Errorf("the handler's log line with trace %s is not in the collector's logs:\n%.2000s", traceID, logs)
			}
			if strings.Contains(logs, "sk-live-123") {
				t.Error("a secret reached the collector")
			}
			if !strings.Contains(logs, `"service.deployment"`) {
				t.Error("no deployment event in the logs")
			}
		})
	}
}

// TestIntegrationPrometheus serves the metrics on the target Prometheus
// scrapes and reads them back through Prometheus' query API.
func TestIntegrationPrometheus(t *testing.T) {
	env := testenv.Require(t, "PAVED_PROMETHEUS_URL", "PAVED_PROMETHEUS_TARGET")
	reader, metricsHandler, err := promexport.New()
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("paved-prom-%d", time.Now().UnixNano())
	p := &paved.Posture{}
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: name, MetricReaders: []sdkmetric.Reader{reader},
		Logger: quietLogger(), Posture: p, LeaveGlobals: true, LeaveDefaultSink: true, Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	ln, err := net.Listen("tcp", env["PAVED_PROMETHEUS_TARGET"])
	if err != nil {
		t.Fatalf("the scrape target is taken: %v", err)
	}
	scrape := &http.Server{Handler: metricsHandler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = scrape.Serve(ln) }()
	defer scrape.Close()

	ts, _ := serviceUnderTest(t, tel, p)
	for i := range 5 {
		get(t, fmt.Sprintf("%s/orders/%d", ts.URL, i))
	}
	query := func(q string) string {
		resp, err := http.Get(env["PAVED_PROMETHEUS_URL"] + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				Result []struct {
					Value []any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		if len(out.Data.Result) != 1 || len(out.Data.Result[0].Value) != 2 {
			return ""
		}
		s, _ := out.Data.Result[0].Value[1].(string)
		return s
	}
	sel := `{job="paved-test",http_route="/orders/{id}",http_response_status_code="200"}`
	waitFor(t, "Prometheus to scrape the requests", func() bool {
		return query("sum(http_server_request_duration_seconds_count"+sel+")") == "5"
	})
	waitFor(t, "the authentication failures", func() bool {
		return query(`sum(paved_authn_attempts_total{job="paved-test",error_type="expired"})`) == "5"
	})
	if got := query(fmt.Sprintf(`count(target_info{job="paved-test",service_name=%q})`, name)); got != "1" {
		t.Errorf("target_info for %s: %q", name, got)
	}
}
