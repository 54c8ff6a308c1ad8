package redislimit_test

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/httpx/redislimit"
)

// Replicas share one limit through Redis; when Redis fails, requests are
// denied unless the AllowLocalFallback opt-out is given. Nothing connects
// to Redis until the first request.
func Example() {
	client := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // so that Config.Timeout bounds each call
	})
	defer client.Close()
	store, err := redislimit.New(redislimit.Config{
		Client:        client,
		LocalFallback: redislimit.AllowLocalFallback("availability matters more than a shared limit here"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	posture := new(paved.Posture)
	_, err = httpx.New(httpx.Config{
		Posture:   posture,
		OptOuts:   []paved.OptOut{httpx.AllowPlainHTTP("TLS ends at the mesh sidecar")},
		RateLimit: httpx.RateLimitConfig{Policy: httpx.RatePolicy{Name: "api", Limit: 100, Window: time.Minute}, Store: store},
	})
	fmt.Println(err)
	for _, o := range posture.Report().OptOuts {
		fmt.Println(o)
	}
	// Output:
	// <nil>
	// httpx/allow-plain-http: TLS ends at the mesh sidecar
	// redislimit/allow-local-fallback: availability matters more than a shared limit here
}

// Every faulty field is reported at once.
func ExampleNew_errors() {
	_, err := redislimit.New(redislimit.Config{Timeout: time.Minute})
	for _, ce := range paved.ConfigErrors(err) {
		fmt.Println(ce.Field)
	}
	// Output:
	// Config.Client
	// Config.Timeout
}
