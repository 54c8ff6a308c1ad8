package telemetry

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pavedroad/paved"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Exporter selects where telemetry goes.
type Exporter string

// Exporters.
const (
	// ExporterAuto (the zero value) exports by OTLP when an OTLP endpoint
	// is configured, in Config.OTLP.Endpoint or the OTEL_EXPORTER_OTLP_*
	// variables, and exports nothing otherwise; OTEL_{TRACES,METRICS,
	// LOGS}_EXPORTER ("otlp", "console", "none") choose per signal.
	ExporterAuto Exporter = ""
	// ExporterNone exports nothing: Setup installs nothing and
	// [Telemetry.Middleware] wraps no handler.
	ExporterNone Exporter = "none"
	// ExporterStdout writes every signal as JSON to Config.Stdout, for
	// development.
	ExporterStdout Exporter = "stdout"
	// ExporterOTLP exports by OTLP (gRPC or HTTP, see OTLPConfig.Protocol).
	ExporterOTLP Exporter = "otlp"
)

// OTLP protocols.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// Defaults applied by [Setup] to zero fields of [Config].
const (
	DefaultShutdownTimeout  = 5 * time.Second
	DefaultMetricInterval   = 60 * time.Second
	DefaultMaxAttributeSets = 512
	DefaultQueueSize        = 2048
)

// Config configures [Setup]. The zero value is valid: it reads the
// standard OTEL_* variables and, without an OTLP endpoint among them,
// exports nothing. Code settings win over the variables.
type Config struct {
	// ServiceName is the service.name resource attribute. Default
	// OTEL_SERVICE_NAME, else the last element of the main module's path,
	// else the executable's name.
	ServiceName string
	// ServiceVersion is service.version. Default the main module's version
	// when it has one, else the VCS revision from the build info (its
	// first 12 characters, "-modified" appended for a dirty tree), else
	// "unknown".
	ServiceVersion string
	// Environment is deployment.environment.name ("production",
	// "staging"). Default the deployment.environment.name of
	// OTEL_RESOURCE_ATTRIBUTES, else none.
	Environment string
	// Attributes are further resource attributes; OTEL_RESOURCE_ATTRIBUTES
	// adds its own.
	Attributes []attribute.KeyValue

	// Exporter selects the exporters; see [ExporterAuto].
	Exporter Exporter
	// Stdout receives the stdout exporters' output; os.Stdout when nil.
	// The three exporters write from their own goroutines: Setup
	// serialises their writes, so any io.Writer will do (a
	// strings.Builder too, read after Shutdown), and each JSON document
	// arrives whole. Only one Setup's writes are serialised: two Setups
	// sharing a writer need one safe for concurrent use (os.Stdout is).
	Stdout io.Writer
	// OTLP configures the OTLP exporters.
	OTLP OTLPConfig

	// SampleRatio is the share of new traces sampled, from 0 to 1; a span
	// whose parent is in the process follows its parent (parent-based
	// ratio sampling). Default OTEL_TRACES_SAMPLER(_ARG), else 1. Zero
	// means the default: sample no trace with
	// OTEL_TRACES_SAMPLER=parentbased_always_off.
	SampleRatio float64
	// MetricInterval is how often metrics are exported. Default
	// OTEL_METRIC_EXPORT_INTERVAL, else 60s; from 100ms to 1h.
	MetricInterval time.Duration
	// ShutdownTimeout bounds [Telemetry.Shutdown], whatever its context.
	// Default 5s; from 100ms to 1m.
	ShutdownTimeout time.Duration
	// QueueSize bounds the span and log queues in front of the
	// exporters: when the exporter is slow or unreachable, further spans
	// and records are dropped, never waited for. The SDK counts the drops
	// in otel.sdk.processor.*.processed with error.type queue_full
	// through OpenTelemetry's global meter provider: in this Telemetry's
	// metrics unless LeaveGlobals is set. Default OTEL_BSP_MAX_QUEUE_SIZE / OTEL_BLRP_MAX_QUEUE_SIZE,
	// else 2048; from 16 to 1,048,576.
	QueueSize int
	// MaxAttributeSets bounds the distinct attribute sets each paved
	// instrument records (routes, reasons...): past it, a new combination
	// is recorded with its unbounded attributes set to "_OTHER" and
	// counted in paved.telemetry.attribute_overflow. Default 512; from 16
	// to 65,536.
	MaxAttributeSets int

	// HTTP configures [Telemetry.Middleware].
	HTTP HTTPConfig

	// MetricReaders are further readers given to the meter provider, such
	// as a Prometheus exporter. Metrics are recorded when there is one,
	// even when nothing is exported by OTLP.
	MetricReaders []sdkmetric.Reader

	// Logger receives telemetry's own messages (opt-outs, export errors);
	// slog.Default when nil.
	Logger *slog.Logger
	// Posture records telemetry's controls and opt-outs, and is the
	// registry exported as posture metrics; paved.DefaultPosture when nil.
	Posture *paved.Posture
	// LeaveGlobals keeps Setup from installing its providers and
	// propagator as OpenTelemetry's globals (otel.SetTracerProvider...).
	LeaveGlobals bool
	// LeaveDefaultSink keeps Setup from installing the Telemetry as
	// paved's default sink (paved.SetDefaultSink).
	LeaveDefaultSink bool

	// Getenv reads the OTEL_* variables; os.LookupEnv when nil.
	Getenv func(key string) (string, bool)

	// OptOuts lists the secure defaults telemetry leaves, each with its
	// reason: [TrustTraceContext], [AllowPlaintextExport],
	// [AllowSubjectInLogs].
	OptOuts []paved.OptOut

	hooks *testHooks // in-memory exporters, for this package's tests
}

// testHooks replace the exporters of traces and logs.
type testHooks struct {
	spans sdktrace.SpanExporter
	logs  sdklog.Exporter
}

// OTLPConfig configures the OTLP exporters. Each zero field takes the
// matching OTEL_EXPORTER_OTLP_* variable. The exporters read
// OTEL_EXPORTER_OTLP_[SIGNAL_]CERTIFICATE, CLIENT_CERTIFICATE, CLIENT_KEY
// and COMPRESSION from the process environment themselves; Setup refuses
// a file that cannot be read or parsed and an unknown compression, which
// the exporters would only log.
type OTLPConfig struct {
	// Endpoint is the collector's base URL ("https://collector:4317"
	// for gRPC, "https://collector:4318" for HTTP, where /v1/traces,
	// /v1/metrics and /v1/logs are appended). Default
	// OTEL_EXPORTER_OTLP_ENDPOINT; a signal's own
	// OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT is used as is.
	// An http:// endpoint is plain text: only loopback unless OptOuts
	// holds AllowPlaintextExport.
	Endpoint string
	// Protocol is "grpc" or "http/protobuf". Default
	// OTEL_EXPORTER_OTLP_PROTOCOL, else "http/protobuf" (the OTel default).
	Protocol string
	// Headers are sent with every export (an API key, say). Default
	// OTEL_EXPORTER_OTLP_HEADERS. Their values are never logged.
	Headers map[string]string
	// Timeout bounds each export. Default OTEL_EXPORTER_OTLP_TIMEOUT, else
	// 10s; from 100ms to 1m.
	Timeout time.Duration
}

// HTTPConfig configures the HTTP instrumentation.
type HTTPConfig struct {
	// UntracedPaths are request paths served without spans or metrics.
	// /livez and /readyz are always among them.
	UntracedPaths []string
	// BodySizes adds http.server.request.body.size and
	// http.server.response.body.size (both still in development in the
	// semantic conventions). Default off: each costs a measurement per
	// request.
	BodySizes bool
}

// signal is one of traces, metrics, logs.
type signal int

const (
	sigTraces signal = iota
	sigMetrics
	sigLogs
)

var signalNames = [...]string{"TRACES", "METRICS", "LOGS"}
var signalPaths = [...]string{"/v1/traces", "/v1/metrics", "/v1/logs"}

// exportTarget is where one signal goes, resolved from Config and the
// variables.
type exportTarget struct {
	kind     Exporter // none, stdout, otlp
	protocol string
	endpoint *url.URL // full URL (HTTP: with the signal's path)
	headers  map[string]string
	timeout  time.Duration
}

// settings is Config resolved against the environment.
type settings struct {
	cfg       Config
	disabled  bool
	targets   [3]exportTarget
	ratio     float64
	sampler   string // parentbased_traceidratio etc.
	bspQueue  int
	blrpQueue int
	bspDelay  time.Duration
	blrpDelay time.Duration
	trust     bool
	subject   bool
	plaintext bool
	resAttrs  []attribute.KeyValue
	propagate []string
	optOuts   []paved.OptOut
	untraced  []string
}

// env returns the variable and whether it is set to a non-blank value.
func (s *settings) env(key string) (string, bool) {
	v, ok := s.cfg.Getenv(key)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// resolve validates cfg and the OTEL_* variables, reporting every fault at
// once, each naming the field or the variable.
func resolve(cfg Config) (*settings, error) {
	c := paved.ConfigCheck{Component: Component}
	if cfg.Getenv == nil {
		cfg.Getenv = os.LookupEnv
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	cfg.Stdout = &lockedWriter{w: cfg.Stdout}
	s := &settings{cfg: cfg}

	// Opt-outs.
	for i, o := range cfg.OptOuts {
		field := fmt.Sprintf("Config.OptOuts[%d]", i)
		ctor, ours := optOutConstructors[o.Name]
		switch {
		case o.Component != Component:
			c.Add(field, fmt.Sprintf("%s/%s does not belong to telemetry", o.Component, o.Name), "give it to the configuration of the package that owns it")
		case !ours || o.Name == OptOutAllowPublicPosture:
			c.Add(field, fmt.Sprintf("%q is not an opt-out of telemetry.Config", o.Name),
				"use telemetry.TrustTraceContext, AllowPlaintextExport or AllowSubjectInLogs (AllowPublicPosture goes to PostureHandler)")
		default:
			if err := o.Validate(); err != nil {
				c.Merge(&paved.ConfigError{Component: Component, Field: field,
					Problem: "the reason given to telemetry." + ctor.name + " is empty",
					Fix:     "say why, such as telemetry." + ctor.name + "(" + strconv.Quote(ctor.example) + ")", Err: err})
				continue
			}
			switch o.Name {
			case OptOutTrustTraceContext:
				s.trust = true
			case OptOutAllowPlaintextExport:
				s.plaintext = true
			case OptOutAllowSubjectInLogs:
				s.subject = true
			}
			s.optOuts = append(s.optOuts, o)
		}
	}

	if v, ok := s.env("OTEL_SDK_DISABLED"); ok {
		b, err := parseBool(v)
		if err != nil {
			c.Add("OTEL_SDK_DISABLED", fmt.Sprintf("%q is not a boolean", v), `want "true" or "false"`)
		}
		s.disabled = b
	}

	// Resource.
	if v, ok := s.env("OTEL_RESOURCE_ATTRIBUTES"); ok {
		attrs, err := parseResourceAttrs(v)
		if err != nil {
			c.Add("OTEL_RESOURCE_ATTRIBUTES", err.Error(), "want key=value pairs separated by commas, values percent-encoded")
		}
		s.resAttrs = attrs
	}

	// Sampling.
	s.sampler, s.ratio = "parentbased_traceidratio", 1
	if v, ok := s.env("OTEL_TRACES_SAMPLER"); ok {
		switch v {
		case "always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio":
			s.sampler = v
		default:
			c.Add("OTEL_TRACES_SAMPLER", fmt.Sprintf("%q is not a sampler this SDK offers", v),
				"want parentbased_traceidratio, parentbased_always_on, parentbased_always_off, traceidratio, always_on or always_off")
		}
	}
	if v, ok := s.env("OTEL_TRACES_SAMPLER_ARG"); ok && strings.HasSuffix(s.sampler, "traceidratio") {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			c.Add("OTEL_TRACES_SAMPLER_ARG", fmt.Sprintf("%q is not a ratio from 0 to 1", v), `want a number such as "0.1"`)
		} else {
			s.ratio = f
		}
	}
	switch {
	case cfg.SampleRatio == 0:
	case cfg.SampleRatio < 0 || cfg.SampleRatio > 1:
		c.Add("Config.SampleRatio", fmt.Sprintf("%v is not a ratio from 0 to 1", cfg.SampleRatio), "want a number such as 0.1")
	default:
		s.sampler, s.ratio = "parentbased_traceidratio", cfg.SampleRatio
	}

	// Propagators.
	s.propagate = []string{"tracecontext", "baggage"}
	if v, ok := s.env("OTEL_PROPAGATORS"); ok {
		s.propagate = nil
		for _, p := range strings.Split(v, ",") {
			switch p = strings.TrimSpace(p); p {
			case "tracecontext", "baggage", "none":
				s.propagate = append(s.propagate, p)
			default:
				c.Add("OTEL_PROPAGATORS", fmt.Sprintf("%q is not a propagator this SDK offers", p), `want a comma-separated list of "tracecontext", "baggage" or "none"`)
			}
		}
	}

	// Durations and sizes.
	s.cfg.MetricInterval = durationSetting(&c, s, "Config.MetricInterval", cfg.MetricInterval, "OTEL_METRIC_EXPORT_INTERVAL", DefaultMetricInterval, 100*time.Millisecond, time.Hour)
	if s.cfg.ShutdownTimeout == 0 {
		s.cfg.ShutdownTimeout = DefaultShutdownTimeout
	} else if s.cfg.ShutdownTimeout < 100*time.Millisecond || s.cfg.ShutdownTimeout > time.Minute {
		c.Add("Config.ShutdownTimeout", fmt.Sprintf("%s is out of range", cfg.ShutdownTimeout), "want from 100ms to 1m")
	}
	if s.cfg.MaxAttributeSets == 0 {
		s.cfg.MaxAttributeSets = DefaultMaxAttributeSets
	} else if s.cfg.MaxAttributeSets < 16 || s.cfg.MaxAttributeSets > 65536 {
		c.Add("Config.MaxAttributeSets", fmt.Sprintf("%d is out of range", cfg.MaxAttributeSets), "want from 16 to 65536")
	}
	if cfg.QueueSize != 0 && (cfg.QueueSize < 16 || cfg.QueueSize > 1<<20) {
		c.Add("Config.QueueSize", fmt.Sprintf("%d is out of range", cfg.QueueSize), "want from 16 to 1048576")
	}
	s.bspQueue = intSetting(&c, s, cfg.QueueSize, "OTEL_BSP_MAX_QUEUE_SIZE", DefaultQueueSize)
	s.blrpQueue = intSetting(&c, s, cfg.QueueSize, "OTEL_BLRP_MAX_QUEUE_SIZE", DefaultQueueSize)
	s.bspDelay = durationSetting(&c, s, "", 0, "OTEL_BSP_SCHEDULE_DELAY", 5*time.Second, time.Millisecond, time.Hour)
	s.blrpDelay = durationSetting(&c, s, "", 0, "OTEL_BLRP_SCHEDULE_DELAY", time.Second, time.Millisecond, time.Hour)
	for _, k := range []string{"OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BLRP_EXPORT_TIMEOUT", "OTEL_METRIC_EXPORT_TIMEOUT"} {
		durationSetting(&c, s, "", 0, k, time.Second, time.Millisecond, time.Hour)
	}
	for _, k := range []string{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"} {
		intSetting(&c, s, 0, k, 512)
	}

	// Exporters.
	switch cfg.Exporter {
	case ExporterAuto, ExporterNone, ExporterStdout, ExporterOTLP:
	default:
		c.Add("Config.Exporter", fmt.Sprintf("%q is not an exporter", cfg.Exporter), `want "" (auto), "none", "stdout" or "otlp"`)
	}
	if cfg.OTLP.Protocol != "" && cfg.OTLP.Protocol != ProtocolGRPC && cfg.OTLP.Protocol != ProtocolHTTP {
		c.Add("Config.OTLP.Protocol", fmt.Sprintf("%q is not an OTLP protocol", cfg.OTLP.Protocol), `want "grpc" or "http/protobuf"`)
	}
	if cfg.OTLP.Timeout != 0 && (cfg.OTLP.Timeout < 100*time.Millisecond || cfg.OTLP.Timeout > time.Minute) {
		c.Add("Config.OTLP.Timeout", fmt.Sprintf("%s is out of range", cfg.OTLP.Timeout), "want from 100ms to 1m")
	}
	// The shared OTEL_EXPORTER_OTLP_* variables are read for each signal:
	// report each fault once.
	seen := map[string]bool{}
	for sig := range s.targets {
		sc := paved.ConfigCheck{Component: Component}
		s.targets[sig] = s.resolveTarget(&sc, signal(sig))
		for _, ce := range paved.ConfigErrors(sc.Err()) {
			if k := ce.Field + "\x00" + ce.Problem; !seen[k] {
				seen[k] = true
				c.Merge(ce)
			}
		}
	}

	s.untraced = append([]string{"/livez", "/readyz"}, cfg.HTTP.UntracedPaths...)
	for i, p := range cfg.HTTP.UntracedPaths {
		if !strings.HasPrefix(p, "/") {
			c.Add(fmt.Sprintf("Config.HTTP.UntracedPaths[%d]", i), fmt.Sprintf("%q is not a path", p), `want a path such as "/metrics"`)
		}
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if h := cfg.hooks; h != nil {
		if h.spans != nil {
			s.targets[sigTraces].kind = ExporterStdout
		}
		if h.logs != nil {
			s.targets[sigLogs].kind = ExporterStdout
		}
	}
	if s.disabled {
		for i := range s.targets {
			s.targets[i].kind = ExporterNone
		}
	}
	return s, nil
}

// resolveTarget decides where one signal goes.
func (s *settings) resolveTarget(c *paved.ConfigCheck, sig signal) exportTarget {
	name := signalNames[sig]
	t := exportTarget{kind: s.cfg.Exporter}

	// Protocol.
	t.protocol = ProtocolHTTP
	if v, ok := s.env("OTEL_EXPORTER_OTLP_PROTOCOL"); ok {
		t.protocol = checkProtocol(c, "OTEL_EXPORTER_OTLP_PROTOCOL", v)
	}
	if v, ok := s.env("OTEL_EXPORTER_OTLP_" + name + "_PROTOCOL"); ok {
		t.protocol = checkProtocol(c, "OTEL_EXPORTER_OTLP_"+name+"_PROTOCOL", v)
	}
	if s.cfg.OTLP.Protocol != "" {
		t.protocol = s.cfg.OTLP.Protocol
	}

	// Endpoint.
	var raw, field string
	perSignal := false
	if v, ok := s.env("OTEL_EXPORTER_OTLP_ENDPOINT"); ok {
		raw, field = v, "OTEL_EXPORTER_OTLP_ENDPOINT"
	}
	if v, ok := s.env("OTEL_EXPORTER_OTLP_" + name + "_ENDPOINT"); ok {
		raw, field, perSignal = v, "OTEL_EXPORTER_OTLP_"+name+"_ENDPOINT", true
	}
	if s.cfg.OTLP.Endpoint != "" {
		raw, field, perSignal = s.cfg.OTLP.Endpoint, "Config.OTLP.Endpoint", false
	}
	if raw != "" {
		u, err := url.Parse(raw)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			c.Add(field, fmt.Sprintf("%q is not an http or https URL with a host", raw), `want a URL such as "https://collector:4317"`)
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			c.Add(field, "holds credentials, a query or a fragment", "put credentials in OTEL_EXPORTER_OTLP_HEADERS; give only scheme, host, port and path")
		default:
			if t.protocol == ProtocolHTTP && !perSignal {
				u.Path = strings.TrimSuffix(u.Path, "/") + signalPaths[sig]
			}
			if u.Scheme == "http" && !s.plaintext && !isLoopback(u.Hostname()) {
				c.Add(field, fmt.Sprintf("%q sends telemetry in plain text to a host that is not loopback", raw),
					`use https, or add telemetry.AllowPlaintextExport(reason) to Config.OptOuts`)
			}
			t.endpoint = u
		}
	}

	// Exporter kind.
	if t.kind == ExporterAuto {
		t.kind = ExporterNone
		if t.endpoint != nil {
			t.kind = ExporterOTLP
		}
		if v, ok := s.env("OTEL_" + name + "_EXPORTER"); ok {
			switch v {
			case "otlp":
				t.kind = ExporterOTLP
			case "console":
				t.kind = ExporterStdout
			case "none":
				t.kind = ExporterNone
			default:
				c.Add("OTEL_"+name+"_EXPORTER", fmt.Sprintf("%q is not an exporter this SDK offers", v), `want "otlp", "console" or "none"`)
			}
		}
	}

	// Headers.
	t.headers = map[string]string{}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_" + name + "_HEADERS"} {
		if v, ok := s.env(k); ok {
			h, err := parseHeaders(v)
			if err != nil {
				c.Add(k, err.Error(), "want key=value pairs separated by commas, values percent-encoded (the values are not shown here)")
			}
			for hk, hv := range h {
				t.headers[hk] = hv
			}
		}
	}
	for k, v := range s.cfg.OTLP.Headers {
		if !validHeaderName(k) {
			c.Add("Config.OTLP.Headers", fmt.Sprintf("%q is not a header name", k), "want a token such as \"api-key\"")
		}
		t.headers[k] = v
	}

	// Timeout and insecure.
	t.timeout = 10 * time.Second
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_" + name + "_TIMEOUT"} {
		if v, ok := s.env(k); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				c.Add(k, fmt.Sprintf("%q is not a positive number of milliseconds", v), `want milliseconds, such as "10000"`)
			} else {
				t.timeout = time.Duration(n) * time.Millisecond
			}
		}
	}
	if s.cfg.OTLP.Timeout != 0 {
		t.timeout = s.cfg.OTLP.Timeout
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_" + name + "_INSECURE"} {
		if v, ok := s.env(k); ok {
			b, err := parseBool(v)
			if err != nil {
				c.Add(k, fmt.Sprintf("%q is not a boolean", v), `want "true" or "false"`)
			} else if b && t.endpoint != nil && t.endpoint.Scheme == "https" {
				c.Add(k, "true, beside an https endpoint", "give an http:// endpoint for plain text, or drop the variable")
			}
		}
	}
	s.checkTLSFiles(c, name)
	for _, k := range []string{"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_" + name + "_COMPRESSION"} {
		if v, ok := s.env(k); ok && v != "gzip" && v != "none" {
			c.Add(k, fmt.Sprintf("%q is not a compression the exporters offer", v), `want "gzip" or "none"`)
		}
	}
	if t.kind == ExporterOTLP && t.endpoint == nil {
		// The OTel default endpoints, on loopback.
		port := "4318"
		if t.protocol == ProtocolGRPC {
			port = "4317"
		}
		t.endpoint = &url.URL{Scheme: "http", Host: "localhost:" + port}
		if t.protocol == ProtocolHTTP {
			t.endpoint.Path = signalPaths[sig]
		}
	}
	return t
}

// checkTLSFiles checks the certificate variables the OTLP exporters read
// themselves: on a file they cannot use, they only log and carry on
// without it (no private CA, no client certificate), so Setup refuses it.
func (s *settings) checkTLSFiles(c *paved.ConfigCheck, name string) {
	for _, p := range []string{"OTEL_EXPORTER_OTLP_", "OTEL_EXPORTER_OTLP_" + name + "_"} {
		if v, ok := s.env(p + "CERTIFICATE"); ok {
			//paved:allow G304 the path is the OTel exporter's certificate variable; Setup checks it is usable
			b, err := os.ReadFile(v)
			switch {
			case err != nil:
				c.Add(p+"CERTIFICATE", fmt.Sprintf("%q cannot be read: %v", v, err), "give the path of a readable PEM file of the collector's CA certificates")
			case !x509.NewCertPool().AppendCertsFromPEM(b):
				c.Add(p+"CERTIFICATE", fmt.Sprintf("%q holds no PEM certificate", v), "give the path of a PEM file of the collector's CA certificates")
			}
		}
		cert, certOK := s.env(p + "CLIENT_CERTIFICATE")
		key, keyOK := s.env(p + "CLIENT_KEY")
		switch {
		case certOK && !keyOK:
			c.Add(p+"CLIENT_KEY", "not set, beside "+p+"CLIENT_CERTIFICATE", "give the client certificate's private key file too, or neither")
		case keyOK && !certOK:
			c.Add(p+"CLIENT_CERTIFICATE", "not set, beside "+p+"CLIENT_KEY", "give the client certificate file too, or neither")
		case certOK && keyOK:
			if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
				c.Add(p+"CLIENT_CERTIFICATE", fmt.Sprintf("%q and %s's file are not a usable certificate and key: %v", cert, p+"CLIENT_KEY", err),
					"give PEM files of a client certificate and its private key")
			}
		}
	}
}

func checkProtocol(c *paved.ConfigCheck, key, v string) string {
	switch v {
	case ProtocolGRPC, ProtocolHTTP:
		return v
	case "http/json":
		c.Add(key, `"http/json" is not offered by the Go SDK`, `want "grpc" or "http/protobuf"`)
	default:
		c.Add(key, fmt.Sprintf("%q is not an OTLP protocol", v), `want "grpc" or "http/protobuf"`)
	}
	return ProtocolHTTP
}

func durationSetting(c *paved.ConfigCheck, s *settings, field string, v time.Duration, key string, def, lo, hi time.Duration) time.Duration {
	if field != "" && v != 0 {
		if v < lo || v > hi {
			c.Add(field, fmt.Sprintf("%s is out of range", v), fmt.Sprintf("want from %s to %s", lo, hi))
		}
		return v
	}
	if raw, ok := s.env(key); ok {
		n, err := strconv.Atoi(raw)
		d := time.Duration(n) * time.Millisecond
		if err != nil || n <= 0 || d < lo || d > hi {
			c.Add(key, fmt.Sprintf("%q is not a number of milliseconds from %d to %d", raw, lo.Milliseconds(), hi.Milliseconds()), `want milliseconds, such as "5000"`)
			return def
		}
		return d
	}
	return def
}

func intSetting(c *paved.ConfigCheck, s *settings, v int, key string, def int) int {
	if v != 0 {
		return v
	}
	if raw, ok := s.env(key); ok {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 1<<20 {
			c.Add(key, fmt.Sprintf("%q is not a whole number from 1 to 1048576", raw), `want a number such as "2048"`)
			return def
		}
		return n
	}
	return def
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

// parseResourceAttrs parses OTEL_RESOURCE_ATTRIBUTES (W3C baggage-like
// key=value list, percent-encoded values).
func parseResourceAttrs(v string) ([]attribute.KeyValue, error) {
	var out []attribute.KeyValue
	for i, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, val, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("pair %d (%q) is not key=value", i+1, truncate(p, 40))
		}
		dec, err := url.PathUnescape(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("the value of %q is not valid percent-encoding", k)
		}
		out = append(out, attribute.String(k, dec))
	}
	return out, nil
}

// parseHeaders parses OTEL_EXPORTER_OTLP_HEADERS. Its errors never quote
// a value: headers carry API keys.
func parseHeaders(v string) (map[string]string, error) {
	out := map[string]string{}
	for i, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, val, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || !validHeaderName(k) {
			return nil, fmt.Errorf("entry %d has no valid header name before '='", i+1)
		}
		dec, err := url.PathUnescape(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("the value of header %q is not valid percent-encoding", k)
		}
		out[k] = dec
	}
	return out, nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return http.CanonicalHeaderKey(k) != ""
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// anyOn reports whether a signal is exported anywhere.
func (s *settings) on(sig signal) bool { return s.targets[sig].kind != ExporterNone }

func (s *settings) metricsOn() bool { return s.on(sigMetrics) || len(s.cfg.MetricReaders) > 0 }

// lockedWriter serialises the stdout exporters' writes (each writes one
// JSON document per Write).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
