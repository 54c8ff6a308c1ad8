package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestQuickstartTelemetryFlags(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-quiet", "-telemetry", "jaeger"}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `-telemetry "jaeger"`) {
		t.Errorf("bad mode: err = %v", err)
	}
	// The OTEL_* variables are read through run's getenv, as every other.
	env := func(k string) string {
		if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
			return "collector:4318"
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a start that succeeds serves until then
	defer cancel()
	err = run(ctx, []string{"-addr", "127.0.0.1:0", "-quiet"}, env, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Errorf("bad endpoint: err = %v, want one naming OTEL_EXPORTER_OTLP_ENDPOINT", err)
	}
}
