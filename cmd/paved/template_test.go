package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// templateDir is the SDK's service template, which a team copies for a
// production service: what it ships must pass paved's own gates as it is.
var templateDir = filepath.Join("..", "..", "examples", "service-template")

// The template's Dockerfile, Kubernetes manifests and CI workflow pass
// `paved check` with no exception: zero findings, zero opt-outs, and every
// file judged.
func TestServiceTemplatePassesCheck(t *testing.T) {
	code, out, stderr := runCLI(t, "check", "-format", "json", templateDir)
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("paved check: exit %d, %v\n%s", code, err, stderr)
	}
	if code != exitOK || len(rep.Findings) != 0 || len(rep.OptOuts) != 0 || len(rep.Errors) != 0 {
		t.Fatalf("paved check: exit %d, findings %+v, opt-outs %+v, errors %+v", code, rep.Findings, rep.OptOuts, rep.Errors)
	}
	// Dockerfile, deploy/kubernetes.yaml, .github/workflows/ci.yaml.
	if rep.Files != 3 || rep.Docs != 7 {
		t.Fatalf("paved check judged %d files, %d documents; want 3 and 7 (a file left unjudged?)", rep.Files, rep.Docs)
	}
}

// The template's package, tests included, passes `paved vet` (gosec and
// the road rules) with no exception.
func TestServiceTemplatePassesVet(t *testing.T) {
	if testing.Short() {
		t.Skip("loads and type-checks the SDK: not in -short")
	}
	code, out, stderr := runCLI(t, "vet", "-C", filepath.Join("..", ".."), "-tests", "-format", "json", "./examples/service-template/...")
	var rep findingsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK || len(rep.Findings) != 0 {
		t.Fatalf("paved vet: exit %d, %v, findings %+v\n%s", code, err, rep.Findings, stderr)
	}
}
