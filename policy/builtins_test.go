package policy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pavedroad/paved"
)

func moduleFS(src string) fstest.MapFS {
	return fstest.MapFS{"p/p.rego": {Data: []byte(src)}}
}

func TestRefusedBuiltinsRejectedAtLoad(t *testing.T) {
	for _, tt := range []struct{ name, call string }{
		{"http.send", `http.send({"method": "GET", "url": "http://127.0.0.1:1/"})`},
		{"net.lookup_ip_addr", `net.lookup_ip_addr("example.com")`},
		{"opa.runtime", `opa.runtime()`},
		// Both resolve a "file://" $ref from the host's disk.
		{"json.match_schema", `json.match_schema({}, {"$ref": "file:///etc/hostname"})`},
		{"json.verify_schema", `json.verify_schema({"$ref": "file:///etc/hostname"})`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("package p\n\nx := %s\n", tt.call)
			_, err := New(context.Background(), Config{FS: moduleFS(src), Logger: discard, Posture: &paved.Posture{}})
			want := fmt.Sprintf("p/p.rego:3: rego_type_error: undefined function %s (refused: it reaches the network or the host; opt in with policy.AllowBuiltin(%q, reason))", tt.name, tt.name)
			if !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v\nwant it to contain %s", err, want)
			}
			// Opted in by name, it loads.
			cfg := Config{FS: moduleFS(src), Logger: discard, Posture: &paved.Posture{},
				OptOuts: []paved.OptOut{AllowBuiltin(tt.name, "the policy reads the directory service")}}
			if _, err := New(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			r := cfg.Posture.Report()
			if len(r.OptOuts) != 1 || r.OptOuts[0].Name != "allow-builtin:"+tt.name {
				t.Fatalf("opt-outs %+v", r.OptOuts)
			}
		})
	}
}

// An allowed json.match_schema reads the host's files: the reason it is
// refused by default. If OPA ever stops resolving file:// references this
// test fails, and the refusal can be reconsidered.
func TestSchemaBuiltinReadsHostFiles(t *testing.T) {
	f := filepath.Join(t.TempDir(), "host.json")
	if err := os.WriteFile(f, []byte(`{"type": "object", "required": ["from-the-host-disk"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf("package p\n\nd := {\"allow\": true, \"reasons\": [sprintf(\"%%v\", [json.match_schema({}, {\"$ref\": %q})])]}\n", "file://"+f)
	cfg := Config{FS: moduleFS(src), Logger: discard, Posture: &paved.Posture{}}
	if _, err := New(context.Background(), cfg); !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "undefined function json.match_schema (refused") {
		t.Fatalf("default: %v", err)
	}
	cfg.OptOuts = []paved.OptOut{AllowBuiltin("json.match_schema", "schemas are all inline in the bundle")}
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Decide(context.Background(), "data.p.d", nil)
	if err != nil || len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], "from-the-host-disk is required") {
		t.Fatalf("%+v %v", d.Reasons, err)
	}
}

func TestBuiltinOptOutErrors(t *testing.T) {
	cfg := Config{FS: moduleFS("package p\n"), Logger: discard, Posture: &paved.Posture{},
		OptOuts:       []paved.OptOut{AllowBuiltin("time.now_ns", "why not")},
		HTTPSendHosts: []string{"api.example.com"}}
	_, err := New(context.Background(), cfg)
	var fields []string
	for _, ce := range paved.ConfigErrors(err) {
		fields = append(fields, ce.Field)
	}
	if strings.Join(fields, ",") != "Config.OptOuts[0],Config.HTTPSendHosts" {
		t.Fatalf("fields %v (%v)", fields, err)
	}
}

func TestHTTPSendAllowList(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok": true}`))
	}))
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	src := `package p

allow if {
	resp := http.send({"method": "GET", "url": input.url, "raise_error": true})
	resp.body.ok == true
}
`
	cfg := Config{FS: moduleFS(src), Logger: discard, Posture: &paved.Posture{}, Timeout: 5 * time.Second,
		OptOuts:       []paved.OptOut{AllowBuiltin("http.send", "the policy asks the entitlement service")},
		HTTPSendHosts: []string{u.Hostname()}}
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Decide(context.Background(), "data.p.allow", map[string]any{"url": ts.URL + "/x"})
	if err != nil || !d.Allow {
		t.Fatalf("allowed host: %+v %v", d, err)
	}
	// Another host (the same server by another name) is refused: the
	// strict built-in error denies.
	other := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
	d, err = e.Decide(context.Background(), "data.p.allow", map[string]any{"url": other + "/x"})
	if d.Allow || d.Cause != CauseError || !strings.Contains(fmt.Sprint(err), "disallowed host: localhost") {
		t.Fatalf("other host: %+v %v", d, err)
	}
	// Allowed with no host listed: reaches none.
	cfg.HTTPSendHosts = nil
	cfg.Posture = &paved.Posture{}
	e, err = New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := e.Decide(context.Background(), "data.p.allow", map[string]any{"url": ts.URL + "/x"}); d.Allow || d.Cause != CauseError {
		t.Fatalf("no hosts: %+v", d)
	}
}

func TestPureQueryRefusesNondeterminism(t *testing.T) {
	src := "package p\n\nallow if time.now_ns() > input.t\n"
	_, err := New(context.Background(), Config{FS: moduleFS(src), Logger: discard, Posture: &paved.Posture{},
		Queries: []QueryConfig{{Name: "q", Path: "data.p.allow", Pure: true}}})
	if !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "p/p.rego:3 time.now_ns") {
		t.Fatalf("err = %v", err)
	}
	// Not pure: fine.
	if _, err := New(context.Background(), Config{FS: moduleFS(src), Logger: discard, Posture: &paved.Posture{},
		Queries: []QueryConfig{{Name: "q", Path: "data.p.allow"}}}); err != nil {
		t.Fatal(err)
	}
	// A query path that matches nothing fails the load.
	_, err = New(context.Background(), Config{FS: moduleFS(src), Logger: discard, Posture: &paved.Posture{},
		Queries: []QueryConfig{{Name: "q", Path: "data.p.alow"}}})
	if !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "matches no rule") {
		t.Fatalf("typo: %v", err)
	}
}

func TestLoopsAndDeadline(t *testing.T) {
	// Rego refuses recursion when the policy loads.
	src := "package p\n\nf(x) := y if { y := f(x) }\n\nallow if f(1)\n"
	_, err := New(context.Background(), Config{FS: moduleFS(src), Logger: discard, Posture: &paved.Posture{}})
	if !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), "rego_recursion_error") {
		t.Fatalf("recursion: %v", err)
	}
	// A policy that iterates for long is cut at the default 50ms deadline.
	src = "package p\n\nallow if {\n\tsome i in numbers.range(1, 50000000)\n\ti < 0\n}\n"
	e, err := New(context.Background(), Config{FS: moduleFS(src), Logger: discard, Posture: &paved.Posture{}})
	if err != nil {
		t.Fatal(err)
	}
	if e.cfg.Timeout != DefaultTimeout || DefaultTimeout != 50*time.Millisecond {
		t.Fatalf("timeout %v", e.cfg.Timeout)
	}
	start := time.Now()
	d, err := e.Decide(context.Background(), "data.p.allow", nil)
	if d.Allow || d.Cause != CauseTimeout || !errors.Is(err, ErrTimeout) {
		t.Fatalf("%+v %v", d, err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v", el)
	}
}
