// Command policy authorizes HTTP requests with package policy: OPA's Rego
// evaluated in process, from an embedded fs.FS, with no OPA server:
//
//	go run ./examples/policy
//
// It runs the policy's own Rego tests, then sends requests from three
// callers through the policy middleware and prints each answer: allowed, or
// 403 problem+json with the policy's reason and the decision's ID (which
// finds the decision in the decision log, here on stderr). Then it exits.
package main

import (
	"context"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/policy"
	"github.com/pavedroad/paved/policy/policytest"
)

// authzFiles is the policy, its Rego tests, embedded in the binary. A
// service can as well load a signed bundle from a bundle server.
//
//go:embed authz
var authzFiles embed.FS

// source holds the authz directory: authzFiles, or another in a test.
var source fs.FS = authzFiles

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "policy example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("policy", flag.ContinueOnError)
	quiet := flags.Bool("quiet", false, "no decision log on stderr")
	if err := flags.Parse(args); err != nil {
		return err
	}
	files, err := fs.Sub(source, "authz")
	if err != nil {
		return err
	}
	// The policy's own tests, as `opa test` runs them; a failing one stops.
	results, err := policytest.RegoTests(ctx, files)
	if err != nil {
		return err // the files do not load or compile
	}
	for _, r := range results {
		if !r.Pass() {
			return fmt.Errorf("rego test %s", r)
		}
	}
	fmt.Fprintf(stdout, "rego tests: %d passed\n", len(results))

	// The decision log: one JSON line per decision, raw claims masked.
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if *quiet {
		logger = slog.New(slog.DiscardHandler)
	}
	decisions, err := policy.NewDecisionLog(policy.DecisionLogConfig{Logger: logger, Mask: []string{"/input/principal/claims"}})
	if err != nil {
		return err
	}
	// Every decision is also a security event (metrics with package
	// telemetry); here the sink keeps the last one's reason to print it,
	// then passes each event on to paved's default sink, which
	// telemetry.Setup installs. A nil Events is that default sink alone.
	var why string
	events := paved.SinkFunc(func(ctx context.Context, e paved.Event) {
		if e.Type == paved.EventPolicyDecision {
			why = e.Reason
		}
		paved.Emit(ctx, nil, e)
	})
	// The engine: compiled once, refusing built-ins that reach the network
	// or the host; every error, timeout or undefined answer denies.
	engine, err := policy.New(ctx, policy.Config{
		Name:        "orders",
		FS:          files,
		Queries:     []policy.QueryConfig{{Name: "http", Path: "data.orders.authz.decision"}},
		DecisionLog: decisions,
		Events:      events,
		Logger:      logger,
		Posture:     new(paved.Posture),
	})
	if err != nil {
		return err // a policy that does not compile says where
	}
	// The middleware: method, route pattern, path parameters and caller
	// go to the policy; a denial is 403 problem+json with the decision ID,
	// never the policy's reasons, which stay in the log.
	authz, err := policy.NewAuthorizer(policy.AuthorizerConfig{Engine: engine, Query: "http", Logger: logger, Posture: new(paved.Posture)})
	if err != nil {
		return err
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux := http.NewServeMux()
	mux.Handle("GET /tenants/{tenant}/orders", authz.Middleware(ok))
	mux.Handle("POST /tenants/{tenant}/refunds", authz.Middleware(ok))

	ann := &paved.Principal{Subject: "ann", Groups: []string{"tenant:acme"}}
	sue := &paved.Principal{Subject: "sue", Groups: []string{"tenant:acme"}, Roles: []string{"support"}}
	for _, c := range []struct {
		who, method, path string
		caller            *paved.Principal // package auth puts the verified caller in the context
	}{
		{"ann", "GET", "/tenants/acme/orders", ann},
		{"ann", "GET", "/tenants/globex/orders", ann},
		{"ann", "POST", "/tenants/acme/refunds", ann},
		{"sue", "POST", "/tenants/acme/refunds", sue},
		{"anonymous", "GET", "/tenants/acme/orders", nil},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.caller != nil {
			r = r.WithContext(paved.WithPrincipal(r.Context(), c.caller))
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		line := fmt.Sprintf("%-9s %-4s %-22s %d", c.who, c.method, c.path, w.Code)
		if w.Code != http.StatusOK {
			var problem struct {
				DecisionID string `json:"decision_id"` // differs on every run: not printed
			}
			_ = json.Unmarshal(w.Body.Bytes(), &problem)
			line += fmt.Sprintf(" %s, decision_id: %d hex digits; why: %s", w.Header().Get("Content-Type"), len(problem.DecisionID), why)
		}
		fmt.Fprintln(stdout, line)
	}
	return nil
}
