package policy_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/policy"
)

// servicePosture is what a service with one httpx server reports, built
// by httpx itself: a development certificate unless optOuts allow plain
// HTTP.
func servicePosture(t *testing.T, optOuts ...paved.OptOut) *paved.Posture {
	t.Helper()
	var p paved.Posture
	cfg := httpx.Config{Name: "public", Addr: "127.0.0.1:0", Posture: &p, Logger: slog.New(slog.DiscardHandler), OptOuts: optOuts}
	if !hasOptOut(optOuts, httpx.OptOutAllowPlainHTTP) {
		dev, err := httpx.NewDevCertificate(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dev.Close() })
		cfg.Certificates = dev
		if !hasOptOut(optOuts, httpx.OptOutAllowDevCertificate) {
			cfg.OptOuts = append(cfg.OptOuts, httpx.AllowDevCertificate("local development on loopback"))
		}
	}
	if _, err := httpx.New(cfg); err != nil {
		t.Fatal(err)
	}
	return &p
}

func hasOptOut(os []paved.OptOut, name string) bool {
	for _, o := range os {
		if o.Name == name {
			return true
		}
	}
	return false
}

func TestCheckConfig(t *testing.T) {
	devCert := httpx.AllowDevCertificate("local development on loopback")
	plain := httpx.AllowPlainHTTP("TLS ends at the mesh sidecar")
	noLimit := httpx.DisableRateLimit("the gateway in front limits every client")
	tests := []struct {
		name    string
		optOuts []paved.OptOut
		cfg     policy.ConfigCheckConfig
		denied  []string // rule: msg of the violations that stop start-up
		waived  []string
	}{
		{
			name:    "development relaxes the certificate rule",
			optOuts: []paved.OptOut{devCert},
			cfg:     policy.ConfigCheckConfig{Environment: "development"},
		},
		{
			name:    "production denies a development certificate",
			optOuts: []paved.OptOut{devCert},
			denied:  []string{"dev-certificate: httpx/public uses a development certificate (development CA (opt-out)) in production"},
		},
		{
			name:    "plain HTTP and no rate limit",
			optOuts: []paved.OptOut{plain, noLimit},
			cfg:     policy.ConfigCheckConfig{Environment: "staging"},
			denied: []string{
				"rate-limit: httpx/public: rate-limit is off (disabled (opt-out)) in staging",
				"tls: httpx/public serves without TLS (plain HTTP (opt-out)) in staging",
			},
		},
		{
			name:    "waived by name",
			optOuts: []paved.OptOut{plain, noLimit},
			cfg: policy.ConfigCheckConfig{OptOuts: []paved.OptOut{
				policy.AllowOrgViolation("tls", "mesh sidecar terminates mTLS for every pod"),
			}},
			denied: []string{"rate-limit: httpx/public: rate-limit is off (disabled (opt-out)) in production"},
			waived: []string{"tls: httpx/public serves without TLS (plain HTTP (opt-out)) in production"},
		},
		{
			name:    "every rule waived",
			optOuts: []paved.OptOut{plain, noLimit},
			cfg: policy.ConfigCheckConfig{OptOuts: []paved.OptOut{
				policy.AllowOrgViolation("tls", "mesh sidecar terminates mTLS for every pod"),
				policy.AllowOrgViolation("rate-limit", "the gateway limits every client"),
			}},
			waived: []string{
				"rate-limit: httpx/public: rate-limit is off (disabled (opt-out)) in production",
				"tls: httpx/public serves without TLS (plain HTTP (opt-out)) in production",
			},
		},
		{
			name:    "a waiver's own reason is checked",
			optOuts: []paved.OptOut{plain},
			cfg:     policy.ConfigCheckConfig{OptOuts: []paved.OptOut{policy.AllowOrgViolation("tls", "mesh")}},
			denied:  []string{`opt-out-reason: policy/config-check opt-out allow-org-violation:tls: reason "mesh" does not say why (want at least 12 characters, not a placeholder)`},
			waived:  []string{"tls: httpx/public serves without TLS (plain HTTP (opt-out)) in production"},
		},
		{
			name:    "authentication required",
			optOuts: []paved.OptOut{devCert},
			cfg:     policy.ConfigCheckConfig{Environment: "development", AuthRequired: true},
			denied:  []string{"authentication: the service requires authentication but no auth control (bearer-verification, browser-login, service-tokens) is enforced"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			posture := servicePosture(t, tt.optOuts...)
			var logs bytes.Buffer
			cfg := tt.cfg
			cfg.Posture = posture
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			rep, err := policy.CheckConfig(context.Background(), cfg)
			var denied, waived []string
			var cde *policy.ConfigDeniedError
			switch {
			case errors.As(err, &cde):
				if !errors.Is(err, policy.ErrConfigDenied) {
					t.Errorf("%v does not wrap ErrConfigDenied", err)
				}
				for _, v := range cde.Violations {
					if v.Waived {
						waived = append(waived, v.Rule+": "+v.Msg)
					} else {
						denied = append(denied, v.Rule+": "+v.Msg)
						if !strings.Contains(err.Error(), v.Rule+": "+v.Msg) {
							t.Errorf("error %q does not carry %q", err, v.Msg)
						}
					}
				}
			case err != nil:
				t.Fatal(err)
			default:
				for _, v := range rep.Violations {
					waived = append(waived, v.Rule+": "+v.Msg)
				}
			}
			if strings.Join(denied, "\n") != strings.Join(tt.denied, "\n") {
				t.Errorf("denied\n%s\nwant\n%s", strings.Join(denied, "\n"), strings.Join(tt.denied, "\n"))
			}
			if strings.Join(waived, "\n") != strings.Join(tt.waived, "\n") {
				t.Errorf("waived\n%s\nwant\n%s", strings.Join(waived, "\n"), strings.Join(tt.waived, "\n"))
			}
			// The check's own control and waivers are in the posture.
			var ctl *paved.Control
			r := posture.Report()
			for i, c := range r.Controls {
				if c.Component == "policy" && c.Name == "org-policy" {
					ctl = &r.Controls[i]
				}
			}
			if ctl == nil || ctl.Instance != "config-check" || ctl.Enabled != (len(cfg.OptOuts) == 0) {
				t.Errorf("org-policy control %+v", ctl)
			}
			for _, o := range cfg.OptOuts {
				if !strings.Contains(logs.String(), o.Name) {
					t.Errorf("waiver %s not logged:\n%s", o.Name, logs.String())
				}
			}
		})
	}
}

func TestCheckConfigStaleWaiver(t *testing.T) {
	var logs bytes.Buffer
	_, err := policy.CheckConfig(context.Background(), policy.ConfigCheckConfig{
		Posture: servicePosture(t),
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		OptOuts: []paved.OptOut{policy.AllowOrgViolation("dev-certificate", "kept from an old release of the service")},
	})
	// The posture has a development certificate (servicePosture's default),
	// the waiver covers it: no stale warning. A second one is stale.
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "stale waiver") {
		t.Errorf("the waiver is used, yet logged stale:\n%s", logs.String())
	}
	logs.Reset()
	_, err = policy.CheckConfig(context.Background(), policy.ConfigCheckConfig{
		Posture: servicePosture(t), Environment: "development",
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		OptOuts: []paved.OptOut{policy.AllowOrgViolation("rate-limit", "kept from an old release of the service")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "stale waiver") || !strings.Contains(logs.String(), "rule=rate-limit") {
		t.Errorf("no stale-waiver warning:\n%s", logs.String())
	}
}

func TestCheckConfigFailsClosed(t *testing.T) {
	for _, tt := range []struct {
		name   string
		policy fstest.MapFS
		query  string
		want   error
	}{
		{"does not compile", fstest.MapFS{"o.rego": {Data: []byte("package paved.org\n\ndecision := {")}}, "", policy.ErrLoad},
		{"no such rule", fstest.MapFS{"o.rego": {Data: []byte("package paved.org\n\nother := 1\n")}}, "", policy.ErrLoad},
		{"undefined", fstest.MapFS{"o.rego": {Data: []byte("package paved.org\n\ndecision := {\"allow\": true} if input.service.name == \"never\"\n")}}, "", policy.ErrUndefined},
		{"non-boolean", fstest.MapFS{"o.rego": {Data: []byte("package paved.org\n\ndecision := {\"allow\": \"yes\"}\n")}}, "", policy.ErrNonBoolean},
		{"denies without violations", fstest.MapFS{"o.rego": {Data: []byte("package paved.org\n\ndecision := {\"allow\": false, \"reasons\": [\"no\"]}\n")}}, "", policy.ErrConfigDenied},
		{"refused built-in", fstest.MapFS{"o.rego": {Data: []byte("package paved.org\n\ndecision := {\"allow\": true, \"r\": opa.runtime()}\n")}}, "", policy.ErrLoad},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.CheckConfig(context.Background(), policy.ConfigCheckConfig{
				Posture: servicePosture(t), Environment: "development", Policy: tt.policy, Query: tt.query,
				Logger: slog.New(slog.DiscardHandler),
			})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckConfigCustomPolicy(t *testing.T) {
	// An organisation policy of one's own: any shape of violation is kept.
	fsys := fstest.MapFS{"o.rego": {Data: []byte(`package acme

violations contains {"rule": "no-plain", "msg": "plain HTTP"} if {
	some c in input.controls
	c.name == "tls"
	not c.enabled
}

violations contains "a bare string" if input.service.name == "legacy"

decision := {"allow": count(violations) == 0, "obligations": {"violations": violations}}
`)}}
	_, err := policy.CheckConfig(context.Background(), policy.ConfigCheckConfig{
		Service: "legacy", Posture: servicePosture(t, httpx.AllowPlainHTTP("TLS ends at the mesh sidecar")),
		Policy: fsys, Query: "data.acme.decision", Logger: slog.New(slog.DiscardHandler),
	})
	var cde *policy.ConfigDeniedError
	if !errors.As(err, &cde) || len(cde.Violations) != 2 {
		t.Fatalf("err = %v", err)
	}
	if got := cde.Violations[0].Rule + "|" + cde.Violations[1].Rule + "|" + cde.Violations[1].Msg; got != `no-plain|unknown|"a bare string"` {
		t.Errorf("violations %+v", cde.Violations)
	}
}

func TestCheckConfigOptOutErrors(t *testing.T) {
	_, err := policy.CheckConfig(context.Background(), policy.ConfigCheckConfig{
		Posture: &paved.Posture{},
		OptOuts: []paved.OptOut{policy.AllowOrgViolation("tls", " "), httpx.AllowPlainHTTP("wrong place for it"), policy.AllowOrgViolation("", "no rule named here")},
	})
	var fields []string
	for _, ce := range paved.ConfigErrors(err) {
		fields = append(fields, ce.Field)
	}
	if strings.Join(fields, ",") != "ConfigCheckConfig.OptOuts[0],ConfigCheckConfig.OptOuts[1],ConfigCheckConfig.OptOuts[2]" {
		t.Fatalf("fields %v (%v)", fields, err)
	}
}
