package httpx_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// A server with the secure defaults and a development certificate, serving
// until the context ends. The CA file lets clients verify it:
// curl --cacert <file> https://127.0.0.1:8443/hello.
func Example() {
	dev, err := httpx.NewDevCertificate("") // in a temporary directory
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close() // removes that directory
	srv, err := httpx.New(httpx.Config{
		Addr:         "127.0.0.1:0", // any free port; the default is 127.0.0.1:8443
		Logger:       slog.New(slog.DiscardHandler),
		Posture:      new(paved.Posture),
		Certificates: dev,
		OptOuts:      []paved.OptOut{httpx.AllowDevCertificate("local development")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	})
	srv.AddCheck("always", httpx.CheckFunc(func(context.Context) error { return nil }))

	ctx, cancel := context.WithCancel(context.Background()) // httpx.NotifyContext in a real main
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx) }()
	<-srv.Ready()

	resp, err := dev.Client().Get(srv.URL() + "/hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.Status, " ", resp.Proto, " ", string(body))
	fmt.Println(resp.Header.Get("Strict-Transport-Security"))

	cancel()
	fmt.Println("stopped:", <-done)
	// Output:
	// 200 OK HTTP/2.0 hello
	// max-age=63072000; includeSubDomains
	// stopped: <nil>
}

// New reports every faulty field at once.
func ExampleNew_configErrors() {
	_, err := httpx.New(httpx.Config{
		Posture:      new(paved.Posture),
		Addr:         "8443",
		ReadTimeout:  time.Hour,
		OptOuts:      []paved.OptOut{httpx.AllowPlainHTTP("")},
		MaxBodyBytes: 2 << 30,
	})
	for _, ce := range paved.ConfigErrors(err) {
		fmt.Printf("%s: %s\n", ce.Field, ce.Problem)
	}
	// Output:
	// Config.OptOuts[0]: the reason given to httpx.AllowPlainHTTP is empty
	// Config.Addr: "8443" is not host:port (address 8443: missing port in address)
	// Config.ReadTimeout: 1h is outside the allowed range 1s to 10m
	// Config.MaxBodyBytes: 2 GiB is outside the allowed range 1 B to 1 GiB
}

// Plain HTTP needs a named opt-out with a reason.
func ExampleAllowPlainHTTP() {
	_, err := httpx.New(httpx.Config{Posture: new(paved.Posture)})
	fmt.Println(err != nil)

	p := new(paved.Posture)
	_, err = httpx.New(httpx.Config{
		Posture: p,
		OptOuts: []paved.OptOut{httpx.AllowPlainHTTP("TLS ends at the mesh sidecar")},
	})
	fmt.Println(err, p.Report().OptOuts[0])
	// Output:
	// true
	// <nil> httpx/allow-plain-http: TLS ends at the mesh sidecar
}

// The middleware composes with any router.
func ExampleChain() {
	limit, _ := httpx.RateLimit(httpx.RateLimitConfig{Policy: httpx.RatePolicy{Name: "api", Limit: 1, Window: time.Minute}})
	logger := slog.New(slog.DiscardHandler)
	h := httpx.Chain(
		httpx.RequestID,
		httpx.AccessLog(logger),
		httpx.Recover(logger, nil),
		httpx.SecurityHeaders(httpx.ProfileAPI),
		limit,
		httpx.BodyLimit(64<<10),
	)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))

	for range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		fmt.Printf("%d RateLimit-Policy: %s RateLimit: %s Retry-After: %q\n",
			w.Code, w.Header().Get("RateLimit-Policy"), w.Header().Get("RateLimit"), w.Header().Get("Retry-After"))
	}
	// Output:
	// 200 RateLimit-Policy: "api";q=1;w=60 RateLimit: "api";r=0;t=60 Retry-After: ""
	// 429 RateLimit-Policy: "api";q=1;w=60 RateLimit: "api";r=0;t=60 Retry-After: "60"
}

// A per-route body limit larger than the server's default.
func ExampleBodyLimit() {
	srv, _ := httpx.New(httpx.Config{
		Logger:  slog.New(slog.DiscardHandler),
		Posture: new(paved.Posture),
		OptOuts: []paved.OptOut{httpx.AllowPlainHTTP("example")},
	})
	upload := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return // the response becomes 413
		}
		fmt.Fprint(w, n)
	})
	srv.Handle("POST /upload", httpx.BodyLimit(8<<20)(upload))

	big := make([]byte, 2<<20)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("POST", "/upload", bytes.NewReader(big)))
	fmt.Println(w.Code, w.Body)
	// Output: 200 2097152
}
