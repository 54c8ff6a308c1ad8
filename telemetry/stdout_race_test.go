package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved/telemetry"
)

// Config.Stdout may be any io.Writer, even one unsafe for concurrent use:
// the three stdout exporters' writes are serialised (run with -race).
func TestStdoutWriterNeedNotBeConcurrencySafe(t *testing.T) {
	var out strings.Builder
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "race", Exporter: telemetry.ExporterStdout,
		Stdout: &out, MetricInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := tel.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for range 50 {
		r := httptest.NewRequest("GET", "/x", nil)
		r.Pattern = "GET /x"
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	time.Sleep(250 * time.Millisecond) // a metric export or two alongside the spans
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"Name":"GET /x"`) {
		t.Fatalf("no span in the output:\n%.500s", out.String())
	}
}
