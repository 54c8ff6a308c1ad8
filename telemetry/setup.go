package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pavedroad/paved"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutlog"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of everything telemetry records.
const ScopeName = "github.com/pavedroad/paved/telemetry"

// Telemetry is a service's OpenTelemetry setup: its tracer, meter and
// logger providers, the HTTP instrumentation, the slog bridge, and the
// [paved.Sink] that turns security events into metrics and logs. A nil
// *Telemetry is valid and does nothing: its Middleware returns the handler
// it is given, its LogHandler the handler it is given.
type Telemetry struct {
	s        *settings
	res      *resource.Resource
	build    BuildInfo
	tp       *sdktrace.TracerProvider
	mp       *sdkmetric.MeterProvider
	lp       *sdklog.LoggerProvider
	tracer   trace.Tracer
	meter    metric.Meter
	logger   log.Logger
	prop     propagation.TextMapPropagator
	traces   bool
	metrics  bool
	logs     bool
	reg      *paved.Registration
	posture  *paved.Posture
	sink     *eventMetrics
	http     *httpMetrics
	overflow metric.Int64Counter
	start    time.Time

	shutdownOnce sync.Once
	shutdownErr  error
	prevSink     paved.Sink
	closed       atomic.Bool // Shutdown has begun: no more events
}

// Setup validates cfg and the OTEL_* variables and starts telemetry. It
// returns a *Telemetry whose Shutdown flushes and stops everything;
// call it before the process exits:
//
//	tel, err := telemetry.Setup(ctx, telemetry.Config{})
//	if err != nil { return err } // names the faulty field or OTEL_* variable
//	defer tel.Shutdown(context.Background())
//
// Nothing is exported unless configured (see [ExporterAuto]). Unless cfg
// says otherwise, Setup installs its providers and the W3C propagator as
// OpenTelemetry's globals and the Telemetry as paved's default sink, then
// emits a [paved.EventDeployment]. An invalid cfg or variable returns a
// [paved.ConfigError] for each fault, naming it, and starts nothing.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	s, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	t := &Telemetry{s: s, build: ReadBuildInfo(), start: time.Now()}
	t.res, _ = buildResource(s, t.build)
	t.traces = s.on(sigTraces)
	t.metrics = !s.disabled && s.metricsOn()
	t.logs = s.on(sigLogs)
	t.posture = paved.PostureOrDefault(cfg.Posture)

	// The SDK's own processor metrics count what bounded queues drop
	// (otel.sdk.processor.span.processed{error.type=queue_full}).
	if _, set := os.LookupEnv("OTEL_GO_X_OBSERVABILITY"); !set && t.metrics {
		_ = os.Setenv("OTEL_GO_X_OBSERVABILITY", "true")
	}

	var closers []func(context.Context) error
	prevMP := otel.GetMeterProvider()
	fail := func(err error) (*Telemetry, error) {
		if !cfg.LeaveGlobals && t.mp != nil {
			otel.SetMeterProvider(prevMP)
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		defer cancel()
		for _, c := range closers {
			_ = c(sctx)
		}
		return nil, err
	}

	// Metrics first, so that the trace and log SDKs' own metrics have a
	// meter provider.
	if t.metrics {
		opts := []sdkmetric.Option{sdkmetric.WithResource(t.res)}
		if tg := s.targets[sigMetrics]; tg.kind != ExporterNone {
			exp, err := metricExporter(ctx, s, tg)
			if err != nil {
				return fail(err)
			}
			opts = append(opts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(s.cfg.MetricInterval))))
		}
		for _, r := range s.cfg.MetricReaders {
			opts = append(opts, sdkmetric.WithReader(r))
		}
		t.mp = sdkmetric.NewMeterProvider(opts...)
		closers = append(closers, t.mp.Shutdown)
		t.meter = t.mp.Meter(ScopeName)
	} else {
		t.meter = metricnoop.NewMeterProvider().Meter(ScopeName)
	}
	if !cfg.LeaveGlobals && t.mp != nil {
		otel.SetMeterProvider(t.mp)
	}

	if t.traces {
		exp, err := traceExporter(ctx, s, s.targets[sigTraces])
		if err != nil {
			return fail(err)
		}
		t.tp = sdktrace.NewTracerProvider(
			sdktrace.WithResource(t.res),
			sdktrace.WithSampler(sampler(s)),
			sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(s.bspQueue), sdktrace.WithBatchTimeout(s.bspDelay)),
		)
		closers = append(closers, t.tp.Shutdown)
		t.tracer = t.tp.Tracer(ScopeName)
	} else {
		t.tracer = tracenoop.NewTracerProvider().Tracer(ScopeName)
	}

	if t.logs {
		exp, err := logExporter(ctx, s, s.targets[sigLogs])
		if err != nil {
			return fail(err)
		}
		t.lp = sdklog.NewLoggerProvider(sdklog.WithResource(t.res),
			sdklog.WithProcessor(sdklog.NewBatchProcessor(exp, sdklog.WithMaxQueueSize(s.blrpQueue), sdklog.WithExportInterval(s.blrpDelay))))
		closers = append(closers, t.lp.Shutdown)
		t.logger = t.lp.Logger(ScopeName)
	} else {
		t.logger = lognoop.NewLoggerProvider().Logger(ScopeName)
	}

	t.prop = propagator(s.propagate)
	if !cfg.LeaveGlobals {
		if t.tp != nil {
			otel.SetTracerProvider(t.tp)
		}
		if t.lp != nil {
			otel.SetLoggerProvider(t.lp)
		}
		otel.SetTextMapPropagator(t.prop)
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			s.cfg.Logger.LogAttrs(context.Background(), slog.LevelWarn, "telemetry: export error", slog.String("error", err.Error()))
		}))
	}

	if err := t.instruments(); err != nil {
		return fail(err)
	}

	// Posture.
	t.reg = t.posture.Register(Component, "")
	for _, o := range s.optOuts {
		_ = t.reg.AddOptOut(o)
	}
	t.registerControls()
	t.posture.LogOptOuts(ctx, s.cfg.Logger)

	if (t.metrics || t.logs) && !cfg.LeaveDefaultSink {
		t.prevSink = paved.DefaultSink()
		paved.SetDefaultSink(t)
	}
	t.emitDeployment(ctx)
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "telemetry: started",
		slog.String("traces", t.describe(sigTraces)), slog.String("metrics", t.describe(sigMetrics)),
		slog.String("logs", t.describe(sigLogs)), slog.String("sampler", s.sampler), slog.Float64("ratio", s.ratio))
	return t, nil
}

// describe says where a signal goes, without headers.
func (t *Telemetry) describe(sig signal) string {
	tg := t.s.targets[sig]
	switch tg.kind {
	case ExporterOTLP:
		return "otlp " + tg.protocol + " " + tg.endpoint.Redacted()
	case ExporterStdout:
		return "stdout"
	}
	if sig == sigMetrics && t.metrics {
		return fmt.Sprintf("%d reader(s)", len(t.s.cfg.MetricReaders))
	}
	return "none"
}

func (t *Telemetry) registerControls() {
	set := t.reg.SetControl
	if t.s.trust {
		set("untrusted-trace-context", false, "inbound trace context is the parent (opt-out)")
	} else {
		set("untrusted-trace-context", true, "inbound trace context linked, not parented")
	}
	plain := false
	for sig := range t.s.targets {
		tg := t.s.targets[sig]
		if tg.kind == ExporterOTLP && tg.endpoint.Scheme == "http" && !isLoopback(tg.endpoint.Hostname()) {
			plain = true
		}
	}
	if plain {
		set("export-encryption", false, "plain-text OTLP export beyond loopback (opt-out)")
	} else {
		set("export-encryption", true, "OTLP over TLS, or plain text to loopback only")
	}
	if t.s.subject {
		set("identifier-privacy", false, "subjects logged (opt-out); never in metrics")
	} else {
		set("identifier-privacy", true, "no raw user identifier in metrics or logs")
	}
	set("bounded-cardinality", true, fmt.Sprintf("at most %d attribute sets per instrument, overflow counted", t.s.cfg.MaxAttributeSets))
	set("log-redaction", true, "slog LogValuers resolved before export")
}

// Shutdown flushes every provider and stops them, within the earlier of
// ctx's deadline and Config.ShutdownTimeout; past it, it returns an error
// wrapping context.DeadlineExceeded and whatever was not exported is
// dropped. ctx's cancellation alone does not cut the flush short. From its
// start, t takes no more events (Enabled reports false) and the default
// sink Setup replaced is restored (skipping any Telemetry already shut
// down, as when two Setups are shut down in the order they started).
// Later calls return the first call's result. A nil *Telemetry returns
// nil.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.shutdownOnce.Do(func() {
		t.closed.Store(true)
		if paved.DefaultSink() == paved.Sink(t) {
			paved.SetDefaultSink(liveSink(t.prevSink))
		}
		// Not ctx's cancellation: a program often shuts down with the
		// context its stop signal cancelled, and still wants its flush;
		// but ctx's deadline, when earlier than ShutdownTimeout, bounds it.
		deadline := time.Now().Add(t.s.cfg.ShutdownTimeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		defer cancel()
		var (
			mu   sync.Mutex
			errs []error
			wg   sync.WaitGroup
		)
		run := func(name string, f func(context.Context) error) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := f(ctx); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", name, err))
					mu.Unlock()
				}
			}()
		}
		// Traces and logs first, then metrics, so that the processors'
		// own counts are in the last metric export.
		if t.tp != nil {
			run("traces", t.tp.Shutdown)
		}
		if t.lp != nil {
			run("logs", t.lp.Shutdown)
		}
		wg.Wait()
		if t.mp != nil {
			run("metrics", t.mp.Shutdown)
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			mu.Lock()
			errs = append(errs, ctx.Err())
			mu.Unlock()
		}
		mu.Lock()
		defer mu.Unlock()
		if len(errs) > 0 {
			t.shutdownErr = fmt.Errorf("telemetry: shutdown: %w", errors.Join(errs...))
		}
	})
	return t.shutdownErr
}

// liveSink returns s, or, when s is a Telemetry already shut down, the
// first live sink it had replaced.
func liveSink(s paved.Sink) paved.Sink {
	for {
		t, ok := s.(*Telemetry)
		if !ok || t == nil || !t.closed.Load() {
			return s
		}
		s = t.prevSink
	}
}

// TracerProvider returns the tracer provider (a no-op one when traces are
// not exported).
func (t *Telemetry) TracerProvider() trace.TracerProvider {
	if t == nil || t.tp == nil {
		return tracenoop.NewTracerProvider()
	}
	return t.tp
}

// MeterProvider returns the meter provider (a no-op one when metrics are
// not recorded).
func (t *Telemetry) MeterProvider() metric.MeterProvider {
	if t == nil || t.mp == nil {
		return metricnoop.NewMeterProvider()
	}
	return t.mp
}

// LoggerProvider returns the OpenTelemetry logger provider (a no-op one
// when logs are not exported).
func (t *Telemetry) LoggerProvider() log.LoggerProvider {
	if t == nil || t.lp == nil {
		return lognoop.NewLoggerProvider()
	}
	return t.lp
}

// Resource returns the resource every signal carries.
func (t *Telemetry) Resource() *resource.Resource {
	if t == nil {
		return resource.Empty()
	}
	return t.res
}

// ForceFlush exports whatever is buffered now.
func (t *Telemetry) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var errs []error
	if t.tp != nil {
		errs = append(errs, t.tp.ForceFlush(ctx))
	}
	if t.lp != nil {
		errs = append(errs, t.lp.ForceFlush(ctx))
	}
	if t.mp != nil {
		errs = append(errs, t.mp.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

func sampler(s *settings) sdktrace.Sampler {
	switch s.sampler {
	case "always_on":
		return sdktrace.AlwaysSample()
	case "always_off":
		return sdktrace.NeverSample()
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(s.ratio)
	case "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample())
	}
	return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(s.ratio))
}

func propagator(names []string) propagation.TextMapPropagator {
	var ps []propagation.TextMapPropagator
	for _, n := range names {
		switch n {
		case "tracecontext":
			ps = append(ps, propagation.TraceContext{})
		case "baggage":
			ps = append(ps, propagation.Baggage{})
		}
	}
	return propagation.NewCompositeTextMapPropagator(ps...)
}

func exportErr(sig signal, err error) error {
	return fmt.Errorf("telemetry: %s exporter: %w", strings.ToLower(signalNames[sig]), err)
}

func traceExporter(ctx context.Context, s *settings, tg exportTarget) (sdktrace.SpanExporter, error) {
	var exp sdktrace.SpanExporter
	var err error
	switch {
	case s.cfg.hooks != nil && s.cfg.hooks.spans != nil:
		return s.cfg.hooks.spans, nil
	case tg.kind == ExporterStdout:
		exp, err = stdouttrace.New(stdouttrace.WithWriter(s.cfg.Stdout))
	case tg.protocol == ProtocolGRPC:
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(tg.endpoint.String()),
			otlptracegrpc.WithHeaders(tg.headers), otlptracegrpc.WithTimeout(tg.timeout))
	default:
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(tg.endpoint.String()),
			otlptracehttp.WithHeaders(tg.headers), otlptracehttp.WithTimeout(tg.timeout))
	}
	if err != nil {
		return nil, exportErr(sigTraces, err)
	}
	return exp, nil
}

func metricExporter(ctx context.Context, s *settings, tg exportTarget) (sdkmetric.Exporter, error) {
	var exp sdkmetric.Exporter
	var err error
	switch {
	case tg.kind == ExporterStdout:
		exp, err = stdoutmetric.New(stdoutmetric.WithWriter(s.cfg.Stdout))
	case tg.protocol == ProtocolGRPC:
		exp, err = otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpointURL(tg.endpoint.String()),
			otlpmetricgrpc.WithHeaders(tg.headers), otlpmetricgrpc.WithTimeout(tg.timeout))
	default:
		exp, err = otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(tg.endpoint.String()),
			otlpmetrichttp.WithHeaders(tg.headers), otlpmetrichttp.WithTimeout(tg.timeout))
	}
	if err != nil {
		return nil, exportErr(sigMetrics, err)
	}
	return exp, nil
}

func logExporter(ctx context.Context, s *settings, tg exportTarget) (sdklog.Exporter, error) {
	var exp sdklog.Exporter
	var err error
	switch {
	case s.cfg.hooks != nil && s.cfg.hooks.logs != nil:
		return s.cfg.hooks.logs, nil
	case tg.kind == ExporterStdout:
		exp, err = stdoutlog.New(stdoutlog.WithWriter(s.cfg.Stdout))
	case tg.protocol == ProtocolGRPC:
		exp, err = otlploggrpc.New(ctx, otlploggrpc.WithEndpointURL(tg.endpoint.String()),
			otlploggrpc.WithHeaders(tg.headers), otlploggrpc.WithTimeout(tg.timeout))
	default:
		exp, err = otlploghttp.New(ctx, otlploghttp.WithEndpointURL(tg.endpoint.String()),
			otlploghttp.WithHeaders(tg.headers), otlploghttp.WithTimeout(tg.timeout))
	}
	if err != nil {
		return nil, exportErr(sigLogs, err)
	}
	return exp, nil
}
