package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pavedroad/paved"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

const rbacPath = "data.httpapi.authz.decision"

func rbacConfig(t testing.TB) Config {
	t.Helper()
	return Config{
		FS:      os.DirFS("testdata/rbac"),
		Queries: []QueryConfig{{Name: "http", Path: rbacPath}, {Name: "http-pure", Path: rbacPath, Pure: true}},
		// Tests run under -race on a shared machine: the default 50ms
		// deadline is exercised by TestDenyCauses alone.
		Timeout: 2 * time.Second,
		Logger:  discard,
		Posture: &paved.Posture{},
		Events:  paved.NopSink{},
	}
}

func newRBAC(t testing.TB, mod func(*Config)) *Engine {
	t.Helper()
	cfg := rbacConfig(t)
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func rbacInput(sub string, roles []string, route, owner string) *Input {
	in := &Input{Method: "GET", Route: route, Path: "/docs/42", Params: map[string]string{"id": "42"}}
	if sub != "" {
		in.Principal = &paved.Principal{Subject: sub, Issuer: "https://idp.example", Roles: roles}
	}
	if owner != "" {
		in.Resource = map[string]any{"owner": owner}
	}
	return in
}

func TestRBACDecisions(t *testing.T) {
	e := newRBAC(t, nil)
	tests := []struct {
		name    string
		in      *Input
		allow   bool
		reasons []string
	}{
		{"admin deletes", rbacInput("ann", []string{"admin"}, "DELETE /docs/{id}", ""), true, nil},
		{"reader reads", rbacInput("rob", []string{"reader"}, "GET /docs/{id}", ""), true, nil},
		{"reader cannot delete", rbacInput("rob", []string{"reader"}, "DELETE /docs/{id}", ""), false, []string{"no role of rob grants DELETE /docs/{id}"}},
		{"owner writes", rbacInput("bob", nil, "PUT /docs/{id}", "bob"), true, nil},
		{"stranger cannot write", rbacInput("eve", nil, "PUT /docs/{id}", "bob"), false, []string{"no role of eve grants PUT /docs/{id}"}},
		{"anonymous", rbacInput("", nil, "GET /docs/{id}", ""), false, []string{"not authenticated"}},
	}
	for _, q := range []string{"http", "http-pure", rbacPath} {
		for _, tt := range tests {
			t.Run(q+"/"+tt.name, func(t *testing.T) {
				for range 2 { // the second may come from the cache
					d, err := e.Decide(context.Background(), q, tt.in)
					if err != nil {
						t.Fatal(err)
					}
					if d.Allow != tt.allow || strings.Join(d.Reasons, "|") != strings.Join(tt.reasons, "|") {
						t.Fatalf("got allow %v reasons %q, want %v %q", d.Allow, d.Reasons, tt.allow, tt.reasons)
					}
					if d.Cause != "" || d.Err != nil || d.ID.IsZero() || d.Query != q {
						t.Fatalf("decision %+v", d)
					}
				}
			})
		}
	}
}

func TestCompileErrorNamesFileAndLine(t *testing.T) {
	fsys := fstest.MapFS{
		"a/policy.rego": {Data: []byte("package a\n\nallow if {\n\tinput.x == \n}\n")},
	}
	_, err := New(context.Background(), Config{FS: fsys, Logger: discard, Posture: &paved.Posture{}})
	if err == nil || !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "a/policy.rego:5: rego_parse_error") {
		t.Fatalf("err = %v", err)
	}
	fsys = fstest.MapFS{
		"a/policy.rego": {Data: []byte("package a\n\nallow if {\n\tundefined_fn(input.x)\n}\n")},
	}
	_, err = New(context.Background(), Config{FS: fsys, Logger: discard, Posture: &paved.Posture{}})
	if err == nil || !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "a/policy.rego:4") {
		t.Fatalf("err = %v", err)
	}
}

func TestDenyCauses(t *testing.T) {
	fsys := fstest.MapFS{
		"p/p.rego": {Data: []byte(`package p

string_allow := {"allow": "yes"}
number := 3
no_allow := {"reasons": ["x"]}
maybe if input.x == 1
boom := x if { x := 1 / input.zero }
slow if {
	count([x | some i in numbers.range(1, 100000000); x := i * 2]) > 0
}
conflict := 1
conflict := 2 if input.c
`)},
	}
	e, err := New(context.Background(), Config{FS: fsys, Logger: discard, Posture: &paved.Posture{}, Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		input any
		cause string
		is    error
	}{
		{"data.p.string_allow", nil, CauseNonBoolean, ErrNonBoolean},
		{"data.p.number", nil, CauseNonBoolean, ErrNonBoolean},
		{"data.p.no_allow", nil, CauseNonBoolean, ErrNonBoolean},
		{"data.p.maybe", map[string]any{"x": 2}, CauseUndefined, ErrUndefined},
		{"data.p.missing", nil, CauseUndefined, ErrUndefined},
		{"data.p.boom", map[string]any{"zero": 0}, CauseError, ErrEvaluation},
		{"data.p.conflict", map[string]any{"c": true}, CauseError, ErrEvaluation},
		{"data.p.slow", nil, CauseTimeout, ErrTimeout},
		{"nope", nil, CauseUnknown, ErrUnknownQuery},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			start := time.Now()
			d, err := e.Decide(context.Background(), tt.query, tt.input)
			if d.Allow || d.Cause != tt.cause || !errors.Is(err, tt.is) || d.Err != err {
				t.Fatalf("decision %+v, err %v; want cause %s", d, err, tt.cause)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Cause != tt.cause {
				t.Fatalf("err %#v", err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Fatalf("took %v", el)
			}
		})
	}
}

func TestContextCancelDenies(t *testing.T) {
	e := newRBAC(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := e.Decide(ctx, "http", rbacInput("ann", []string{"admin"}, "DELETE /docs/{id}", ""))
	if d.Allow || !errors.Is(err, ErrTimeout) {
		t.Fatalf("decision %+v err %v", d, err)
	}
}

func TestDirSourceAndObligations(t *testing.T) {
	dir := t.TempDir()
	src := `package app

decision := {"allow": true, "reasons": ["ok", "logged"], "obligations": {"mask": ["/ssn"], "ttl": 30}} if input.n == 1
decision := {"allow": false, "reasons": {"b", "a"}} if input.n == 2
decision := {"allow": true, "obligations": ["/ssn"]} if input.n == 3
`
	if err := os.MkdirAll(dir+"/app", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/app/app.rego", []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), Config{Dir: dir, Logger: discard, Posture: &paved.Posture{}, Timeout: 2 * time.Second,
		Queries: []QueryConfig{{Name: "d", Path: "data.app.decision"}}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Decide(context.Background(), "d", map[string]any{"n": 1})
	if err != nil || !d.Allow || strings.Join(d.Reasons, ",") != "ok,logged" || d.Obligations["ttl"] == nil || fmt.Sprint(d.Obligations["mask"]) != "[/ssn]" {
		t.Fatalf("%+v %v", d, err)
	}
	d, err = e.Decide(context.Background(), "d", map[string]any{"n": 2})
	if err != nil || d.Allow || strings.Join(d.Reasons, ",") != "a,b" || d.Obligations != nil {
		t.Fatalf("%+v %v", d, err)
	}
	// Obligations that are not a JSON object deny: the service could not
	// meet them.
	for _, n := range []int{3} {
		d, err = e.Decide(context.Background(), "d", map[string]any{"n": n})
		if d.Allow || d.Cause != CauseError || !errors.Is(err, ErrEvaluation) || !strings.Contains(err.Error(), "obligations") {
			t.Fatalf("n=%d: %+v %v", n, d, err)
		}
	}
	if _, err := New(context.Background(), Config{Dir: dir + "/missing", Logger: discard, Posture: &paved.Posture{}}); !errors.Is(err, ErrLoad) {
		t.Fatalf("missing dir: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	fsys := fstest.MapFS{"p/p.rego": {Data: []byte("package p\nallow := true\n")}}
	cfg := Config{
		FS: fsys, Dir: "x",
		Queries:       []QueryConfig{{Name: "a", Path: "data.p.allow"}, {Name: "a", Path: "input.x"}, {Path: "data.p[x]"}},
		Timeout:       time.Minute,
		MaxInputDepth: 1,
		CacheSize:     -1,
		OptOuts:       []paved.OptOut{paved.NewOptOut("httpx", "allow-plain-http", "r"), AllowUnsignedBundle("no remote bundle")},
	}
	_, err := New(context.Background(), cfg)
	var got []string
	for _, ce := range paved.ConfigErrors(err) {
		got = append(got, ce.Field)
	}
	want := "Config,Config.Timeout,Config.MaxInputDepth,Config.CacheSize,Config.OptOuts[0],Config.OptOuts[1],Config.Queries[1].Name,Config.Queries[1].Path,Config.Queries[2].Name,Config.Queries[2].Path"
	if strings.Join(got, ",") != want {
		t.Fatalf("fields\n%s\nwant\n%s\n%v", strings.Join(got, ","), want, err)
	}
}
