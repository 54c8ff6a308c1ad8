package policy_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing/fstest"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/policy"
)

// An Authorizer in front of a route: the request's method, route pattern,
// path parameters and caller go to the policy; a denial is 403
// problem+json with the decision's ID.
func ExampleAuthorizer() {
	rbac := fstest.MapFS{"authz.rego": {Data: []byte(`package httpapi

default allow := false

allow if {
	input.route == "GET /docs/{id}"
	"reader" in input.principal.roles
	input.params.id != "secret"
}
`)}}
	engine, err := policy.New(context.Background(), policy.Config{
		FS:      rbac,
		Queries: []policy.QueryConfig{{Name: "http", Path: "data.httpapi.allow"}},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	authz, err := policy.NewAuthorizer(policy.AuthorizerConfig{Engine: engine, Query: "http", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /docs/{id}", authz.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "document", r.PathValue("id"))
	})))

	for _, path := range []string{"/docs/1", "/docs/secret"} {
		r := httptest.NewRequest("GET", path, nil)
		// auth puts the verified caller here; policy reads it through paved.
		r = r.WithContext(paved.WithPrincipal(r.Context(), &paved.Principal{Subject: "alice", Roles: []string{"reader"}}))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(path, w.Code, w.Header().Get("Content-Type"))
	}
	// Output:
	// /docs/1 200 text/plain; charset=utf-8
	// /docs/secret 403 application/problem+json
}

// A decision log with a masked claim, its varying fields left out here.
func ExampleNewDecisionLog() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "decision_id", "duration":
				return slog.Attr{}
			}
			return a
		},
	}))
	decisions, err := policy.NewDecisionLog(policy.DecisionLogConfig{
		Logger: logger,
		Mask:   []string{"/input/principal/claims/email"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	engine, err := policy.New(context.Background(), policy.Config{
		FS:          fstest.MapFS{"p.rego": {Data: []byte("package p\n\nallow := input.principal.sub == \"alice\"\n")}},
		DecisionLog: decisions,
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = engine.Decide(context.Background(), "data.p.allow", &policy.Input{
		Method:    "GET",
		Principal: &paved.Principal{Subject: "alice", Claims: map[string]any{"email": "alice@example.com"}},
	})
	// Output:
	// {"level":"INFO","msg":"policy decision","query":"data.p.allow","allow":true,"result":{"allow":true},"bundle_revision":"","input":{"method":"GET","principal":{"claims":{},"sub":"alice"}},"erased":["/input/principal/claims/email"]}
}

// The start-up check of a service's own posture against the default
// organisation policy: plain HTTP in production stops it, unless the rule
// is waived by name.
func ExampleCheckConfig() {
	posture := &paved.Posture{}
	reg := posture.Register("httpx", "public")
	reg.SetControl("tls", false, "plain HTTP (opt-out)")
	reg.SetControl("timeouts", true, "")
	reg.SetControl("size-limits", true, "")
	quiet := slog.New(slog.DiscardHandler)

	_, err := policy.CheckConfig(context.Background(), policy.ConfigCheckConfig{Posture: posture, Logger: quiet})
	var denied *policy.ConfigDeniedError
	if errors.As(err, &denied) {
		for _, v := range denied.Violations {
			fmt.Println(v.Rule+":", v.Msg)
		}
	}

	report, err := policy.CheckConfig(context.Background(), policy.ConfigCheckConfig{
		Posture: posture, Logger: quiet,
		OptOuts: []paved.OptOut{policy.AllowOrgViolation("tls", "TLS ends at the mesh sidecar")},
	})
	fmt.Println(err, len(report.Violations), report.Violations[0].Waived)
	// Output:
	// tls: httpx/public serves without TLS (plain HTTP (opt-out)) in production
	// <nil> 1 true
}
