package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pavedroad/paved"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("order")) })
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusBadGateway) })
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {})
	return mux
}

func serve(h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHTTPMetricsByRoute(t *testing.T) {
	rg := newRig(t, Config{HTTP: HTTPConfig{BodySizes: true}})
	h := rg.tel.Middleware(testMux())
	for i := range 3 {
		serve(h, "GET", fmt.Sprintf("/orders/%d", i), nil)
	}
	serve(h, "POST", "/fail", nil)
	serve(h, "GET", "/nowhere", nil)
	serve(h, "GET", "/livez", nil)
	rm := rg.collect(t)
	got := points(t, rm, "http.server.request.duration")
	want := map[string]float64{
		"http.request.method=GET,http.response.status_code=200,http.route=/orders/{id},network.protocol.name=http,network.protocol.version=1.1,url.scheme=http":          3,
		"error.type=502,http.request.method=POST,http.response.status_code=502,http.route=/fail,network.protocol.name=http,network.protocol.version=1.1,url.scheme=http": 1,
		"http.request.method=GET,http.response.status_code=404,network.protocol.name=http,network.protocol.version=1.1,url.scheme=http":                                  1,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("duration points:\n got %v\nwant %v", got, want)
	}
	if got := points(t, rm, "http.server.response.body.size"); len(got) != 3 {
		t.Errorf("response size points = %v", got)
	}
	if got := points(t, rm, "http.server.active_requests"); got["http.request.method=GET,url.scheme=http"] != 0 || len(got) != 2 {
		t.Errorf("active requests = %v", got)
	}
	spans := rg.spansNow(t)
	names := map[string]int{}
	for _, s := range spans {
		names[s.Name]++
		if s.SpanKind != trace.SpanKindServer {
			t.Errorf("%s kind %v", s.Name, s.SpanKind)
		}
	}
	if want := map[string]int{"GET /orders/{id}": 3, "POST /fail": 1, "GET": 1}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("span names = %v, want %v (health checks untraced)", names, want)
	}
}

func TestHTTPUntrustedTraceContextIsLinked(t *testing.T) {
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	for _, trust := range []bool{false, true} {
		t.Run(fmt.Sprint("trust=", trust), func(t *testing.T) {
			cfg := Config{}
			if trust {
				cfg.OptOuts = []paved.OptOut{TrustTraceContext("internal service; every caller is ours")}
			}
			rg := newRig(t, cfg)
			var inner trace.SpanContext
			mux := http.NewServeMux()
			mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) { inner = trace.SpanContextFromContext(r.Context()) })
			serve(rg.tel.Middleware(mux), "GET", "/x", map[string]string{"Traceparent": parent})
			spans := rg.spansNow(t)
			if len(spans) != 1 {
				t.Fatalf("%d spans", len(spans))
			}
			s := spans[0]
			if !s.SpanContext.Equal(inner) {
				t.Errorf("handler's span context %v is not the server span's %v", inner, s.SpanContext)
			}
			fromClient := s.Parent.TraceID().String() == "0af7651916cd43dd8448eb211c80319c"
			if fromClient != trust {
				t.Errorf("parented to the client's trace = %v, want %v", fromClient, trust)
			}
			linked := len(s.Links) == 1 && s.Links[0].SpanContext.TraceID().String() == "0af7651916cd43dd8448eb211c80319c"
			if linked == trust {
				t.Errorf("linked = %v, want %v (links %v)", linked, !trust, s.Links)
			}
		})
	}
}

func TestHTTPRouteFloodIsBounded(t *testing.T) {
	rg := newRig(t, Config{MaxAttributeSets: 16})
	mux := http.NewServeMux()
	for i := range 100 {
		mux.HandleFunc(fmt.Sprintf("GET /r%d", i), func(http.ResponseWriter, *http.Request) {})
	}
	h := rg.tel.Middleware(mux)
	for i := range 100 {
		serve(h, "GET", fmt.Sprintf("/r%d", i), nil)
	}
	rm := rg.collect(t)
	got := points(t, rm, "http.server.request.duration")
	if len(got) != 17 {
		t.Errorf("%d attribute sets, want 16 + the overflow set", len(got))
	}
	other := "http.request.method=_OTHER,http.route=_OTHER,network.protocol.name=http,network.protocol.version=1.1,url.scheme=http"
	if got[other] != 84 {
		t.Errorf("overflow set count = %v, want 84", got[other])
	}
	if o := points(t, rm, "paved.telemetry.attribute_overflow"); o["paved.instrument=http.server.request.duration"] != 84 {
		t.Errorf("overflow counter = %v", o)
	}
}

func TestRouteOf(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "",
		"GET /orders/{id}":           "/orders/{id}",
		"/static/":                   "/static/",
		"example.com/x":              "/x",
		"POST  example.com/a/{b...}": "/a/{b...}",
		"GET /{$}":                   "/",
		"GET example.com":            "",
	} {
		if got := routeOf(in); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHTTPSpanAttributes(t *testing.T) {
	rg := newRig(t, Config{})
	serve(rg.tel.Middleware(testMux()), "POST", "/fail", map[string]string{"User-Agent": "probe/1"})
	s := rg.spansNow(t)[0]
	attrs := attribute.NewSet(s.Attributes...)
	for k, v := range map[string]string{"http.request.method": "POST", "http.route": "/fail", "url.path": "/fail", "user_agent.original": "probe/1",
		"error.type": "502", "http.response.status_code": "502", "server.address": "example.com"} {
		if got, _ := attrs.Value(attribute.Key(k)); got.String() != v {
			t.Errorf("%s = %q, want %q", k, got.String(), v)
		}
	}
	if s.Status.Code.String() != "Error" {
		t.Errorf("status %v", s.Status)
	}
}

func TestHTTPPanicRecorded(t *testing.T) {
	rg := newRig(t, Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /p", func(http.ResponseWriter, *http.Request) { panic("x") })
	h := rg.tel.Middleware(mux)
	func() {
		defer func() { _ = recover() }()
		serve(h, "GET", "/p", nil)
	}()
	got := points(t, rg.collect(t), "http.server.request.duration")
	if got["error.type=500,http.request.method=GET,http.response.status_code=500,http.route=/p,network.protocol.name=http,network.protocol.version=1.1,url.scheme=http"] != 1 {
		t.Errorf("points = %v", got)
	}
}

func TestStatusWriterKeepsInterfaces(t *testing.T) {
	rg := newRig(t, Config{})
	var flushed bool
	h := rg.tel.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if ok {
			f.Flush()
			flushed = true
		}
		_ = http.NewResponseController(w).Flush()
	}))
	w := serve(h, "GET", "/", nil)
	if !flushed || !w.Flushed {
		t.Errorf("flush did not reach the recorder (flushed %v, recorder %v)", flushed, w.Flushed)
	}
	_ = context.Background()
}
