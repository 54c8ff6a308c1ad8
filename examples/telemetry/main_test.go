package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved/internal/testenv"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	// The exporters write whole JSON lines, maybe before the summary ends;
	// the rest is the summary.
	var summary, exported strings.Builder
	for _, line := range strings.SplitAfter(out.String(), "\n") {
		if strings.HasPrefix(line, "{") {
			exported.WriteString(line)
		} else {
			summary.WriteString(line)
		}
	}
	want := `GET /orders/1: 200
GET /orders/2: 200
GET /orders/3: 429
posture: telemetry/1 bounded-cardinality: true
posture: telemetry/1 export-encryption: true
posture: telemetry/1 identifier-privacy: true
posture: telemetry/1 log-redaction: true
posture: telemetry/1 untrusted-trace-context: true
posture: score 1.00, 0 opt-outs
metric http.server.request.duration{http.route=/orders/{id}, status=200}: 2 requests
metric http.server.request.duration{http.route=/orders/{id}, status=429}: 1 requests
metric paved.ratelimit.denials: 1
--- the exporters' output follows, flushed on shutdown ---
`
	if summary.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", summary.String(), want)
	}

	// The exporters' JSON: three server spans named by route, the two
	// "order read" records each in its span's trace, and the metrics.
	spans := map[string]string{} // span ID -> trace ID
	var logs [][2]string         // trace ID, span ID of each "order read"
	metrics := map[string]bool{}
	lines := bufio.NewScanner(strings.NewReader(exported.String()))
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		var v struct {
			Name         string
			SpanContext  struct{ TraceID, SpanID string }
			Body         struct{ Value any }
			TraceID      string
			SpanID       string
			ScopeMetrics []struct {
				Metrics []struct{ Name string }
			}
		}
		if err := json.Unmarshal(lines.Bytes(), &v); err != nil {
			t.Fatalf("not JSON: %v: %.200s", err, lines.Text())
		}
		switch {
		case v.Name == "GET /orders/{id}":
			spans[v.SpanContext.SpanID] = v.SpanContext.TraceID
		case v.Body.Value == "order read":
			logs = append(logs, [2]string{v.TraceID, v.SpanID})
		}
		for _, sm := range v.ScopeMetrics {
			for _, m := range sm.Metrics {
				metrics[m.Name] = true
			}
		}
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}
	if len(spans) != 3 {
		t.Errorf("%d server spans named GET /orders/{id}, want 3", len(spans))
	}
	if len(logs) != 2 {
		t.Errorf("%d order read records, want 2", len(logs))
	}
	for _, l := range logs {
		if spans[l[1]] != l[0] {
			t.Errorf("log record in trace %s span %s: not one of the server spans", l[0], l[1])
		}
	}
	for _, name := range []string{"http.server.request.duration", "paved.ratelimit.denials", "paved.posture.score"} {
		if !metrics[name] {
			t.Errorf("metric %s not exported", name)
		}
	}
}

// TestRunWithCollector runs the example with -exporter otlp against the
// integration run's collector, configured by the standard OTEL_* variables
// only, and finds its signals in what the collector's file exporter wrote.
func TestRunWithCollector(t *testing.T) {
	env := testenv.Require(t, "PAVED_OTELCOL_HTTP_ENDPOINT", "PAVED_OTELCOL_DIR")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+env["PAVED_OTELCOL_HTTP_ENDPOINT"]) // plain HTTP: loopback only
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	name := fmt.Sprintf("examples-telemetry-%d", time.Now().UnixNano())
	var out strings.Builder
	if err := run(context.Background(), []string{"-exporter", "otlp", "-service", name}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "GET /orders/1: 200\nGET /orders/2: 200\nGET /orders/3: 429\n") ||
		!strings.Contains(out.String(), "metric paved.ratelimit.denials: 1\n") || strings.Contains(out.String(), `{"`) { // no JSON on stdout: it went to the collector
		t.Errorf("printed:\n%s", out.String())
	}
	for file, want := range map[string][]string{
		"traces.jsonl":  {`"name":"GET /orders/{id}"`},
		"metrics.jsonl": {`"paved.ratelimit.denials"`, `"http.server.request.duration"`},
		"logs.jsonl":    {`"order read"`},
	} {
		path := filepath.Join(env["PAVED_OTELCOL_DIR"], file)
		var got string
		deadline := time.Now().Add(15 * time.Second)
		for {
			got = linesWith(t, path, name)
			if containsAll(got, want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !containsAll(got, want) {
			t.Errorf("%s: no %v for service %s:\n%.2000s", file, want, name, got)
		}
		if file == "traces.jsonl" && strings.Count(got, want[0]) != 3 {
			t.Errorf("%d server spans at the collector, want 3", strings.Count(got, want[0]))
		}
	}
}

// linesWith returns the lines of file that mention s, joined.
func linesWith(t *testing.T, file, s string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for line := range strings.Lines(string(data)) {
		if strings.Contains(line, s) {
			b.WriteString(line)
		}
	}
	return b.String()
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
