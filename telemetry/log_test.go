package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// token redacts itself, as paved's secret types do.
type token string

func (token) LogValue() slog.Value         { return slog.StringValue("REDACTED") }
func (token) String() string               { return "REDACTED" }
func (token) MarshalJSON() ([]byte, error) { return []byte(`"REDACTED"`), nil }
func (t token) Reveal() string             { return string(t) }

type creds struct {
	User string `json:"user"`
	Pass token  `json:"pass"`
}

func TestLogHandlerCarriesTraceAndRedacts(t *testing.T) {
	rg := newRig(t, Config{})
	var buf bytes.Buffer
	logger := slog.New(rg.tel.LogHandler(slog.NewJSONHandler(&buf, nil)))
	ctx, span := rg.tel.tracer.Start(context.Background(), "op")
	sc := span.SpanContext()
	logger.With("token", token("hunter2")).InfoContext(ctx, "login",
		"password", token("s3cret"), slog.Group("g", "key", token("k3y")), "creds", creds{User: "u", Pass: "p4ss"})
	span.End()
	if err := rg.tel.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err, buf.String())
	}
	if line[LogKeyTraceID] != sc.TraceID().String() || line[LogKeySpanID] != sc.SpanID().String() {
		t.Errorf("local line lacks the trace: %s", buf.String())
	}
	var recs []sdklog.Record
	for _, r := range rg.logs.all() {
		if r.Body().String() == "login" {
			recs = append(recs, r)
		}
	}
	if len(recs) != 1 {
		t.Fatalf("%d exported records", len(recs))
	}
	r := recs[0]
	if r.TraceID() != sc.TraceID() || r.SpanID() != sc.SpanID() {
		t.Errorf("exported record trace %v/%v, want %v/%v", r.TraceID(), r.SpanID(), sc.TraceID(), sc.SpanID())
	}
	var exported strings.Builder
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		fmt.Fprintf(&exported, "%s=%s;", kv.Key, kv.Value.String())
		return true
	})
	all := buf.String() + exported.String()
	for _, secret := range []string{"hunter2", "s3cret", "k3y", "p4ss"} {
		if strings.Contains(all, secret) {
			t.Errorf("secret %q leaked:\n%s\n%s", secret, buf.String(), exported.String())
		}
	}
	if !strings.Contains(exported.String(), "REDACTED") {
		t.Errorf("exported attributes: %s", exported.String())
	}
}

func TestLogHandlerConformance(t *testing.T) {
	rg := newRig(t, Config{})
	var buf bytes.Buffer
	h := rg.tel.LogHandler(slog.NewJSONHandler(&buf, nil))
	err := slogtest.TestHandler(h, func() []map[string]any {
		var out []map[string]any
		for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(l, &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		return out
	})
	if err != nil {
		t.Error(err)
	}
}
