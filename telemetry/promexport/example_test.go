package promexport_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/pavedroad/paved/telemetry/promexport"
)

// A reader and its scrape handler: what a meter records through the reader
// is what a Prometheus server reads from the handler. A service passes the
// reader to telemetry.Config.MetricReaders instead of building the meter
// provider itself.
func ExampleNew() {
	reader, handler, err := promexport.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	requests, _ := provider.Meter("example").Int64Counter("demo.requests")
	requests.Add(context.Background(), 3)

	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "demo_requests_total{") {
			fmt.Println("demo_requests_total", line[strings.LastIndexByte(line, ' ')+1:])
		}
	}
	// Output: demo_requests_total 3
}
