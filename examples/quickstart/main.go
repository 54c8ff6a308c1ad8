// Command quickstart starts a secure paved server on loopback with no
// infrastructure at all:
//
//	go run ./examples/quickstart
//
// It listens on https://127.0.0.1:8443 (the -addr flag or PAVED_ADDR change
// it, to another loopback address only) with a certificate from an
// ephemeral development CA, whose PEM file it prints so that clients
// verify the server (curl --cacert) instead of switching verification off. Everything else is paved's secure default:
// TLS 1.2+ with AEAD suites, timeouts and size limits, security headers,
// cross-origin protection, per-client rate limiting, request IDs, panic
// recovery, an access log, /livez and /readyz. Stop it with Ctrl-C; it
// drains in-flight requests first.
//
// On start it prints ready curl commands, each with the status it gets:
// first a walkthrough (an allowed call, one denied by auth with 401, one
// denied by the embedded policy with 403 and its decision ID, one
// rate-limited with 429: GET /limited allows two requests a minute), then
// the server's own SBOM and provenance (package sbom, at
// /.well-known/sbom) and its posture report, then the rest. GET / lists
// the same: plain text for curl, and for a browser an HTML page served on
// the HTML security-header profile (a CSP nonce for its style and script;
// every other route keeps the API profile).
//
// Tokens come from an in-process OpenID provider (package authtest) that
// stands in for your issuer; the quickstart prints two. The same binary
// uses the real systems instead of its stand-ins when these are set, each
// choice logged and listed in the posture report (component "quickstart"):
//
//   - PAVED_OIDC_ISSUER and PAVED_OIDC_AUDIENCE: tokens from your OpenID
//     provider (https; http only on loopback, through
//     auth.AllowHTTPIssuer; PAVED_OIDC_CACERT names a PEM file of a
//     private CA); the quickstart then prints how to bring one.
//     PAVED_OIDC_ALLOW_UNTYPED_TOKENS, when set, is the reason for
//     auth.AllowUntypedTokens (Vault's identity tokens carry no at+jwt typ);
//     a bare "true" or "1" is refused.
//   - VAULT_ADDR and VAULT_TOKEN: secrets from Vault instead of secretstest.
//   - REDIS_ADDR (host:port): both rate limits in Redis (httpx/redislimit),
//     shared by every instance using it, instead of in memory.
//
// A switch half set (an audience, CA file or untyped-token reason without
// PAVED_OIDC_ISSUER, VAULT_TOKEN without VAULT_ADDR) stops the start with
// an error naming the variable, as does a real system that does not
// answer: nothing falls back to a stand-in silently.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/httpx"
)

func main() {
	ctx, stop := httpx.NotifyContext(context.Background())
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "quickstart:", err)
		}
		os.Exit(1)
	}
}

// component names the quickstart's own entry in the posture report: which
// real systems it uses and which stand-ins.
const component = "quickstart"

// run is main without the process: it serves until ctx ends. getenv reads
// the environment (os.Getenv in main). It prints what to try to stdout and
// logs to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr(getenv, "PAVED_ADDR", httpx.DefaultAddr), "address to listen on (env PAVED_ADDR)")
	caDir := fs.String("ca-dir", "", "directory for the development CA's PEM file (default: a new temporary directory, removed on exit)")
	quiet := fs.Bool("quiet", false, "no access log")
	telemetryMode := fs.String("telemetry", envOr(getenv, "PAVED_TELEMETRY", "off"), "off or stdout; OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (env PAVED_TELEMETRY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Loopback only: the development certificate names localhost,
	// 127.0.0.1 and ::1 (nothing else could verify it), and the opt-out
	// that allows it says so.
	if host, _, err := net.SplitHostPort(*addr); err != nil || !isLoopback(host) {
		return fmt.Errorf("-addr %q (or PAVED_ADDR): the quickstart serves on a loopback host:port only, such as %s; its development certificate is for this machine alone", *addr, httpx.DefaultAddr)
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
	// The posture of this run alone (every block is given it), which
	// /posture serves; a process running several quickstarts, as the
	// tests do, keeps them apart.
	posture := new(paved.Posture)
	tel, err := setupTelemetry(ctx, *telemetryMode, getenv, stdout, logger, posture)
	if err != nil {
		return err
	}
	defer shutdownTelemetry(tel, logger)
	logger = slog.New(tel.LogHandler(logger.Handler())) // trace and span IDs in every line

	// Each real system replaces its stand-in when its variable is set:
	// PAVED_OIDC_ISSUER (with PAVED_OIDC_AUDIENCE) the in-process OpenID
	// provider, REDIS_ADDR the in-memory rate-limit counters, VAULT_ADDR
	// (with VAULT_TOKEN) the in-memory secrets (secrets.go). Each choice is
	// logged and listed in the posture report under "quickstart".
	systems := posture.Register(component, "systems")
	iss, err := setupIssuer(ctx, getenv, logger, posture, systems)
	if err != nil {
		return err
	}
	defer iss.close()
	verifier := iss.verifier
	store, redisCheck, closeRedis, err := rateLimitStore(ctx, getenv, logger, systems)
	if err != nil {
		return err
	}
	defer closeRedis()

	srv, err := httpx.New(httpx.Config{
		Addr:         *addr,
		Logger:       logger,
		Posture:      posture,
		Certificates: dev,
		RateLimit:    httpx.RateLimitConfig{Store: store}, // 600 a minute per client
		OptOuts: []paved.OptOut{
			httpx.AllowDevCertificate("quickstart on loopback: certificate from an ephemeral local CA"),
		},
	})
	if err != nil {
		return err
	}
	if redisCheck != nil { // while Redis is down every request is denied: say so here too
		srv.AddCheck("redis", redisCheck)
	}

	// A tiny limit on one route, so that a 429 is a curl loop away; the
	// server's own limit (600 a minute per client) covers every route.
	demo, err := httpx.NewRateLimiter(httpx.RateLimitConfig{
		Policy: httpx.RatePolicy{Name: "demo", Limit: 2, Window: time.Minute},
		Store:  store,
		Logger: logger,
	})
	if err != nil {
		return err
	}

	routes := instrumented{srv, tel}
	// The index is an HTML page for a browser, so it alone is served on
	// the HTML header profile (a CSP with a per-request nonce for its
	// <style> and <script>), which replaces the server's API profile on
	// this route only.
	routes.Handle("GET /{$}", httpx.SecurityHeaders(httpx.ProfileHTML)(indexHandler(srv.URL, dev.CAFile(), iss)))
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
	closeSecrets, err := mountSecrets(ctx, srv, getenv, posture, systems, logger)
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
	var token, noScope string
	if iss.mint != nil {
		token = iss.mint(map[string]any{"sub": "quickstart-user", "scope": "orders:read", "roles": []string{"reader"}})
		noScope = iss.mint(map[string]any{"sub": "quickstart-user", "scope": "profile", "roles": []string{"reader"}})
	}
	printTry(stdout, srv.URL(), dev.CAFile(), iss, token, noScope)
	return <-errc
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
