package telemetry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pavedroad/paved"
)

func TestSetupRejectsInvalidEnvironment(t *testing.T) {
	tests := []struct {
		env    map[string]string
		fields []string
	}{
		{map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"}, []string{"OTEL_TRACES_SAMPLER"}},
		{map[string]string{"OTEL_TRACES_SAMPLER_ARG": "1.5"}, []string{"OTEL_TRACES_SAMPLER_ARG"}},
		{map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "ten"}, []string{"OTEL_TRACES_SAMPLER_ARG"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}, []string{"OTEL_EXPORTER_OTLP_ENDPOINT"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example:4318"}, []string{"OTEL_EXPORTER_OTLP_ENDPOINT"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://127.0.0.1/"}, []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, []string{"OTEL_EXPORTER_OTLP_PROTOCOL"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "thrift"}, []string{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "-3"}, []string{"OTEL_EXPORTER_OTLP_TIMEOUT"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key"}, []string{"OTEL_EXPORTER_OTLP_HEADERS"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_INSECURE": "yes"}, []string{"OTEL_EXPORTER_OTLP_INSECURE"}},
		{map[string]string{"OTEL_METRIC_EXPORT_INTERVAL": "5s"}, []string{"OTEL_METRIC_EXPORT_INTERVAL"}},
		{map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "0"}, []string{"OTEL_BSP_MAX_QUEUE_SIZE"}},
		{map[string]string{"OTEL_BLRP_SCHEDULE_DELAY": "soon"}, []string{"OTEL_BLRP_SCHEDULE_DELAY"}},
		{map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"}, []string{"OTEL_TRACES_EXPORTER"}},
		{map[string]string{"OTEL_PROPAGATORS": "b3"}, []string{"OTEL_PROPAGATORS"}},
		{map[string]string{"OTEL_SDK_DISABLED": "maybe"}, []string{"OTEL_SDK_DISABLED"}},
		{map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team"}, []string{"OTEL_RESOURCE_ATTRIBUTES"}},
		{map[string]string{"OTEL_TRACES_SAMPLER": "x", "OTEL_LOGS_EXPORTER": "y"}, []string{"OTEL_TRACES_SAMPLER", "OTEL_LOGS_EXPORTER"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.fields, "+"), func(t *testing.T) {
			_, err := Setup(context.Background(), Config{Getenv: envMap(tt.env), Logger: quiet(), Posture: &paved.Posture{}, LeaveGlobals: true, LeaveDefaultSink: true})
			if err == nil {
				t.Fatal("Setup accepted it")
			}
			var got []string
			for _, ce := range paved.ConfigErrors(err) {
				got = append(got, ce.Field)
				if ce.Component != Component || ce.Problem == "" || ce.Fix == "" {
					t.Errorf("incomplete error %#v", ce)
				}
			}
			if !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.fields, err)
			}
		})
	}
}

func TestHeaderValuesNeverInErrors(t *testing.T) {
	_, err := Setup(context.Background(), Config{Getenv: envMap(map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=s3cr3t%zz"}),
		Logger: quiet(), LeaveGlobals: true, LeaveDefaultSink: true, Posture: &paved.Posture{}})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("err = %v", err)
	}
}

func TestSetupConfigErrors(t *testing.T) {
	tests := []struct {
		cfg   Config
		field string
	}{
		{Config{SampleRatio: 2}, "Config.SampleRatio"},
		{Config{Exporter: "zipkin"}, "Config.Exporter"},
		{Config{OTLP: OTLPConfig{Protocol: "udp"}}, "Config.OTLP.Protocol"},
		{Config{OTLP: OTLPConfig{Endpoint: "http://10.0.0.1:4318"}}, "Config.OTLP.Endpoint"},
		{Config{OTLP: OTLPConfig{Endpoint: "https://user:pw@collector:4318"}}, "Config.OTLP.Endpoint"},
		{Config{ShutdownTimeout: 1}, "Config.ShutdownTimeout"},
		{Config{MaxAttributeSets: 1}, "Config.MaxAttributeSets"},
		{Config{OptOuts: []paved.OptOut{TrustTraceContext("")}}, "Config.OptOuts[0]"},
		{Config{OptOuts: []paved.OptOut{AllowPublicPosture("x")}}, "Config.OptOuts[0]"},
		{Config{HTTP: HTTPConfig{UntracedPaths: []string{"metrics"}}}, "Config.HTTP.UntracedPaths[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			tt.cfg.Getenv, tt.cfg.Logger, tt.cfg.LeaveGlobals, tt.cfg.LeaveDefaultSink = noEnv, quiet(), true, true
			_, err := Setup(context.Background(), tt.cfg)
			ces := paved.ConfigErrors(err)
			if len(ces) != 1 || ces[0].Field != tt.field {
				t.Fatalf("err = %v, want one fault of %s", err, tt.field)
			}
		})
	}
	_, err := Setup(context.Background(), Config{Getenv: noEnv, OptOuts: []paved.OptOut{TrustTraceContext("")}, LeaveGlobals: true, LeaveDefaultSink: true})
	if !errors.Is(err, paved.ErrNoReason) {
		t.Errorf("err = %v, want ErrNoReason", err)
	}
}

func TestResolveTargets(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		env  map[string]string
		want [3]string // kind protocol endpoint per signal, joined
	}{
		{"nothing configured", Config{}, nil, [3]string{"none", "none", "none"}},
		{"base endpoint http", Config{}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
			[3]string{"otlp http/protobuf http://127.0.0.1:4318/v1/traces", "otlp http/protobuf http://127.0.0.1:4318/v1/metrics", "otlp http/protobuf http://127.0.0.1:4318/v1/logs"}},
		{"grpc, per-signal off", Config{}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_LOGS_EXPORTER": "none"},
			[3]string{"otlp grpc https://collector:4317", "otlp grpc https://collector:4317", "none"}},
		{"per-signal endpoint as is", Config{}, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c:4318/custom"},
			[3]string{"otlp http/protobuf https://c:4318/custom", "none", "none"}},
		{"console", Config{}, map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "console", "OTEL_LOGS_EXPORTER": "console"},
			[3]string{"stdout", "stdout", "stdout"}},
		{"code wins", Config{Exporter: ExporterOTLP, OTLP: OTLPConfig{Endpoint: "https://c:4317", Protocol: ProtocolGRPC}}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://other:4318"},
			[3]string{"otlp grpc https://c:4317", "otlp grpc https://c:4317", "otlp grpc https://c:4317"}},
		{"otlp default endpoint", Config{Exporter: ExporterOTLP}, nil,
			[3]string{"otlp http/protobuf http://localhost:4318/v1/traces", "otlp http/protobuf http://localhost:4318/v1/metrics", "otlp http/protobuf http://localhost:4318/v1/logs"}},
		{"disabled", Config{}, map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317"}, [3]string{"none", "none", "none"}},
		{"plaintext opt-out", Config{OptOuts: []paved.OptOut{AllowPlaintextExport("node-local agent")}}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://agent:4318", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"},
			[3]string{"otlp http/protobuf http://agent:4318/v1/traces", "none", "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Getenv = envMap(tt.env)
			s, err := resolve(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, tg := range s.targets {
				got := string(tg.kind)
				if tg.kind == ExporterOTLP {
					got += " " + tg.protocol + " " + tg.endpoint.String()
				}
				if got != tt.want[i] {
					t.Errorf("%s: %q, want %q", signalNames[i], got, tt.want[i])
				}
			}
		})
	}
}

func TestNotSetUpWrapsNothing(t *testing.T) {
	h := http.NewServeMux()
	var nilTel *Telemetry
	if got := nilTel.Middleware(h); got != http.Handler(h) {
		t.Error("a nil Telemetry wrapped the handler")
	}
	tel, err := Setup(context.Background(), Config{Getenv: noEnv, Logger: quiet(), Posture: &paved.Posture{}, LeaveGlobals: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	if got := tel.Middleware(h); got != http.Handler(h) {
		t.Error("Telemetry with nothing configured wrapped the handler")
	}
	if tel.Enabled(context.Background(), paved.EventAuthnFailure) {
		t.Error("Telemetry with nothing configured wants events")
	}
	if _, ok := paved.DefaultSink().(paved.NopSink); !ok {
		t.Errorf("default sink = %T, want NopSink", paved.DefaultSink())
	}
	next := slog.NewTextHandler(io.Discard, nil)
	if got := tel.LogHandler(next); got != slog.Handler(next) {
		t.Error("LogHandler wrapped the handler")
	}
}

func TestResourceFromBuildAndEnvironment(t *testing.T) {
	s, err := resolve(Config{Getenv: envMap(map[string]string{"OTEL_SERVICE_NAME": "orders", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=staging,team=pay%20ments"})})
	if err != nil {
		t.Fatal(err)
	}
	b := BuildInfo{Module: "example.com/orders/v2", Version: "(devel)", Revision: "0123456789abcdef0123", Modified: true}
	res, _ := buildResource(s, b)
	want := map[string]string{"service.name": "orders", "service.version": "0123456789ab-modified", "deployment.environment.name": "staging",
		"team": "pay ments", "vcs.ref.head.revision": "0123456789abcdef0123", "paved.vcs.modified": "true"}
	for k, v := range want {
		got, ok := res.Set().Value(attributeKey(k))
		if !ok || got.String() != v {
			t.Errorf("%s = %q, want %q", k, got.String(), v)
		}
	}
	s.cfg.Getenv = noEnv
	s.resAttrs = nil
	s.cfg.ServiceName, s.cfg.Environment = "", "prod"
	s2, _ := resolve(Config{Getenv: noEnv, Environment: "prod"})
	res, _ = buildResource(s2, b)
	if v, _ := res.Set().Value("service.name"); v.AsString() != "orders" {
		t.Errorf("service.name from module = %q, want orders", v.AsString())
	}
	if v, _ := res.Set().Value("deployment.environment.name"); v.AsString() != "prod" {
		t.Errorf("environment = %q", v.AsString())
	}
}

func TestStdoutExporter(t *testing.T) {
	var buf syncBuffer
	tel, err := Setup(context.Background(), Config{Exporter: ExporterStdout, Stdout: &buf, Getenv: noEnv, Logger: quiet(),
		Posture: &paved.Posture{}, LeaveGlobals: true, LeaveDefaultSink: true})
	if err != nil {
		t.Fatal(err)
	}
	serve(tel.Middleware(testMux()), "GET", "/orders/7", nil)
	tel.Logger(nil).Info("hello from the bridge")
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`"Name":"GET /orders/{id}"`, `"Name":"http.server.request.duration"`, `"Value":"hello from the bridge"`} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %s", want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
