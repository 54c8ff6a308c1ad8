package policy_test

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"testing/fstest"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/policy"
)

//go:embed testdata/rbac/*.rego testdata/rbac/data.json
var rbacFiles embed.FS

// Load an embedded policy, then decide on requests built as [policy.Input].
func Example() {
	sub, _ := fs.Sub(rbacFiles, "testdata/rbac")
	engine, err := policy.New(context.Background(), policy.Config{
		FS:      sub,
		Queries: []policy.QueryConfig{{Name: "http", Path: "data.httpapi.authz.decision", Pure: true}},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Posture: &paved.Posture{},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	q := engine.Query("http")
	for _, in := range []*policy.Input{
		{Method: "DELETE", Route: "DELETE /docs/{id}", Principal: &paved.Principal{Subject: "ann", Roles: []string{"admin"}}},
		{Method: "PUT", Route: "PUT /docs/{id}", Principal: &paved.Principal{Subject: "bob"}, Resource: map[string]any{"owner": "bob"}},
		{Method: "PUT", Route: "PUT /docs/{id}", Principal: &paved.Principal{Subject: "eve"}, Resource: map[string]any{"owner": "bob"}},
		{Method: "GET", Route: "GET /docs/{id}"},
	} {
		d, err := q.Decide(context.Background(), in)
		fmt.Println(in.Route, d.Allow, d.Reasons, err)
	}
	// Output:
	// DELETE /docs/{id} true [] <nil>
	// PUT /docs/{id} true [] <nil>
	// PUT /docs/{id} false [no role of eve grants PUT /docs/{id}] <nil>
	// GET /docs/{id} false [not authenticated] <nil>
}

// A policy that calls a refused built-in does not load, and the error says
// where and how to opt in.
func ExampleAllowBuiltin() {
	files := fstest.MapFS{"authz/policy.rego": {Data: []byte(`package authz

allow if http.send({"method": "GET", "url": "https://entitlements.example/ok"}).status_code == 200
`)}}
	_, err := policy.New(context.Background(), policy.Config{FS: files, Posture: &paved.Posture{}})
	fmt.Println(err)

	_, err = policy.New(context.Background(), policy.Config{
		FS:            files,
		OptOuts:       []paved.OptOut{policy.AllowBuiltin("http.send", "entitlements live in their own service")},
		HTTPSendHosts: []string{"entitlements.example"},
		Posture:       &paved.Posture{},
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	fmt.Println(err)
	// Output:
	// policy: load failed: /authz/policy.rego:3: rego_type_error: undefined function http.send (refused: it reaches the network or the host; opt in with policy.AllowBuiltin("http.send", reason))
	// <nil>
}

// Every failure denies, and the decision says why.
func ExampleDecision_Cause() {
	files := fstest.MapFS{"p/p.rego": {Data: []byte(`package p

admin if input.role == "admin"
`)}}
	engine, _ := policy.New(context.Background(), policy.Config{FS: files, Posture: &paved.Posture{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	d, err := engine.Decide(context.Background(), "data.p.admin", map[string]any{"role": "guest"})
	fmt.Println(d.Allow, d.Cause, err)
	// Output:
	// false undefined policy: query data.p.admin: decision undefined
}
