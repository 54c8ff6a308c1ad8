package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/policy"
)

// quickstartPolicy is the quickstart's RBAC and owner-only policy, the one
// the benchmarks and the integration run use too.
var quickstartPolicy = os.DirFS("../examples/quickstart/authz")

const quickstartQuery = "data.quickstart.authz.decision"

var fixedNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newQuickstartEngine(t testing.TB, log policy.DecisionLogger) *policy.Engine {
	t.Helper()
	return newQuickstartEngineWith(t, log, 5*time.Second) // -race on a loaded machine
}

func newQuickstartEngineWith(t testing.TB, log policy.DecisionLogger, timeout time.Duration) *policy.Engine {
	t.Helper()
	e, err := policy.New(context.Background(), policy.Config{
		FS:          quickstartPolicy,
		Timeout:     timeout,
		Queries:     []policy.QueryConfig{{Name: "http", Path: quickstartQuery}},
		Logger:      slog.New(slog.DiscardHandler),
		Posture:     &paved.Posture{},
		Events:      paved.NopSink{},
		DecisionLog: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// echoInput is a policy that allows everything and returns its input as
// an obligation, so that tests see the input exactly as the policy does.
var echoInput = fstest.MapFS{"echo.rego": {Data: []byte(`package echo

decision := {"allow": true, "obligations": {"input": input}}
`)}}

func newEngine(t testing.TB, fsys fstest.MapFS, queries ...policy.QueryConfig) *policy.Engine {
	t.Helper()
	return newEngineTimeout(t, fsys, 5*time.Second, queries...)
}

func newEngineTimeout(t testing.TB, fsys fstest.MapFS, timeout time.Duration, queries ...policy.QueryConfig) *policy.Engine {
	t.Helper()
	e, err := policy.New(context.Background(), policy.Config{
		FS: fsys, Queries: queries, Timeout: timeout,
		Logger: slog.New(slog.DiscardHandler), Posture: &paved.Posture{}, Events: paved.NopSink{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newAuthorizer(t testing.TB, cfg policy.AuthorizerConfig) *policy.Authorizer {
	t.Helper()
	if cfg.Posture == nil {
		cfg.Posture = &paved.Posture{}
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := policy.NewAuthorizer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// serve registers h under pattern on a fresh mux, as a service does, and
// serves r through it.
func serve(pattern string, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	mux.Handle(pattern, h)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func withPrincipal(r *http.Request, p *paved.Principal) *http.Request {
	return r.WithContext(paved.WithPrincipal(r.Context(), p))
}

type problem struct {
	Status     int    `json:"status"`
	Title      string `json:"title"`
	Detail     string `json:"detail"`
	DecisionID string `json:"decision_id"`
}

func TestAuthorizerQuickstart(t *testing.T) {
	var mu sync.Mutex
	logged := map[string]policy.Decision{}
	e := newQuickstartEngine(t, policy.DecisionLoggerFunc(func(_ context.Context, d policy.Decision, _ ast.Value) {
		mu.Lock()
		defer mu.Unlock()
		logged[d.ID.String()] = d
	}))
	a := newAuthorizer(t, policy.AuthorizerConfig{Engine: e, Query: "http"})
	owner := &paved.Principal{Subject: "quickstart-user", Roles: []string{"reader"}}
	admin := &paved.Principal{Subject: "root", Roles: []string{"admin"}}
	tests := []struct {
		name    string
		method  string
		pattern string
		path    string
		who     *paved.Principal
		status  int
		reasons []string
	}{
		{"owner reads own document", "GET", "GET /docs/{id}", "/docs/1", owner, 200, nil},
		{"reader denied another's document", "GET", "GET /docs/{id}", "/docs/2", owner, 403, []string{"quickstart-user does not own document 2"}},
		{"reader cannot delete", "DELETE", "DELETE /docs/{id}", "/docs/1", owner, 403, []string{"no role of quickstart-user grants DELETE /docs/{id}"}},
		{"admin deletes", "DELETE", "DELETE /docs/{id}", "/docs/2", admin, 200, nil},
		{"anonymous denied", "GET", "GET /docs/{id}", "/docs/1", nil, 403, []string{"no role of an anonymous caller grants GET /docs/{id}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen *policy.Decision
			h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen, _ = policy.DecisionFrom(r.Context())
				w.WriteHeader(http.StatusOK)
			}))
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.who != nil {
				r = withPrincipal(r, tt.who)
			}
			w := serve(tt.pattern, h, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if tt.status == 200 {
				if seen == nil || !seen.Allow || seen.Query != "http" {
					t.Fatalf("handler saw decision %+v, want the allow of query http", seen)
				}
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			var p problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Status != 403 || p.Title != "Forbidden" || p.Detail != "the authorization policy denied this request" {
				t.Errorf("problem %+v", p)
			}
			mu.Lock()
			d, ok := logged[p.DecisionID]
			mu.Unlock()
			if !ok {
				t.Fatalf("decision_id %q names no logged decision", p.DecisionID)
			}
			if d.Allow || strings.Join(d.Reasons, "|") != strings.Join(tt.reasons, "|") {
				t.Errorf("logged decision allow=%v reasons %q, want deny %q", d.Allow, d.Reasons, tt.reasons)
			}
			if strings.Contains(w.Body.String(), "does not own") || strings.Contains(w.Body.String(), "no role") {
				t.Errorf("the problem leaks the policy's reasons: %s", w.Body)
			}
		})
	}
}

func TestAuthorizerInput(t *testing.T) {
	e := newEngine(t, echoInput)
	a := newAuthorizer(t, policy.AuthorizerConfig{Engine: e, Query: "data.echo.decision", Headers: []string{"x-tenant", "Accept-Language"}})
	var got map[string]any
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := policy.DecisionFrom(r.Context())
		got = d.Obligations["input"].(map[string]any)
	}))
	r := httptest.NewRequest("GET", "/orgs/acme/files/a/b.txt?q=1", nil)
	r.RemoteAddr = "192.0.2.7:4711"
	r.Header.Set("X-Tenant", "acme")
	r.Header.Add("Accept-Language", "en")
	r.Header.Add("Accept-Language", "fr")
	r.Header.Set("Authorization", "Bearer secret")
	r.Header.Set("X-Other", "not selected")
	r = withPrincipal(r, &paved.Principal{Subject: "alice", Issuer: "https://id.example", Roles: []string{"r"}, Claims: map[string]any{"tier": "gold"}})
	w := serve("GET /orgs/{org}/files/{path...}", h, r)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	want := map[string]any{
		"method":    "GET",
		"path":      "/orgs/acme/files/a/b.txt",
		"route":     "GET /orgs/{org}/files/{path...}",
		"params":    map[string]any{"org": "acme", "path": "a/b.txt"},
		"headers":   map[string]any{"x-tenant": "acme", "accept-language": "en, fr"},
		"client_ip": "192.0.2.7",
		"time":      json.Number("1796126400000000000"),
		"principal": map[string]any{"sub": "alice", "iss": "https://id.example", "roles": []any{"r"}, "claims": map[string]any{"tier": "gold"}},
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("input\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestAuthorizerRoutesAndRequire(t *testing.T) {
	e := newEngine(t, fstest.MapFS{"r.rego": {Data: []byte(`package r

read := true

write := {"allow": false, "reasons": ["read-only"]}
`)}})
	a := newAuthorizer(t, policy.AuthorizerConfig{
		Engine: e,
		Routes: map[string]string{"GET /a": "data.r.read", "POST /a": "data.r.write"},
	})
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	mux.Handle("GET /a", a.Middleware(ok))
	mux.Handle("POST /a", a.Middleware(ok))
	mux.Handle("GET /b", a.Middleware(ok))                    // no query: denied
	mux.Handle("GET /c", a.Require("data.r.read")(ok))        // per-route, allowed
	mux.Handle("GET /d", a.Require("data.r.write")(ok))       // per-route, denied
	mux.Handle("GET /e", a.Require("not a reference !!")(ok)) // unknown: denied
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/a", 200}, {"POST", "/a", 403}, {"GET", "/b", 403},
		{"GET", "/c", 200}, {"GET", "/d", 403}, {"GET", "/e", 403},
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		if w.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, w.Code, tt.status)
		}
		if w.Code == 403 {
			var p problem
			_ = json.Unmarshal(w.Body.Bytes(), &p)
			if len(p.DecisionID) != 32 {
				t.Errorf("%s %s: decision_id %q, want 32 hex digits", tt.method, tt.path, p.DecisionID)
			}
		}
	}
}

// TestAuthorizerFailsClosed: every failure of the decision denies 403.
func TestAuthorizerFailsClosed(t *testing.T) {
	e := newEngineTimeout(t, fstest.MapFS{"f.rego": {Data: []byte(`package f

nonbool := "yes"

conflict := 1 if input.method
conflict := 2 if input.method

loop if {
	count([x | some a in numbers.range(1, 3000); some b in numbers.range(1, 3000); x := a * b]) < 0
}

resource_allows if input.resource.public == true
`)}}, 20*time.Millisecond)
	for _, tt := range []struct {
		name, query string
		resource    func(*http.Request) (map[string]any, error)
		cause       string
	}{
		{"undefined", "data.f.missing", nil, policy.CauseUndefined},
		{"non-boolean", "data.f.nonbool", nil, policy.CauseNonBoolean},
		{"error", "data.f.conflict", nil, policy.CauseError},
		{"timeout", "data.f.loop", nil, policy.CauseTimeout},
		{"resource error", "data.f.resource_allows", func(*http.Request) (map[string]any, error) { return nil, errors.New("store down") }, policy.CauseBadInput},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d policy.Decision
			a := newAuthorizer(t, policy.AuthorizerConfig{Engine: e, Query: tt.query, Resource: tt.resource})
			called := false
			h := a.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
			w := serve("GET /x", h, httptest.NewRequest("GET", "/x", nil))
			if w.Code != 403 || called {
				t.Fatalf("status %d, handler called %v; want 403 and not called", w.Code, called)
			}
			var p problem
			_ = json.Unmarshal(w.Body.Bytes(), &p)
			d, _ = e.Decide(context.Background(), tt.query, map[string]any{"method": "GET"})
			if tt.cause != policy.CauseBadInput && d.Cause != tt.cause {
				t.Errorf("cause %q, want %q", d.Cause, tt.cause)
			}
			if len(p.DecisionID) != 32 {
				t.Errorf("decision_id %q", p.DecisionID)
			}
		})
	}
}

func TestAuthorizerBounds(t *testing.T) {
	e := newEngine(t, echoInput)
	a := newAuthorizer(t, policy.AuthorizerConfig{Engine: e, Query: "data.echo.decision", Headers: []string{"X-Big"}, MaxHeaderValueBytes: 100, MaxPathValueBytes: 50})
	ok := a.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, tt := range []struct {
		name   string
		path   string
		header []string
		status int
	}{
		{"small", "/f/abc", []string{"v"}, 200},
		{"header at the bound", "/f/abc", []string{strings.Repeat("a", 100)}, 200},
		{"header over the bound", "/f/abc", []string{strings.Repeat("a", 101)}, 403},
		{"joined values over the bound", "/f/abc", []string{strings.Repeat("a", 50), strings.Repeat("b", 49)}, 403},
		{"path value over the bound", "/f/" + strings.Repeat("p", 51), nil, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.path, nil)
			for _, v := range tt.header {
				r.Header.Add("X-Big", v)
			}
			if w := serve("GET /f/{name}", ok, r); w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
		})
	}
	// Deeply nested claims: the engine's input bounds deny.
	deep := map[string]any{}
	cur := deep
	for range 200 {
		next := map[string]any{}
		cur["n"] = next
		cur = next
	}
	r := withPrincipal(httptest.NewRequest("GET", "/f/x", nil), &paved.Principal{Subject: "s", Claims: deep})
	if w := serve("GET /f/{name}", ok, r); w.Code != 403 {
		t.Fatalf("deep claims: status %d, want 403", w.Code)
	}
}

func TestNewAuthorizerConfigErrors(t *testing.T) {
	e := newEngine(t, echoInput)
	_, err := policy.NewAuthorizer(policy.AuthorizerConfig{
		Engine:              e,
		Query:               "not a ref",
		Routes:              map[string]string{"GET /x": "also bad"},
		Headers:             []string{"Authorization", "cookie", "X-A", "x-a", "bad name", "x-api-key", "X-Amz-Security-Token", "X-Session-Id", "X-Request-Id"},
		MaxHeaderValueBytes: 1 << 20,
	})
	var fields []string
	for _, ce := range paved.ConfigErrors(err) {
		fields = append(fields, ce.Field)
	}
	want := []string{
		"AuthorizerConfig.MaxHeaderValueBytes",
		"AuthorizerConfig.Headers[0]", "AuthorizerConfig.Headers[1]", "AuthorizerConfig.Headers[3]", "AuthorizerConfig.Headers[4]",
		"AuthorizerConfig.Headers[5]", "AuthorizerConfig.Headers[6]", "AuthorizerConfig.Headers[7]",
		"AuthorizerConfig.Query", `AuthorizerConfig.Routes["GET /x"]`,
	}
	if strings.Join(fields, ",") != strings.Join(want, ",") {
		t.Fatalf("fields %q, want %q (err %v)", fields, want, err)
	}
	if _, err := policy.NewAuthorizer(policy.AuthorizerConfig{}); len(paved.ConfigErrors(err)) != 1 {
		t.Fatalf("nil engine: %v", err)
	}
}

func TestAuthorizerPostureAndEvents(t *testing.T) {
	e := newEngine(t, fstest.MapFS{"d.rego": {Data: []byte("package d\n\nno := false\n")}})
	var posture paved.Posture
	var events []paved.Event
	a := newAuthorizer(t, policy.AuthorizerConfig{
		Engine: e, Query: "data.d.no", Headers: []string{"X-Tenant"}, Posture: &posture,
		Events: paved.SinkFunc(func(_ context.Context, ev paved.Event) { events = append(events, ev) }),
	})
	r := withPrincipal(httptest.NewRequest("GET", "/x", nil), &paved.Principal{Subject: "bob"})
	w := serve("GET /x", a.Middleware(http.NotFoundHandler()), r)
	var p problem
	_ = json.Unmarshal(w.Body.Bytes(), &p)
	if len(events) != 1 {
		t.Fatalf("events %+v, want one authz.denied", events)
	}
	ev := events[0]
	if ev.Type != paved.EventAuthzDenied || ev.Outcome != paved.OutcomeDenied || ev.Subject != "bob" || ev.Reason != "denied" || ev.Component != "policy" {
		t.Errorf("event %+v", ev)
	}
	if v := attr(ev.Attrs, "decision_id"); v != p.DecisionID {
		t.Errorf("event decision_id %q, problem %q", v, p.DecisionID)
	}
	rep := posture.Report()
	if len(rep.Controls) != 1 {
		t.Fatalf("controls %+v", rep.Controls)
	}
	c := rep.Controls[0]
	if c.Component != "policy" || c.Instance != "http" || c.Name != "http-authorization" || !c.Enabled ||
		c.Detail != "default query data.d.no; 0 route queries; headers [x-tenant]; errors, undefined and timeouts deny 403" {
		t.Errorf("control %+v", c)
	}
}

func attr(attrs []slog.Attr, key string) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}

func TestPatternWildcardsThroughMux(t *testing.T) {
	e := newEngine(t, echoInput)
	a := newAuthorizer(t, policy.AuthorizerConfig{Engine: e, Query: "data.echo.decision"})
	for _, tt := range []struct{ pattern, path, params string }{
		{"GET /{$}", "/", `null`},
		{"GET /x/{a}/{b}/{$}", "/x/1/2/", `{"a":"1","b":"2"}`},
		{"example.com/y/{rest...}", "http://example.com/y/p/q", `{"rest":"p/q"}`},
		{"/plain", "/plain", `null`},
	} {
		var params any
		h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, _ := policy.DecisionFrom(r.Context())
			params = d.Obligations["input"].(map[string]any)["params"]
		}))
		serve(tt.pattern, h, httptest.NewRequest("GET", tt.path, nil))
		b, _ := json.Marshal(params)
		if string(b) != tt.params {
			t.Errorf("%s: params %s, want %s", tt.pattern, b, tt.params)
		}
	}
}
