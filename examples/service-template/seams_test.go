package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/policy"
)

// The issuer's opt-out seam cannot weaken the service quietly: the org
// policy's token-checks rule refuses the untyped-token weakening at
// start-up, and only a waiver naming that rule, with its reason, lets it
// start; both then show in /posture.
func TestTemplateIssuerOptOutNeedsOrgWaiver(t *testing.T) {
	untyped := []paved.OptOut{auth.AllowUntypedTokens("a provider whose tokens carry no RFC 9068 typ header")}
	_, err := startWith(t, nil, seams{issuerOptOuts: untyped})
	var denied *policy.ConfigDeniedError
	if !errors.As(err, &denied) || !slices.ContainsFunc(denied.Violations, func(v policy.Violation) bool { return v.Rule == "token-checks" && !v.Waived }) {
		t.Fatalf("run with the issuer's untyped-token opt-out and no waiver = %v, want the org policy's token-checks refusal", err)
	}

	waiver := []paved.OptOut{policy.AllowOrgViolation("token-checks", "the provider's tokens carry no RFC 9068 typ header, tracked in SEC-1")}
	tp, err := startWith(t, nil, seams{issuerOptOuts: untyped, orgWaivers: waiver})
	if err != nil {
		t.Fatalf("run with the opt-out and the org policy's waiver of it: %v", err)
	}
	resp, body := tp.do(t, "GET", "/posture", tp.idp.Mint(map[string]any{"sub": "alice", "roles": []string{"reader"}}))
	var report struct {
		OptOuts []struct{ Component, Name string } `json:"opt_outs"`
	}
	if err := json.Unmarshal(body, &report); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("/posture = %d %.300s (%v)", resp.StatusCode, body, err)
	}
	var got []string
	for _, o := range report.OptOuts {
		got = append(got, o.Component+"/"+o.Name)
	}
	want := []string{"auth/allow-untyped-tokens", "policy/allow-org-violation:token-checks", "secrets/allow-static-token"}
	if !slices.Equal(got, want) {
		t.Fatalf("posture opt-outs %q, want %q", got, want)
	}
}
