package policy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/policy"
)

// logLines decodes the JSON records in buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		delete(m, "time")
		out = append(out, m)
	}
	return out
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestDecisionLogRecord(t *testing.T) {
	var buf bytes.Buffer
	dl, err := policy.NewDecisionLog(policy.DecisionLogConfig{
		Logger: slog.New(slog.NewJSONHandler(&buf, nil)),
		Mask:   []string{"/input/principal/claims/email", "/input/headers/x~1api~0key", "/input/roles/1", "/result/obligations/token", "/input/absent"},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, fstest.MapFS{"p.rego": {Data: []byte(`package p

decision := {"allow": input.principal.sub == "alice", "reasons": ["r1"], "obligations": {"token": "t0ken", "keep": 1}}
`)}})
	// The decision through the engine, then logged with the input.
	in := map[string]any{
		"principal": map[string]any{"sub": "alice", "claims": map[string]any{"email": "a@example.com", "tier": "gold"}},
		"headers":   map[string]any{"x/api~key": "k3y", "x-tenant": "acme"},
		"roles":     []any{"a", "b", "c"},
	}
	d, err := e.Decide(context.Background(), "data.p.decision", in)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := ast.InterfaceToValue(in)
	ctx := httpx.WithRequestID(context.Background(), "req-1")
	dl.LogDecision(ctx, d, v)

	recs := logLines(t, &buf)
	if len(recs) != 1 {
		t.Fatalf("records %v", recs)
	}
	r := recs[0]
	want := map[string]any{
		"level": "INFO", "msg": "policy decision",
		"decision_id": d.ID.String(), "query": "data.p.decision", "allow": true,
		"result":          map[string]any{"allow": true, "reasons": []any{"r1"}, "obligations": map[string]any{"keep": 1}},
		"bundle_revision": "",
		"duration":        r["duration"],
		"request_id":      "req-1",
		"input": map[string]any{
			"principal": map[string]any{"sub": "alice", "claims": map[string]any{"tier": "gold"}},
			"headers":   map[string]any{"x-tenant": "acme"},
			"roles":     []any{"a", "c"},
		},
		"erased": []any{"/input/principal/claims/email", "/input/headers/x~1api~0key", "/input/roles/1", "/result/obligations/token"},
	}
	if jsonOf(r) != jsonOf(want) {
		t.Fatalf("record\n got %s\nwant %s", jsonOf(r), jsonOf(want))
	}
	if _, ok := r["duration"].(float64); !ok {
		t.Errorf("duration %v", r["duration"])
	}
	// Masking worked on copies: the decision (shared with the cache) keeps
	// its obligation.
	if d.Obligations["token"] != "t0ken" {
		t.Errorf("masking changed the decision's obligations: %v", d.Obligations)
	}
}

func TestDecisionLogMaskWholeDocuments(t *testing.T) {
	var buf bytes.Buffer
	dl, _ := policy.NewDecisionLog(policy.DecisionLogConfig{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Mask: []string{"/input", "/result"}})
	v, _ := ast.InterfaceToValue(map[string]any{"secret": "s"})
	dl.LogDecision(context.Background(), policy.Decision{Allow: true, Query: "q"}, v)
	r := logLines(t, &buf)[0]
	if _, ok := r["input"]; ok {
		t.Errorf("input logged: %v", r)
	}
	if _, ok := r["result"]; ok {
		t.Errorf("result logged: %v", r)
	}
	if jsonOf(r["erased"]) != `["/input","/result"]` {
		t.Errorf("erased %v", r["erased"])
	}
}

func TestDecisionLogSampling(t *testing.T) {
	for _, tt := range []struct {
		name                  string
		allowed, denied       int
		wantAllowed, wantDeny int
	}{
		{"defaults log everything", 0, 0, 10, 10},
		{"one allowed in four, every deny", 4, 0, 3, 10}, // 1st, 5th, 9th
		{"no allowed", -1, 1, 0, 10},
		{"one deny in three", 1, 3, 10, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			dl, err := policy.NewDecisionLog(policy.DecisionLogConfig{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), SampleAllowed: tt.allowed, SampleDenied: tt.denied})
			if err != nil {
				t.Fatal(err)
			}
			for range 10 {
				dl.LogDecision(context.Background(), policy.Decision{Allow: true}, nil)
				dl.LogDecision(context.Background(), policy.Decision{Allow: false}, nil)
				// Failures are always logged, at warning level.
				dl.LogDecision(context.Background(), policy.Decision{Cause: policy.CauseTimeout, Err: policy.ErrTimeout}, nil)
			}
			var allowed, denied, failed int
			for _, r := range logLines(t, &buf) {
				switch {
				case r["cause"] == "timeout":
					failed++
					if r["level"] != "WARN" || r["error"] != policy.ErrTimeout.Error() {
						t.Errorf("failure record %v", r)
					}
				case r["allow"] == true:
					allowed++
				default:
					denied++
				}
			}
			if allowed != tt.wantAllowed || denied != tt.wantDeny || failed != 10 {
				t.Fatalf("logged %d allowed, %d denied, %d failed; want %d, %d, 10", allowed, denied, failed, tt.wantAllowed, tt.wantDeny)
			}
		})
	}
}

func TestDecisionLogDisabledLoggerCostsNothing(t *testing.T) {
	dl, _ := policy.NewDecisionLog(policy.DecisionLogConfig{Logger: slog.New(slog.DiscardHandler), Mask: []string{"/input/a"}})
	v, _ := ast.InterfaceToValue(map[string]any{"a": "b"})
	d := policy.Decision{Allow: true}
	if n := testing.AllocsPerRun(100, func() { dl.LogDecision(context.Background(), d, v) }); n != 0 {
		t.Fatalf("%v allocations per decision with a disabled logger, want 0", n)
	}
}

func TestNewDecisionLogMaskErrors(t *testing.T) {
	_, err := policy.NewDecisionLog(policy.DecisionLogConfig{Mask: []string{"input/a", "/other/a", "/input/a~2b", "/input/ok", "/input/~~01", "/input/a~", "/input/headers/X-Api-Key", "/input/~01"}})
	var fields []string
	for _, ce := range paved.ConfigErrors(err) {
		fields = append(fields, ce.Field)
	}
	if strings.Join(fields, ",") != "DecisionLogConfig.Mask[0],DecisionLogConfig.Mask[1],DecisionLogConfig.Mask[2],DecisionLogConfig.Mask[4],DecisionLogConfig.Mask[5],DecisionLogConfig.Mask[6]" {
		t.Fatalf("fields %v (%v)", fields, err)
	}
}

// TestDecisionLogThroughAuthorizer: the engine hands the middleware's
// decisions, with their input, to the decision log; the 403's decision_id
// finds the record.
func TestDecisionLogThroughAuthorizer(t *testing.T) {
	var buf bytes.Buffer
	dl, _ := policy.NewDecisionLog(policy.DecisionLogConfig{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Mask: []string{"/input/principal/claims"}})
	e := newQuickstartEngine(t, dl)
	a := newAuthorizer(t, policy.AuthorizerConfig{Engine: e, Query: "http"})
	r := withPrincipal(httpRequest("GET", "/docs/2"), &paved.Principal{Subject: "quickstart-user", Roles: []string{"reader"}, Claims: map[string]any{"email": "q@example.com"}})
	w := serve("GET /docs/{id}", a.Middleware(nil), r)
	var p problem
	_ = json.Unmarshal(w.Body.Bytes(), &p)
	recs := logLines(t, &buf)
	if len(recs) != 1 {
		t.Fatalf("records %v", recs)
	}
	rec := recs[0]
	if rec["decision_id"] != p.DecisionID || rec["allow"] != false || rec["query"] != "http" {
		t.Errorf("record %v, problem %+v", rec, p)
	}
	if jsonOf(rec["result"]) != `{"allow":false,"reasons":["quickstart-user does not own document 2"]}` {
		t.Errorf("result %v", jsonOf(rec["result"]))
	}
	if strings.Contains(buf.String(), "q@example.com") {
		t.Errorf("masked claim logged: %s", buf.String())
	}
	in := rec["input"].(map[string]any)
	if in["route"] != "GET /docs/{id}" || jsonOf(in["params"]) != `{"id":"2"}` {
		t.Errorf("input %v", in)
	}
}

func httpRequest(method, target string) *http.Request {
	return httptest.NewRequest(method, target, nil)
}

// A built-in's error quotes its operand: with masks set, the record keeps
// the error's location and code, not the masked value it quotes.
func TestDecisionLogErrorDoesNotQuoteMaskedInput(t *testing.T) {
	e := newEngine(t, fstest.MapFS{"p.rego": {Data: []byte("package p\n\nallow if time.parse_rfc3339_ns(input.secret) > 0\n")}})
	in := map[string]any{"secret": "hunter2-value"}
	for _, tt := range []struct {
		mask []string
		want string
	}{
		{nil, `/p.rego:3: eval_builtin_error: time.parse_rfc3339_ns: parsing time "hunter2-value"`},
		{[]string{"/input/secret"}, "/p.rego:3: eval_builtin_error (message withheld: it may quote masked input)"},
	} {
		var buf bytes.Buffer
		dl, err := policy.NewDecisionLog(policy.DecisionLogConfig{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Mask: tt.mask})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := e.Decide(context.Background(), "data.p.allow", in)
		if d.Cause != policy.CauseError {
			t.Fatalf("%+v", d)
		}
		iv, _ := ast.InterfaceToValue(in)
		dl.LogDecision(context.Background(), d, iv)
		lines := logLines(t, &buf)
		if len(lines) != 1 {
			t.Fatalf("%d records", len(lines))
		}
		got, _ := lines[0]["error"].(string)
		if !strings.Contains(got, tt.want) {
			t.Fatalf("mask %v: error %q, want it to contain %q", tt.mask, got, tt.want)
		}
		if tt.mask != nil && strings.Contains(buf.String(), "hunter2") {
			t.Fatalf("the masked value is in the record: %s", buf.String())
		}
	}
}
