// Command quickstart starts a secure paved server on loopback with no
// infrastructure at all:
//
//	go run ./examples/quickstart
//
// It listens on https://127.0.0.1:8443 (the -addr flag or PAVED_ADDR change
// it) with a certificate from an ephemeral development CA, whose PEM file it
// prints so that clients verify the server (curl --cacert) instead of
// switching verification off. Everything else is paved's secure default:
// TLS 1.2+ with AEAD suites, timeouts and size limits, security headers,
// cross-origin protection, per-client rate limiting, request IDs, panic
// recovery, an access log, /livez and /readyz. Stop it with Ctrl-C; it
// drains in-flight requests first.
//
// GET / lists the routes to try; GET /limited has a limit of its own, two
// requests a minute, so that the printed curl loop shows a 429 with its
// RateLimit and Retry-After fields.
//
// Three routes are protected by package auth, among them the server's own
// SBOM (package sbom) at /.well-known/sbom. Their tokens come from an
// in-process OpenID provider (package authtest) that stands in for your real
// issuer; the quickstart prints a ready curl command with a token.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/httpx"
)

func main() {
	ctx, stop := httpx.NotifyContext(context.Background())
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "quickstart:", err)
		}
		os.Exit(1)
	}
}

// run is main without the process: it serves until ctx ends. It prints what
// to try to stdout and logs to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("PAVED_ADDR", httpx.DefaultAddr), "address to listen on (env PAVED_ADDR)")
	caDir := fs.String("ca-dir", "", "directory for the development CA's PEM file (default: a new temporary directory, removed on exit)")
	quiet := fs.Bool("quiet", false, "no access log")
	telemetryMode := fs.String("telemetry", envOr("PAVED_TELEMETRY", "off"), "off or stdout; OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (env PAVED_TELEMETRY)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	dir := *caDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "paved-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	dev, err := httpx.NewDevCertificate(dir)
	if err != nil {
		return fmt.Errorf("development certificate: %w", err)
	}

	var logger *slog.Logger
	if *quiet {
		logger = slog.New(slog.DiscardHandler)
	} else {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	// A stand-in OpenID provider in this process, on its own loopback TLS
	// port; in a real service the issuer is your provider's URL.
	idp, err := authtest.Start(authtest.Config{TokenTTL: time.Hour})
	if err != nil {
		return fmt.Errorf("in-process OpenID provider: %w", err)
	}
	defer idp.Close()

	posture := paved.DefaultPosture()
	tel, err := setupTelemetry(ctx, *telemetryMode, stdout, logger, posture)
	if err != nil {
		return err
	}
	defer shutdownTelemetry(tel, logger)
	logger = slog.New(tel.LogHandler(logger.Handler())) // trace and span IDs in every line
	verifier, err := auth.New(ctx, auth.Config{
		Issuers:    []auth.Issuer{{URL: idp.Issuer()}},
		Audiences:  []string{idp.Audience()},
		HTTPClient: idp.Client(), // trusts the provider's test certificate
		Logger:     logger,
		Posture:    posture,
	})
	if err != nil {
		return fmt.Errorf("token verifier: %w", err)
	}
	srv, err := httpx.New(httpx.Config{
		Addr:         *addr,
		Logger:       logger,
		Posture:      posture,
		Certificates: dev,
		OptOuts: []paved.OptOut{
			httpx.AllowDevCertificate("quickstart on loopback: certificate from an ephemeral local CA"),
		},
	})
	if err != nil {
		return err
	}

	// A tiny limit on one route, so that a 429 is a curl loop away; the
	// server's own limit (600 a minute per client) covers every route.
	demo, err := httpx.NewRateLimiter(httpx.RateLimitConfig{
		Policy: httpx.RatePolicy{Name: "demo", Limit: 2, Window: time.Minute},
		Logger: logger,
	})
	if err != nil {
		return err
	}

	routes := instrumented{srv, tel}
	routes.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, indexText)
	})
	routes.Handle("GET /limited", demo.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"message": "within the limit of 2 requests a minute"})
	})))
	routes.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"message": "hello from paved", "request_id": httpx.RequestIDFrom(r.Context())})
	})
	routes.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		var v any
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				httpx.Error(w, r, http.StatusRequestEntityTooLarge, "request body over the limit")
				return
			}
			httpx.Error(w, r, http.StatusBadRequest, "body is not valid JSON")
			return
		}
		writeJSON(w, v)
	})
	srv.AddCheck("oidc", verifier)
	routes.Handle("GET /me", verifier.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := paved.PrincipalFrom(r.Context())
		writeJSON(w, map[string]any{"sub": p.Subject, "iss": p.Issuer, "scopes": p.Scopes, "amr": p.AMR})
	})))
	routes.Handle("GET /orders", verifier.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, []map[string]any{{"id": 1, "item": "paving stones"}})
	}), auth.RequireScope("orders:read")))
	if err := mountPosture(routes, tel, verifier, posture); err != nil {
		return err
	}
	if err := mountSBOM(srv, verifier, posture, logger); err != nil {
		return err
	}
	closeSecrets, err := mountSecrets(ctx, srv, posture, logger)
	if err != nil {
		return err
	}
	defer closeSecrets()
	if err := mountPolicy(ctx, srv, verifier, posture, logger); err != nil {
		return err
	}
	routes.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) {
		panic("quickstart: a deliberate panic; the client sees a 500 problem with the request ID, the log has the stack")
	})

	if err := checkConfig(ctx, posture, logger); err != nil {
		return err
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe(ctx) }()
	select {
	case err := <-errc:
		return err
	case <-srv.Ready():
	}
	token := idp.Mint(map[string]any{"sub": "quickstart-user", "scope": "orders:read", "roles": []string{"reader"}})
	weak := idp.Mint(map[string]any{"sub": "quickstart-user", "scope": "profile"})
	printTry(stdout, srv.URL(), dev.CAFile(), token, weak)
	return <-errc
}

func printTry(w io.Writer, url, caFile, token, weak string) {
	fmt.Fprintf(w, `paved quickstart listening on %[1]s

The server's certificate comes from a development CA that lives only in this
process; trust it explicitly instead of turning verification off:

  export PAVED_CA=%[2]s

Try:
  curl --cacert "$PAVED_CA" %[1]s/            # what to try, in short
  curl --cacert "$PAVED_CA" %[1]s/hello
  curl --cacert "$PAVED_CA" -i %[1]s/livez
  curl --cacert "$PAVED_CA" %[1]s/readyz
  curl --cacert "$PAVED_CA" %[1]s/config      # injected secrets (Vault when VAULT_ADDR is set): the API key shows as REDACTED
  curl --cacert "$PAVED_CA" -i -X POST -H 'Content-Type: application/json' -d '{"n":1}' %[1]s/echo
  curl --cacert "$PAVED_CA" -i %[1]s/panic       # 500 problem+json, no stack leaked
  curl --cacert "$PAVED_CA" -i -X POST -H 'Sec-Fetch-Site: cross-site' %[1]s/echo   # 403 cross-origin
  for i in 1 2 3; do curl --cacert "$PAVED_CA" -si %[1]s/limited | grep -iE '^(HTTP/|content-type|ratelimit|retry-after)'; echo; done   # 2 a minute: the 3rd is 429

Protected routes (tokens from the in-process OpenID provider, valid 1 hour):
  export TOKEN=%[3]s
  curl --cacert "$PAVED_CA" -H "Authorization: Bearer $TOKEN" %[1]s/me
  curl --cacert "$PAVED_CA" -H "Authorization: Bearer $TOKEN" %[1]s/orders
  curl --cacert "$PAVED_CA" -H "Authorization: Bearer $TOKEN" %[1]s/posture   # every control, every opt-out with its reason, the score; 401 without the token
  curl --cacert "$PAVED_CA" -i %[1]s/orders       # 401, WWW-Authenticate: Bearer
  curl --cacert "$PAVED_CA" -H "Authorization: Bearer $TOKEN" -H 'Accept: application/vnd.cyclonedx+json' %[1]s/.well-known/sbom   # its own SBOM (CycloneDX 1.6; SPDX 2.3 without the Accept), 401 without the token
  curl --cacert "$PAVED_CA" -i -H "Authorization: Bearer %[4]s" %[1]s/orders   # 403 insufficient_scope
  curl --cacert "$PAVED_CA" -H "Authorization: Bearer $TOKEN" %[1]s/docs/1     # allowed by the policy: a reader who owns document 1
  curl --cacert "$PAVED_CA" -i -H "Authorization: Bearer $TOKEN" %[1]s/docs/2  # 403 problem+json with its decision_id: not the owner

Ctrl-C stops it gracefully.
`, url, caFile, token, weak)
}

// indexText is what GET / answers: the routes to try. The server's API
// profile forbids loading anything (CSP default-src 'none'), so it is
// plain text, not a page.
const indexText = `paved quickstart: what to try (the commands it printed at startup work as they are)

GET  /hello     a JSON greeting with the request ID
GET  /livez     liveness
GET  /readyz    readiness: the OpenID provider's keys are loaded
GET  /posture   the posture report: every control, every opt-out, the score; needs a token
GET  /config    secrets injected at start-up (in memory; Vault when VAULT_ADDR is set); the key is REDACTED
POST /echo      echoes a JSON body (1 MiB at most: 413 beyond); cross-site: 403
GET  /panic     a deliberate panic: 500 problem+json, the stack only in the log
GET  /limited   2 requests a minute: the 3rd gets 429 with RateLimit and Retry-After
GET  /me        the caller's identity; needs a bearer token (401 without)
GET  /orders    needs a token with the orders:read scope (403 without it)
GET  /.well-known/sbom  the server's own SBOM (SPDX or CycloneDX by Accept); needs a token
GET  /docs/{id} decided by the embedded policy: a reader may read the documents they own (1), not others (2: 403 with a decision_id)
DELETE /docs/{id}  needs the admin role (403 for the printed token)

Every response carries the security headers and an X-Request-Id; every route
but /livez and /readyz carries the RateLimit fields.
`

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
