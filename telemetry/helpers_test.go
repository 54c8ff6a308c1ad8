package telemetry

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/pavedroad/paved"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// memLogs is an in-memory log exporter.
type memLogs struct {
	mu   sync.Mutex
	recs []sdklog.Record
}

func (m *memLogs) Export(_ context.Context, recs []sdklog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range recs {
		m.recs = append(m.recs, r.Clone())
	}
	return nil
}
func (m *memLogs) Shutdown(context.Context) error   { return nil }
func (m *memLogs) ForceFlush(context.Context) error { return nil }

func (m *memLogs) all() []sdklog.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sdklog.Record(nil), m.recs...)
}

// rig is a Telemetry over in-memory exporters.
type rig struct {
	tel    *Telemetry
	reader *sdkmetric.ManualReader
	spans  *tracetest.InMemoryExporter
	logs   *memLogs
}

func noEnv(string) (string, bool) { return "", false }

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRig(t testing.TB, cfg Config) *rig {
	t.Helper()
	r := &rig{reader: sdkmetric.NewManualReader(), spans: tracetest.NewInMemoryExporter(), logs: &memLogs{}}
	cfg.MetricReaders = append(cfg.MetricReaders, r.reader)
	cfg.hooks = &testHooks{spans: r.spans, logs: r.logs}
	if cfg.Getenv == nil {
		cfg.Getenv = noEnv
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	if cfg.Posture == nil {
		cfg.Posture = &paved.Posture{}
	}
	cfg.LeaveGlobals = true
	cfg.LeaveDefaultSink = true
	tel, err := Setup(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.tel = tel
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return r
}

func (r *rig) collect(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

func findMetric(rm metricdata.ResourceMetrics, name string) (metricdata.Metrics, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// points returns a metric's data points as attribute-encoding -> value
// (sum or gauge value, histogram count).
func points(t testing.TB, rm metricdata.ResourceMetrics, name string) map[string]float64 {
	t.Helper()
	m, ok := findMetric(rm, name)
	if !ok {
		return nil
	}
	out := map[string]float64{}
	enc := func(s attribute.Set) string { return s.Encoded(attribute.DefaultEncoder()) }
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out[enc(p.Attributes)] = float64(p.Value)
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			out[enc(p.Attributes)] = p.Value
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out[enc(p.Attributes)] = float64(p.Value)
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			out[enc(p.Attributes)] = p.Value
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out[enc(p.Attributes)] = float64(p.Count)
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			out[enc(p.Attributes)] = float64(p.Count)
		}
	default:
		t.Fatalf("%s: unexpected data %T", name, m.Data)
	}
	return out
}

func attributeKey(k string) attribute.Key { return attribute.Key(k) }

func (r *rig) spansNow(t testing.TB) tracetest.SpanStubs {
	t.Helper()
	if err := r.tel.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r.spans.GetSpans()
}

type metricdataResourceMetrics = metricdata.ResourceMetrics
