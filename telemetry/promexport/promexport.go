// Package promexport exposes telemetry's metrics for a Prometheus server
// to scrape, beside or instead of OTLP export:
//
//	reader, handler, err := promexport.New()
//	tel, err := telemetry.Setup(ctx, telemetry.Config{MetricReaders: []sdkmetric.Reader{reader}})
//	adminMux.Handle("GET /metrics", handler) // an internal port, or behind auth
//
// Metric names follow Prometheus' translation of the OpenTelemetry names
// (http.server.request.duration becomes
// http_server_request_duration_seconds); resource attributes are in
// target_info. It is its own package so that a service that does not
// scrape links no Prometheus client.
package promexport

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// New returns a metric reader for telemetry.Config.MetricReaders and the
// handler that serves what it reads in the Prometheus text format. Each
// call has a registry of its own: nothing is put in Prometheus' global
// registry.
func New() (sdkmetric.Reader, http.Handler, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, err
	}
	return exp, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}
