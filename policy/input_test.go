package policy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/pavedroad/paved"
)

func nested(depth int) any {
	var v any = "leaf"
	for range depth {
		v = map[string]any{"a": v}
	}
	return v
}

func TestInputBounds(t *testing.T) {
	e := newRBAC(t, func(c *Config) { c.MaxInputDepth = 10; c.MaxInputNodes = 100; c.MaxInputBytes = 1 << 10 })
	many := make([]any, 200)
	for i := range many {
		many[i] = i
	}
	tests := []struct {
		name  string
		input any
		want  string
	}{
		{"deep", nested(50), "nested deeper than 10"},
		{"deep array", json.RawMessage(strings.Repeat("[", 40) + strings.Repeat("]", 40)), "nested deeper than 10"},
		{"many values", map[string]any{"xs": many}, "more than 100 values"},
		{"long string", map[string]any{"s": strings.Repeat("x", 2<<10)}, "more than 1024 bytes"},
		{"long key", map[string]any{strings.Repeat("k", 2<<10): 1}, "more than 1024 bytes"},
		{"not JSON", json.RawMessage(`{"a":`), "input rejected"},
		{"huge JSON", json.RawMessage(`"` + strings.Repeat("x", 2<<10) + `"`), "bytes of JSON, more than 1024"},
		{"not convertible", map[string]any{"c": make(chan int)}, "input rejected"},
	}
	for _, q := range []string{"http", "http-pure"} {
		for _, tt := range tests {
			t.Run(q+"/"+tt.name, func(t *testing.T) {
				d, err := e.Decide(context.Background(), q, tt.input)
				if d.Allow || d.Cause != CauseBadInput || !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("decision %+v err %v, want %q", d, err, tt.want)
				}
			})
		}
	}
	// Just inside the bounds: decided.
	if _, err := e.Decide(context.Background(), "http", nested(8)); err != nil {
		t.Fatal(err)
	}
}

func TestInputValue(t *testing.T) {
	in := &Input{
		Method: "GET", Path: "/docs/42", Route: "GET /docs/{id}",
		Params: map[string]string{"id": "42"}, Headers: map[string]string{"x-tenant": "acme"},
		ClientIP: "192.0.2.1", Time: time.Unix(1764590400, 0),
		Principal: &paved.Principal{Subject: "ann", Issuer: "https://idp", Roles: []string{"admin"}, Claims: map[string]any{"tenant": "acme"}},
		Resource:  map[string]any{"owner": "ann"},
	}
	v, err := in.Value()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"client_ip": "192.0.2.1", "headers": {"x-tenant": "acme"}, "method": "GET", "params": {"id": "42"}, "path": "/docs/42", "principal": {"claims": {"tenant": "acme"}, "iss": "https://idp", "roles": ["admin"], "sub": "ann"}, "resource": {"owner": "ann"}, "route": "GET /docs/{id}", "time": 1764590400000000000}`
	if got := v.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// The same as the JSON round trip of the same document.
	j, _ := ast.JSON(v)
	raw, _ := json.Marshal(j)
	rt, err := ast.ValueFromReader(strings.NewReader(string(raw)))
	if err != nil || rt.Compare(v) != 0 {
		t.Fatalf("round trip %v %v", rt, err)
	}
	empty, _ := (&Input{}).Value()
	if empty.String() != "{}" {
		t.Fatalf("empty input %s", empty)
	}
}

// TestConcurrentDecisionsAndSwaps decides from many goroutines while
// bundles swap: every decision comes from exactly one revision's policy.
func TestConcurrentDecisionsAndSwaps(t *testing.T) {
	a, _ := testKeys(t)
	bundles := [][]byte{makeBundle(t, "yes", true, a.priv, "a"), makeBundle(t, "no", false, a.priv, "a")}
	cfg := bundleConfig(writeFile(t, bundles[0]), "", map[string]VerificationKey{"a": {Key: a.pub}})
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				for _, q := range []string{"allow", "data.b.allow"} {
					d, err := e.Decide(context.Background(), q, map[string]any{"n": 1})
					if err != nil || d.Allow != (d.BundleRevision == "yes") {
						select {
						case errs <- "inconsistent decision":
						default:
						}
						return
					}
				}
			}
		})
	}
	for i := 0; ctx.Err() == nil; i++ {
		b, err := e.readTarball(bundles[i%2], "", false)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.activate(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Fatal(msg)
	}
}

var _ = bundle.NewReader

func TestEventsAndDecisionLog(t *testing.T) {
	var mu sync.Mutex
	var events []paved.Event
	var logged []Decision
	e := newRBAC(t, func(c *Config) {
		c.Events = paved.SinkFunc(func(_ context.Context, ev paved.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() })
		c.DecisionLog = DecisionLoggerFunc(func(_ context.Context, d Decision, in ast.Value) { mu.Lock(); logged = append(logged, d); mu.Unlock() })
	})
	ctx := paved.WithPrincipal(context.Background(), &paved.Principal{Subject: "rob"})
	d1, _ := e.Decide(ctx, "http", rbacInput("rob", []string{"reader"}, "GET /docs/{id}", ""))
	d2, _ := e.Decide(ctx, "http", rbacInput("rob", []string{"reader"}, "DELETE /docs/{id}", ""))
	d3, _ := e.Decide(ctx, "nope", nil)
	if len(events) != 3 || len(logged) != 3 {
		t.Fatalf("%d events, %d logged", len(events), len(logged))
	}
	want := []struct {
		outcome paved.Outcome
		reason  string
		d       Decision
	}{
		{paved.OutcomeSuccess, "", d1},
		{paved.OutcomeDenied, "no role of rob grants DELETE /docs/{id}", d2},
		{paved.OutcomeDenied, CauseUnknown, d3},
	}
	for i, w := range want {
		ev := events[i]
		if ev.Type != paved.EventPolicyDecision || ev.Component != Component || ev.Outcome != w.outcome || ev.Reason != w.reason || ev.Subject != "rob" {
			t.Fatalf("event %d: %+v", i, ev)
		}
		if ev.Attrs[1].Value.String() != w.d.ID.String() || logged[i].ID != w.d.ID {
			t.Fatalf("event %d: decision id %v vs %v", i, ev.Attrs[1], w.d.ID)
		}
	}
}

func TestPosture(t *testing.T) {
	cfg := rbacConfig(t)
	if _, err := New(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	r := cfg.Posture.Report()
	var got []string
	for _, c := range r.Controls {
		got = append(got, c.Name+"="+boolStr(c.Enabled)+" "+c.Detail)
	}
	want := "builtins=on network and host built-ins refused|bundle-signature=on fs, local source|fail-closed=on undefined, error, timeout and non-boolean deny; deadline 2s|input-bounds=on depth 32, 10000 values, 1048576 bytes"
	if strings.Join(got, "|") != want {
		t.Fatalf("controls\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
}

func boolStr(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func TestCacheBounded(t *testing.T) {
	e := newRBAC(t, func(c *Config) { c.CacheSize = 2 })
	for i := range 5 {
		in := rbacInput("rob", []string{"reader"}, "GET /docs/{id}", "")
		in.Path = "/docs/" + string(rune('a'+i))
		for j := range 2 {
			d, err := e.Decide(context.Background(), "http-pure", in)
			if err != nil || !d.Allow {
				t.Fatal(d, err)
			}
			if j == 1 && !d.Cached {
				t.Fatalf("input %d: second decision not cached", i)
			}
		}
	}
	if n := e.snap.Load().cache.Len(); n != 2 {
		t.Fatalf("cache holds %d, want 2", n)
	}
	// Not pure: never cached.
	for range 2 {
		if d, _ := e.Decide(context.Background(), "http", rbacInput("rob", []string{"reader"}, "GET /docs/{id}", "")); d.Cached {
			t.Fatal("impure query cached")
		}
	}
}
