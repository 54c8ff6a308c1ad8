package paved_test

import (
	"bytes"
	"context"
	"errors"
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
	if got := r.Score(); got != 0.5 {
		t.Fatalf("Score = %v, want 0.5", got)
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

func TestSinks(t *testing.T) {
	t.Cleanup(func() { paved.SetDefaultSink(nil) })
	if _, ok := paved.DefaultSink().(paved.NopSink); !ok {
		t.Fatal("default sink is not NopSink")
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
