// Command httpx serves with package httpx's secure defaults on loopback and
// no infrastructure:
//
//	go run ./examples/httpx
//
// It prints the curl commands to try, then serves until Ctrl-C, draining
// in-flight requests first. TLS comes from an ephemeral development CA whose
// PEM file it prints (curl --cacert), never from switching verification off.
// GET /limited allows two requests a minute per client, in memory, or in the
// Redis at REDIS_ADDR when it is set, so that every replica shares one count;
// while that Redis is down, /limited answers 503 and /readyz "degraded".
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/httpx/redislimit"
)

func main() {
	ctx, stop := httpx.NotifyContext(context.Background()) // ends on SIGINT or SIGTERM
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "httpx example:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; it prints what to try to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("httpx", flag.ContinueOnError)
	addr := fs.String("addr", httpx.DefaultAddr, "loopback address to listen on")
	quiet := fs.Bool("quiet", false, "no access log")
	prefix := fs.String("redis-prefix", redislimit.DefaultPrefix, "start of the Redis keys, one per service sharing a Redis")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)) // the access log and the opt-outs, on stderr
	if *quiet {
		logger = slog.New(slog.DiscardHandler)
	}

	// A certificate for localhost from a CA that lives only in this process;
	// its PEM file sits in a temporary directory that Close removes.
	dev, err := httpx.NewDevCertificate("")
	if err != nil {
		return err
	}
	defer dev.Close()

	// The server: TLS 1.2+, timeouts, size limits, security headers,
	// cross-origin protection, 600 requests a minute per client, request
	// IDs, panic recovery, the access log, /livez and /readyz. A development
	// certificate is a weaker road, so it takes a named opt-out and a reason.
	posture := new(paved.Posture) // records every control and opt-out
	srv, err := httpx.New(httpx.Config{
		Addr:         *addr,
		Certificates: dev,
		Logger:       logger,
		Posture:      posture,
		OptOuts:      []paved.OptOut{httpx.AllowDevCertificate("example on loopback")},
	})
	if err != nil {
		return err // every faulty field at once, as paved.ConfigErrors
	}

	// A limit of its own on one route: memory by default, Redis when
	// REDIS_ADDR is set. A Redis that fails denies (fail closed).
	limit := httpx.RateLimitConfig{Policy: httpx.RatePolicy{Name: "demo", Limit: 2, Window: time.Minute}, Logger: logger}
	store := "memory"
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		rdb := redis.NewClient(&redis.Options{Addr: a, ContextTimeoutEnabled: true}) // honours redislimit's timeout
		defer rdb.Close()
		if limit.Store, err = redislimit.New(redislimit.Config{Client: rdb, Prefix: *prefix, Logger: logger}); err != nil {
			return err
		}
		store = "Redis at " + a
		// /readyz reports the store: degraded, not failed, while it is
		// down, since only /limited needs it (and answers 503 meanwhile);
		// failing would take every replica, and every route, out at once.
		srv.AddCheck("redis", httpx.CheckFunc(func(ctx context.Context) error {
			if err := rdb.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("rate limit store: %v; /limited answers 503: %w", err, httpx.ErrDegraded)
			}
			return nil
		}))
	}
	demo, err := httpx.NewRateLimiter(limit)
	if err != nil {
		return err
	}

	// Routes on the server's own mux (standard patterns); any
	// func(http.Handler) http.Handler middleware composes with them.
	srv.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, request %s\n", httpx.RequestIDFrom(r.Context()))
	})
	srv.Handle("GET /limited", demo.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "within the limit")
	})))
	srv.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		httpx.Error(w, r, http.StatusConflict, "a problem+json answer, as every error should be")
	})

	// Serve in the background; Ready closes once the listener is bound.
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe(ctx) }()
	select {
	case err := <-errc:
		return err
	case <-srv.Ready():
	}
	fmt.Fprintf(stdout, `httpx example listening on %[1]s (rate limit store: %[3]s)
  export PAVED_CA=%[2]s
  curl --cacert "$PAVED_CA" -i %[1]s/hello     # security headers, X-Request-Id, RateLimit fields
  curl --cacert "$PAVED_CA" -i %[1]s/fail      # 409 application/problem+json
  curl --cacert "$PAVED_CA" %[1]s/readyz
  for i in 1 2 3; do curl --cacert "$PAVED_CA" -s -o /dev/null -w '%%{http_code}\n' %[1]s/limited; done   # 200 200 429
opt-outs: %[4]v
Ctrl-C stops it gracefully.
`, srv.URL(), dev.CAFile(), store, posture.Report().OptOuts)
	return <-errc // nil after a graceful shutdown
}
