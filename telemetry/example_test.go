package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/telemetry"
)

func noEnv(string) (string, bool) { return "", false }

// Setup with nothing configured exports nothing and wraps no handler.
func ExampleSetup() {
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{
		ServiceName: "orders", Getenv: noEnv, Logger: slog.New(slog.DiscardHandler), Posture: &paved.Posture{},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Shutdown(context.Background())
	mux := http.NewServeMux()
	fmt.Println("wrapped:", tel.Middleware(mux) != http.Handler(mux))
	// Output: wrapped: false
}

// An invalid OTEL_* variable fails Setup with an error naming it.
func ExampleSetup_invalidEnvironment() {
	env := map[string]string{"OTEL_TRACES_SAMPLER_ARG": "ten percent"}
	_, err := telemetry.Setup(context.Background(), telemetry.Config{
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	for _, ce := range paved.ConfigErrors(err) {
		fmt.Println(ce.Field)
	}
	// Output: OTEL_TRACES_SAMPLER_ARG
}

// The posture report needs an authentication middleware, or a named
// opt-out with its reason.
func ExampleTelemetry_PostureHandler() {
	var tel *telemetry.Telemetry // works without telemetry set up too
	p := &paved.Posture{}
	p.Register("httpx", "public").SetControl("tls", true, "TLS 1.2+")

	_, err := tel.PostureHandler(telemetry.PostureConfig{Posture: p})
	fmt.Println(errors.Is(err, telemetry.ErrPostureUnprotected))

	h, _ := tel.PostureHandler(telemetry.PostureConfig{Posture: p,
		OptOuts: []paved.OptOut{telemetry.AllowPublicPosture("only the platform scraper reaches this port")}})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/posture", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	// Output:
	// true
	// 200 application/json
}

// The stdout exporter is for development; logs from the bridge carry the
// trace and span IDs of their context.
func ExampleTelemetry_LogHandler() {
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{
		Exporter: telemetry.ExporterStdout, Stdout: new(discard), Getenv: noEnv,
		Logger: slog.New(slog.DiscardHandler), Posture: &paved.Posture{}, LeaveGlobals: true, LeaveDefaultSink: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tel.Shutdown(context.Background())
	logger := slog.New(tel.LogHandler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey:
				return slog.Attr{}
			case telemetry.LogKeyTraceID, telemetry.LogKeySpanID:
				a.Value = slog.StringValue(fmt.Sprintf("<%d hex digits>", len(a.Value.String())))
			}
			return a
		},
	})))
	ctx, span := tel.TracerProvider().Tracer("example").Start(context.Background(), "work")
	defer span.End()
	logger.InfoContext(ctx, "charged", "card", secret("4111111111111111"))
	// Output: level=INFO msg=charged card=REDACTED trace_id="<32 hex digits>" span_id="<16 hex digits>"
}

type secret string

func (secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

type discard struct{}

func (*discard) Write(p []byte) (int, error) { return len(p), nil }
