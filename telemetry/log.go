package telemetry

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys the log bridge adds to each record passed to the next
// handler, from the span in the record's context.
const (
	LogKeyTraceID = "trace_id"
	LogKeySpanID  = "span_id"
)

// LogHandler returns a slog.Handler that sends every record both to next
// (nil: none) and, when logs are exported, to the OpenTelemetry log
// pipeline through the otelslog bridge, whose records carry the trace and
// span IDs of the record's context in their trace fields. Records passed
// to next gain trace_id and span_id attributes when the context holds a
// valid span.
//
// Secret values stay redacted end to end: every slog.LogValuer, in the
// record, in groups and in WithAttrs, is resolved before either handler
// sees it, so that a type that redacts itself in LogValue is redacted in
// the exported log too; other values of kind Any are exported as their
// JSON encoding (MarshalJSON, as slog.JSONHandler writes them) or their
// MarshalText, never by reflection over their fields.
//
// When t is nil or neither logs nor traces are on, LogHandler returns next.
func (t *Telemetry) LogHandler(next slog.Handler) slog.Handler {
	if t == nil || (!t.logs && !t.traces) {
		return next
	}
	h := &logHandler{next: next, traces: t.traces}
	if t.logs {
		h.otel = otelslog.NewHandler(ScopeName, otelslog.WithLoggerProvider(t.lp),
			otelslog.WithVersion(t.build.serviceVersion()))
	}
	if h.next == nil && h.otel == nil {
		return next
	}
	return h
}

// Logger returns a *slog.Logger over LogHandler(next); next nil means
// only the OpenTelemetry pipeline (or a handler that discards, when logs
// are not exported).
func (t *Telemetry) Logger(next slog.Handler) *slog.Logger {
	h := t.LogHandler(next)
	if h == nil {
		h = slog.DiscardHandler
	}
	return slog.New(h)
}

type logHandler struct {
	next   slog.Handler
	otel   slog.Handler
	traces bool
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return (h.next != nil && h.next.Enabled(ctx, l)) || (h.otel != nil && h.otel.Enabled(ctx, l))
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		n := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool { n.AddAttrs(resolveAttr(a, false)); return true })
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			n.AddAttrs(slog.String(LogKeyTraceID, sc.TraceID().String()), slog.String(LogKeySpanID, sc.SpanID().String()))
		}
		err = h.next.Handle(ctx, n)
	}
	if h.otel != nil && h.otel.Enabled(ctx, r.Level) {
		o := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool { o.AddAttrs(resolveAttr(a, true)); return true })
		if e := h.otel.Handle(ctx, o); err == nil {
			err = e
		}
	}
	return err
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	if h.next != nil {
		plain := make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			plain[i] = resolveAttr(a, false)
		}
		c.next = h.next.WithAttrs(plain)
	}
	if h.otel != nil {
		out := make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			out[i] = resolveAttr(a, true)
		}
		c.otel = h.otel.WithAttrs(out)
	}
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	c := *h
	if h.next != nil {
		c.next = h.next.WithGroup(name)
	}
	if h.otel != nil {
		c.otel = h.otel.WithGroup(name)
	}
	return &c
}

// resolveAttr resolves a's LogValuers, in groups too. For export, a value
// of kind Any other than an error becomes its JSON or text encoding.
func resolveAttr(a slog.Attr, export bool) slog.Attr {
	a.Value = a.Value.Resolve()
	switch a.Value.Kind() {
	case slog.KindGroup:
		g := a.Value.Group()
		out := make([]slog.Attr, len(g))
		for i, m := range g {
			out[i] = resolveAttr(m, export)
		}
		a.Value = slog.GroupValue(out...)
	case slog.KindAny:
		if export {
			a.Value = exportValue(a.Value.Any())
		}
	}
	return a
}

func exportValue(v any) slog.Value {
	switch x := v.(type) {
	case nil:
		return slog.StringValue("<nil>")
	case error:
		return slog.StringValue(x.Error())
	case []byte:
		return slog.AnyValue(x)
	case json.Marshaler:
		if b, err := x.MarshalJSON(); err == nil {
			return slog.StringValue(string(b))
		}
		return slog.StringValue("!ERROR: MarshalJSON failed")
	case encoding.TextMarshaler:
		if b, err := x.MarshalText(); err == nil {
			return slog.StringValue(string(b))
		}
		return slog.StringValue("!ERROR: MarshalText failed")
	case fmt.Stringer:
		return slog.StringValue(x.String())
	}
	b, err := json.Marshal(v)
	if err != nil {
		return slog.StringValue(fmt.Sprintf("!ERROR: %T is not loggable", v))
	}
	return slog.StringValue(string(b))
}

// logAttr converts an event attribute for a log record, with the same
// redaction as LogHandler's.
func logAttr(a slog.Attr) attribute.KeyValue {
	a = resolveAttr(a, true)
	k := attribute.Key(a.Key)
	v := a.Value
	switch v.Kind() {
	case slog.KindBool:
		return k.Bool(v.Bool())
	case slog.KindInt64:
		return k.Int64(v.Int64())
	case slog.KindUint64:
		return k.Int64(int64(min(v.Uint64(), 1<<63-1)))
	case slog.KindFloat64:
		return k.Float64(v.Float64())
	case slog.KindDuration:
		return k.Float64(v.Duration().Seconds())
	case slog.KindTime:
		return k.String(v.Time().UTC().Format("2006-01-02T15:04:05.999999999Z07:00"))
	}
	return k.String(v.String())
}
