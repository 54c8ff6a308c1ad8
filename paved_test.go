package paved_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/pavedroad/paved"
)

func TestOptOutValidate(t *testing.T) {
	tests := []struct {
		name    string
		o       paved.OptOut
		wantErr error
		ok      bool
	}{
		{"valid", paved.NewOptOut("httpx", "allow-plain-http", "TLS ends at the sidecar"), nil, true},
		{"blank reason", paved.NewOptOut("httpx", "allow-plain-http", "  \t"), paved.ErrNoReason, false},
		{"no name", paved.NewOptOut("httpx", "", "why"), nil, false},
		{"no component", paved.NewOptOut("", "x", "why"), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Validate() = %v, want errors.Is %v", err, tt.wantErr)
			}
		})
	}
	if !(paved.OptOut{}).IsZero() {
		t.Fatal("zero OptOut not IsZero")
	}
}

func TestPostureReportAndLog(t *testing.T) {
	var p paved.Posture
	p.SetControl(paved.Control{Component: "httpx", Name: "tls", Enabled: false, Detail: "plain HTTP"})
	p.SetControl(paved.Control{Component: "auth", Name: "typ", Enabled: true})
	if err := p.AddOptOut(paved.NewOptOut("httpx", "allow-plain-http", "mesh")); err != nil {
		t.Fatal(err)
	}
	if err := p.AddOptOut(paved.NewOptOut("httpx", "x", "")); !errors.Is(err, paved.ErrNoReason) {
		t.Fatalf("AddOptOut without reason = %v", err)
	}
	r := p.Report()
	if len(r.Controls) != 2 || r.Controls[0].Component != "auth" || len(r.OptOuts) != 1 {
		t.Fatalf("report = %+v", r)
	}
	// Two instances (auth and httpx, both unnamed): the weakest scores 0.
	if got := r.Score(); got != 0 {
		t.Fatalf("Score = %v, want 0 (the httpx instance has its only control off)", got)
	}
	if got := (paved.Report{}).Score(); got != 0 {
		t.Fatalf("empty Score = %v", got)
	}

	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	p.LogOptOuts(context.Background(), logger)
	p.LogOptOuts(context.Background(), logger)
	if n := strings.Count(buf.String(), "opt_out.reason=mesh"); n != 1 {
		t.Fatalf("opt-out logged %d times, want once:\n%s", n, buf.String())
	}
}

func TestPostureConcurrent(t *testing.T) {
	var p paved.Posture
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.SetControl(paved.Control{Component: "c", Name: string(rune('a' + i)), Enabled: true})
			_ = p.Report()
		}()
	}
	wg.Wait()
	if n := len(p.Report().Controls); n != 8 {
		t.Fatalf("controls = %d", n)
	}
}

// Two instances of one component sharing a Posture keep their own controls,
// and the score is the weakest instance's.
func TestPostureInstances(t *testing.T) {
	var p paved.Posture
	tlsSrv := p.Register("httpx", "")
	plain := p.Register("httpx", "")
	named := p.Register("httpx", "api")
	named2 := p.Register("httpx", "api")
	if tlsSrv.Instance() != "1" || plain.Instance() != "2" || named.Instance() != "api" || named2.Instance() != "api#2" {
		t.Fatalf("instances = %q %q %q %q", tlsSrv.Instance(), plain.Instance(), named.Instance(), named2.Instance())
	}
	tlsSrv.SetControl("tls", true, "TLS 1.2+")
	tlsSrv.SetControl("rate-limit", true, "")
	plain.SetControl("tls", false, "plain HTTP (opt-out)")
	plain.SetControl("rate-limit", true, "")
	if err := plain.AddOptOut(paved.NewOptOut("httpx", "allow-plain-http", "sidecar")); err != nil {
		t.Fatal(err)
	}
	r := p.Report()
	if len(r.Controls) != 4 {
		t.Fatalf("controls = %+v, want 4 (one tls per instance)", r.Controls)
	}
	var tlsOn, tlsOff int
	for _, c := range r.Controls {
		if c.Name == "tls" && c.Enabled {
			tlsOn++
		} else if c.Name == "tls" {
			tlsOff++
		}
	}
	if tlsOn != 1 || tlsOff != 1 {
		t.Fatalf("tls controls on=%d off=%d, want 1 and 1: %+v", tlsOn, tlsOff, r.Controls)
	}
	if len(r.OptOuts) != 1 || r.OptOuts[0].Instance != "2" {
		t.Fatalf("opt-outs = %+v, want one of instance 2", r.OptOuts)
	}
	if got := r.Score(); got != 0.5 {
		t.Fatalf("Score = %v, want 0.5 (the plain server)", got)
	}
	inst := r.Instances()
	if len(inst) != 2 || inst[0].Score != 1 || inst[1].Score != 0.5 || inst[1].Total != 2 {
		t.Fatalf("Instances = %+v", inst)
	}
}

func TestConfigCheck(t *testing.T) {
	c := paved.ConfigCheck{Component: "httpx", Prefix: "Config."}
	if c.Err() != nil || !c.OK() {
		t.Fatal("empty check has an error")
	}
	c.Add("Addr", `"x" is not host:port`, `want host:port, such as "127.0.0.1:8443"`)
	if got := c.Err().Error(); got != `httpx: Config.Addr: "x" is not host:port; want host:port, such as "127.0.0.1:8443"` {
		t.Fatalf("Error() = %q", got)
	}
	c.AddErr("OptOuts[0]", paved.ErrNoReason, "give the opt-out a reason")
	c.AddErr("Ignored", nil, "nothing")
	inner := paved.ConfigCheck{Component: "httpx", Prefix: "Config.RateLimit."}
	inner.Add("Policy.Window", "500ms", "want whole seconds")
	c.Merge(inner.Err())
	err := c.Err()
	all := paved.ConfigErrors(err)
	if len(all) != 3 || all[0].Field != "Config.Addr" || all[1].Field != "Config.OptOuts[0]" || all[2].Field != "Config.RateLimit.Policy.Window" {
		t.Fatalf("ConfigErrors = %+v", all)
	}
	if !errors.Is(err, paved.ErrNoReason) {
		t.Fatal("errors.Is(ErrNoReason) = false")
	}
	var ce *paved.ConfigError
	if !errors.As(fmt.Errorf("wrapped: %w", err), &ce) || ce.Field != "Config.Addr" {
		t.Fatalf("errors.As = %+v", ce)
	}
	if paved.ConfigErrors(errors.New("plain")) != nil {
		t.Fatal("ConfigErrors of a plain error is not nil")
	}
}

func TestSinks(t *testing.T) {
	t.Cleanup(func() { paved.SetDefaultSink(nil) })
	if _, ok := paved.DefaultSink().(paved.NopSink); !ok {
		t.Fatal("default sink is not NopSink")
	}
	ctx := context.Background()
	if paved.EventsEnabled(ctx, nil, paved.EventAuthnFailure) {
		t.Fatal("the default no-op sink says it is enabled")
	}
	var got []paved.Event
	paved.SetDefaultSink(paved.SinkFunc(func(_ context.Context, e paved.Event) { got = append(got, e) }))
	paved.Emit(context.Background(), nil, paved.Event{Type: paved.EventAuthnFailure, Reason: "expired"})
	if len(got) != 1 || got[0].Time.IsZero() || got[0].Reason != "expired" {
		t.Fatalf("events = %+v", got)
	}
	paved.Emit(context.Background(), paved.NopSink{}, paved.Event{Type: paved.EventAuthnFailure})
	if len(got) != 1 {
		t.Fatal("explicit NopSink forwarded to default")
	}
	if !paved.EventsEnabled(ctx, nil, paved.EventAuthnFailure) {
		t.Fatal("a SinkFunc default says it is disabled")
	}
	only := onlySink{want: paved.EventRateLimited, got: &got}
	paved.Emit(ctx, only, paved.Event{Type: paved.EventAuthnFailure})
	paved.Emit(ctx, only, paved.Event{Type: paved.EventRateLimited})
	if len(got) != 2 || got[1].Type != paved.EventRateLimited {
		t.Fatalf("a sink's Enabled was not honoured: %+v", got)
	}
}

type onlySink struct {
	want paved.EventType
	got  *[]paved.Event
}

func (s onlySink) Enabled(_ context.Context, t paved.EventType) bool { return t == s.want }
func (s onlySink) Emit(_ context.Context, e paved.Event)             { *s.got = append(*s.got, e) }

func TestNoDeadEventTypes(t *testing.T) {
	// Every event type defined in package paved is emitted by some package;
	// this list is the inventory, checked against the code by grep in review.
	for _, e := range []paved.EventType{paved.EventAuthnSuccess, paved.EventAuthnFailure, paved.EventAuthzDenied,
		paved.EventRateLimited, paved.EventPanicRecovered, paved.EventOriginRejected, paved.EventSessionEnded} {
		if e == "" {
			t.Fatal("empty event type")
		}
	}
}

func TestPrincipal(t *testing.T) {
	ctx := context.Background()
	if _, ok := paved.PrincipalFrom(ctx); ok {
		t.Fatal("principal in empty context")
	}
	if _, ok := paved.PrincipalFrom(paved.WithPrincipal(ctx, nil)); ok {
		t.Fatal("nil principal reported present")
	}
	p := &paved.Principal{Subject: "alice", Scopes: []string{"read"}, Roles: []string{"admin"}, Groups: []string{"ops"}, AMR: []string{"mfa"}}
	got, ok := paved.PrincipalFrom(paved.WithPrincipal(ctx, p))
	if !ok || got != p {
		t.Fatal("principal not round-tripped")
	}
	if !p.HasScope("read") || p.HasScope("write") || !p.HasRole("admin") || !p.InGroup("ops") || !p.HasAMR("mfa") {
		t.Fatal("Has* answers wrong")
	}
	var nilP *paved.Principal
	if nilP.HasScope("read") {
		t.Fatal("nil principal has scope")
	}
}

func BenchmarkPrincipalFrom(b *testing.B) {
	ctx := paved.WithPrincipal(context.Background(), &paved.Principal{Subject: "s"})
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := paved.PrincipalFrom(ctx); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkEmitNop(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		paved.Emit(ctx, nil, paved.Event{Type: paved.EventRateLimited})
	}
}

// Merge loses nothing: an error joined beside the ConfigErrors of a
// nested validation is recorded too, under the check's prefix.
func TestConfigCheckMergeKeepsOtherErrors(t *testing.T) {
	io := errors.New("reading the key file: permission denied")
	c := paved.ConfigCheck{Component: "x", Prefix: "Config.Sub."}
	c.Merge(errors.Join(&paved.ConfigError{Component: "x", Field: "Config.Sub.A", Problem: "bad"}, fmt.Errorf("loading: %w", io)))
	err := c.Err()
	all := paved.ConfigErrors(err)
	if len(all) != 2 || all[0].Field != "Config.Sub.A" || all[1].Field != "Config.Sub" || !errors.Is(all[1], io) {
		t.Fatalf("ConfigErrors after Merge = %+v, want Config.Sub.A and the other error under Config.Sub", all)
	}
	if !errors.Is(err, io) || !strings.Contains(err.Error(), "loading: reading the key file") {
		t.Fatalf("Err() = %v, want it to hold the joined error", err)
	}
}

// The score is the weakest instance's whatever the order of the
// report's controls, so a report put together by hand (or merged from
// two registries) scores as the sorted one does.
func TestReportScoreUnsorted(t *testing.T) {
	r := paved.Report{Controls: []paved.Control{
		{Component: "httpx", Instance: "1", Name: "tls", Enabled: true},
		{Component: "auth", Instance: "1", Name: "typ", Enabled: true},
		{Component: "httpx", Instance: "1", Name: "rate-limit", Enabled: false},
	}}
	inst := r.Instances()
	if len(inst) != 2 || inst[0].Component != "httpx" || inst[0].Total != 2 || inst[0].Score != 0.5 || inst[1].Component != "auth" {
		t.Fatalf("Instances = %+v, want httpx/1 (1 of 2) then auth/1", inst)
	}
	if got := r.Score(); got != 0.5 {
		t.Fatalf("Score = %v, want 0.5", got)
	}
}
