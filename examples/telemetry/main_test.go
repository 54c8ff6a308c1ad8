package main

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
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
