package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/telemetry"
)

// setupTelemetry starts package telemetry. Mode "off" (the default)
// exports nothing, unless the standard OpenTelemetry variables name a
// collector (OTEL_EXPORTER_OTLP_ENDPOINT=https://collector:4318, or an
// http:// one on loopback), in which case traces, metrics and logs go
// there by OTLP. Mode "stdout" writes every signal as JSON to stdout. An
// invalid OTEL_* variable stops the start with an error naming it.
// The OTEL_* variables are read through getenv (an empty one is unset),
// as every other variable of the quickstart.
func setupTelemetry(ctx context.Context, mode string, getenv func(string) string, stdout io.Writer, logger *slog.Logger, posture *paved.Posture) (*telemetry.Telemetry, error) {
	cfg := telemetry.Config{ServiceName: "paved-quickstart", Environment: "development", Logger: logger, Posture: posture, Stdout: stdout,
		Getenv: func(k string) (string, bool) { v := getenv(k); return v, v != "" }}
	switch mode {
	case "off":
	case "stdout":
		cfg.Exporter = telemetry.ExporterStdout
	default:
		return nil, fmt.Errorf("-telemetry %q: want off or stdout (OTLP is on when OTEL_EXPORTER_OTLP_ENDPOINT is set)", mode)
	}
	tel, err := telemetry.Setup(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	return tel, nil
}

// shutdownTelemetry flushes what is buffered, within 5 seconds.
func shutdownTelemetry(tel *telemetry.Telemetry, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		logger.Warn("telemetry shutdown", "error", err)
	}
}

// mountPosture serves the posture report (every control, every opt-out
// with its reason, the compliance score) at GET /posture, behind the same
// bearer-token check as /me: the list of what a service left undone is
// for its platform team, not for the public.
func mountPosture(routes instrumented, tel *telemetry.Telemetry, verifier *auth.Verifier, posture *paved.Posture) error {
	h, err := tel.PostureHandler(telemetry.PostureConfig{Posture: posture, Auth: verifier.Middleware()})
	if err != nil {
		return err
	}
	routes.Handle("GET /posture", h)
	return nil
}

// instrumented registers routes on the server, each wrapped in the HTTP
// instrumentation (spans and http.server.* metrics named by the route); with
// telemetry off, Middleware returns the handler itself.
type instrumented struct {
	srv *httpx.Server
	tel *telemetry.Telemetry
}

func (i instrumented) Handle(pattern string, h http.Handler) {
	i.srv.Handle(pattern, i.tel.Middleware(h))
}

func (i instrumented) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	i.Handle(pattern, http.HandlerFunc(f))
}
