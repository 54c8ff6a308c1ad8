package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/policy"
)

// authzFiles is the example policy (authz/authz.rego, its data and its
// Rego tests), embedded: role-based access to routes, and owner-only
// access to documents.
//
//go:embed authz
var authzFiles embed.FS

// mountPolicy serves /docs/{id} behind the bearer-token check and the
// example policy: GET needs a role that grants the route and ownership of
// the document (document 1 is the quickstart user's, 2 someone else's);
// DELETE needs the admin role. A denial is 403 problem+json with the
// decision's ID, which finds the decision in the log.
func mountPolicy(ctx context.Context, srv *httpx.Server, verifier *auth.Verifier, posture *paved.Posture, logger *slog.Logger) error {
	files, err := fs.Sub(authzFiles, "authz")
	if err != nil {
		return err
	}
	decisions, err := policy.NewDecisionLog(policy.DecisionLogConfig{
		Logger: logger,
		Mask:   []string{"/input/principal/claims"}, // the raw token claims stay out of the log
	})
	if err != nil {
		return err
	}
	engine, err := policy.New(ctx, policy.Config{
		Name:        "quickstart",
		FS:          files,
		Queries:     []policy.QueryConfig{{Name: "docs", Path: "data.quickstart.authz.decision"}},
		DecisionLog: decisions,
		Logger:      logger,
		Posture:     posture,
	})
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	authz, err := policy.NewAuthorizer(policy.AuthorizerConfig{Engine: engine, Query: "docs", Logger: logger, Posture: posture})
	if err != nil {
		return err
	}
	srv.AddCheck("policy", engine)
	doc := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := policy.DecisionFrom(r.Context())
		writeJSON(w, map[string]any{"id": r.PathValue("id"), "allowed_by": d.Query, "decision_id": d.ID.String()})
	})
	srv.Handle("GET /docs/{id}", verifier.Protect(authz.Middleware(doc)))
	srv.Handle("DELETE /docs/{id}", verifier.Protect(authz.Middleware(doc)))
	return nil
}

// checkConfig holds the quickstart's posture to the default organisation
// policy (policy/org) before it serves, as a development service: its
// development certificate is allowed there, and nowhere else.
func checkConfig(ctx context.Context, posture *paved.Posture, logger *slog.Logger) error {
	_, err := policy.CheckConfig(ctx, policy.ConfigCheckConfig{
		Service:      "quickstart",
		Environment:  policy.EnvironmentDevelopment,
		AuthRequired: true,
		Posture:      posture,
		Logger:       logger,
	})
	return err
}
