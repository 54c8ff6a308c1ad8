package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestQuickstartTelemetryFlags(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-quiet", "-telemetry", "jaeger"}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `-telemetry "jaeger"`) {
		t.Errorf("bad mode: err = %v", err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")
	err = run(context.Background(), []string{"-addr", "127.0.0.1:0", "-quiet"}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Errorf("bad endpoint: err = %v, want one naming OTEL_EXPORTER_OTLP_ENDPOINT", err)
	}
}
