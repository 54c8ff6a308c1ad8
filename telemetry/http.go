package telemetry

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pavedroad/paved/httpx"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// httpMetrics holds the stable HTTP server instruments of the semantic
// conventions and their bound attribute sets.
type httpMetrics struct {
	duration    metric.Float64Histogram
	reqSize     metric.Int64Histogram
	respSize    metric.Int64Histogram
	active      metric.Int64UpDownCounter
	routes      *table[routeKey]
	activeAttrs *table[pair] // method, scheme
	untraced    map[string]bool
	bodySizes   bool
}

type routeKey struct {
	method, pattern, scheme, proto string
	status                         int
}

func (t *Telemetry) httpInstruments() error {
	m := t.meter
	h := &httpMetrics{untraced: map[string]bool{}, bodySizes: t.s.cfg.HTTP.BodySizes}
	for _, p := range t.s.untraced {
		h.untraced[p] = true
	}
	var err error
	h.duration, err = m.Float64Histogram("http.server.request.duration", metric.WithDescription("Duration of HTTP server requests."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	if err != nil {
		return err
	}
	if h.reqSize, err = m.Int64Histogram("http.server.request.body.size", metric.WithDescription("Size of HTTP server request bodies."), metric.WithUnit("By")); err != nil {
		return err
	}
	if h.respSize, err = m.Int64Histogram("http.server.response.body.size", metric.WithDescription("Size of HTTP server response bodies."), metric.WithUnit("By")); err != nil {
		return err
	}
	if h.active, err = m.Int64UpDownCounter("http.server.active_requests", metric.WithDescription("Number of active HTTP server requests."), metric.WithUnit("{request}")); err != nil {
		return err
	}
	h.routes = newTable(t.s.cfg.MaxAttributeSets, func(k routeKey) []attribute.KeyValue {
		kv := []attribute.KeyValue{
			attribute.String("http.request.method", k.method),
			attribute.String("url.scheme", k.scheme),
			attribute.String("network.protocol.name", "http"),
			attribute.String("network.protocol.version", k.proto),
		}
		if k.status > 0 {
			kv = append(kv, attribute.Int("http.response.status_code", k.status))
		}
		if k.pattern == Other {
			kv = append(kv, attribute.String("http.route", Other))
		} else if route := routeOf(k.pattern); route != "" {
			kv = append(kv, attribute.String("http.route", route))
		}
		if k.status >= 500 {
			kv = append(kv, attribute.String("error.type", strconv.Itoa(k.status)))
		}
		return kv
	}, routeKey{method: Other, pattern: Other, scheme: "http", proto: "1.1"}, t.overflowFunc("http.server.request.duration"))
	h.activeAttrs = newTable(64, func(k pair) []attribute.KeyValue {
		return []attribute.KeyValue{attribute.String("http.request.method", k.a), attribute.String("url.scheme", k.b)}
	}, pair{Other, "http"}, nil)
	t.http = h
	return nil
}

// routeOf turns a ServeMux pattern ("GET example.com/orders/{id}") into
// the route of the semantic conventions ("/orders/{id}").
func routeOf(pattern string) string {
	if pattern == "" {
		return ""
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = strings.TrimLeft(pattern[i+1:], " \t")
	}
	i := strings.IndexByte(pattern, '/')
	if i < 0 {
		return ""
	}
	return clipRoute(strings.TrimSuffix(pattern[i:], "{$}"))
}

func clipRoute(s string) string {
	if len(s) > 256 {
		return s[:256]
	}
	return s
}

// method returns the method as the semantic conventions record it: one of
// the known methods, else _OTHER. It allocates nothing.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace, "QUERY":
		return m
	}
	return Other
}

func protoVersion(r *http.Request) string {
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 1:
		return "1.1"
	case r.ProtoMajor == 2:
		return "2"
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return "1.0"
	case r.ProtoMajor == 3:
		return "3"
	}
	return Other
}

// Middleware returns next wrapped in the HTTP instrumentation: a server
// span per request named "METHOD route", and the semantic conventions'
// http.server.request.duration and http.server.active_requests (and,
// with Config.HTTP.BodySizes, the request and response body sizes),
// attributed by the route pattern (r.Pattern, which http.ServeMux sets)
// and never by the raw path. /livez, /readyz and Config.HTTP.UntracedPaths
// are served untouched. An inbound traceparent is linked to the span, not
// made its parent, unless Config.OptOuts holds TrustTraceContext.
//
// When t is nil, or neither traces nor metrics are on, Middleware returns
// next itself: a service without telemetry pays nothing. Wrap the
// handler given to httpx (Config.Handler), inside httpx's chain, so that
// r.Pattern is the router's.
func (t *Telemetry) Middleware(next http.Handler) http.Handler {
	if t == nil || (!t.traces && !t.metrics) {
		return next
	}
	return &handler{t: t, next: next}
}

type handler struct {
	t    *Telemetry
	next http.Handler
}

var writerPool = sync.Pool{New: func() any { return new(statusWriter) }}

var (
	spanOpts = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := h.t
	hm := t.http
	if hm.untraced[r.URL.Path] {
		h.next.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	m := method(r.Method)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	ctx := r.Context()
	active := hm.activeAttrs.get(pair{m, scheme})
	hm.active.Add(ctx, 1, active.add...)

	var span trace.Span
	if t.traces {
		ctx, span = t.startSpan(ctx, r, m)
		r = r.WithContext(ctx)
	}
	sw := writerPool.Get().(*statusWriter)
	sw.w, sw.status, sw.written, sw.wroteHeader = w, 0, 0, false
	panicked := true
	defer func() {
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		if panicked {
			status = http.StatusInternalServerError
		}
		written := sw.written
		if !panicked {
			*sw = statusWriter{}
			writerPool.Put(sw)
		}
		b := hm.routes.get(routeKey{method: m, pattern: r.Pattern, scheme: scheme, proto: protoVersion(r), status: status})
		hm.duration.Record(ctx, time.Since(start).Seconds(), b.rec...)
		if hm.bodySizes {
			if r.ContentLength >= 0 {
				hm.reqSize.Record(ctx, r.ContentLength, b.rec...)
			}
			hm.respSize.Record(ctx, written, b.rec...)
		}
		hm.active.Add(ctx, -1, active.add...)
		if span != nil {
			if span.IsRecording() {
				endSpan(span, r, m, scheme, status)
			}
			span.End()
		}
	}()
	h.next.ServeHTTP(sw, r)
	panicked = false
}

// startSpan starts the server span. Without TrustTraceContext, an inbound
// traceparent is only linked: the span starts a trace of its own (or
// joins an in-process parent), so a client cannot choose the trace ID nor
// force sampling.
func (t *Telemetry) startSpan(ctx context.Context, r *http.Request, m string) (context.Context, trace.Span) {
	if r.Header.Get("Traceparent") == "" {
		return t.tracer.Start(ctx, m, spanOpts...)
	}
	if t.s.trust {
		ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
		return t.tracer.Start(ctx, m, spanOpts...)
	}
	remote := trace.SpanContextFromContext(t.prop.Extract(context.Background(), propagation.HeaderCarrier(r.Header)))
	if !remote.IsValid() {
		return t.tracer.Start(ctx, m, spanOpts...)
	}
	return t.tracer.Start(ctx, m, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithLinks(trace.Link{SpanContext: remote, Attributes: []attribute.KeyValue{attribute.Bool("paved.untrusted_parent", true)}}))
}

// endSpan names a sampled span by its route and sets its attributes. Only
// recording spans pay for this.
func endSpan(span trace.Span, r *http.Request, m, scheme string, status int) {
	route := routeOf(r.Pattern)
	if route != "" {
		span.SetName(m + " " + route)
	}
	kv := make([]attribute.KeyValue, 0, 12)
	kv = append(kv,
		attribute.String("http.request.method", m),
		attribute.String("url.path", clipRoute(r.URL.Path)),
		attribute.String("url.scheme", scheme),
		attribute.String("network.protocol.version", protoVersion(r)),
		attribute.Int("http.response.status_code", status))
	if m == Other {
		kv = append(kv, attribute.String("http.request.method_original", clip(r.Method)))
	}
	if route != "" {
		kv = append(kv, attribute.String("http.route", route))
	}
	if host := r.Host; host != "" {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		kv = append(kv, attribute.String("server.address", clip(host)))
	}
	if ua := r.UserAgent(); ua != "" {
		kv = append(kv, attribute.String("user_agent.original", clipRoute(ua)))
	}
	if ip := httpx.ClientIP(r); ip.IsValid() {
		kv = append(kv, attribute.String("client.address", ip.String()))
	}
	if id := httpx.RequestIDFrom(r.Context()); id != "" {
		kv = append(kv, attribute.String("paved.request_id", id))
	}
	if status >= 500 {
		kv = append(kv, attribute.String("error.type", strconv.Itoa(status)))
		span.SetStatus(codes.Error, "")
	}
	span.SetAttributes(kv...)
}

// statusWriter records the status and body size. It keeps the writer's
// optional interfaces reachable through Unwrap (http.ResponseController)
// and offers Flush, Hijack and ReadFrom itself.
type statusWriter struct {
	w           http.ResponseWriter
	status      int
	written     int64
	wroteHeader bool
}

func (s *statusWriter) Header() http.Header { return s.w.Header() }

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader && code >= 200 {
		s.status, s.wroteHeader = code, true
	}
	s.w.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = http.StatusOK, true
	}
	n, err := s.w.Write(p)
	s.written += int64(n)
	return n, err
}

func (s *statusWriter) Flush() {
	if !s.wroteHeader {
		s.status, s.wroteHeader = http.StatusOK, true
	}
	_ = http.NewResponseController(s.w).Flush()
}

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(s.w).Hijack()
}

func (s *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = http.StatusOK, true
	}
	n, err := io.Copy(s.w, src)
	s.written += n
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.w }
