package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	if rep.Files != 3 || rep.Docs != 8 {
		t.Fatalf("paved check judged %d files, %d documents; want 3 and 8 (a file left unjudged?)", rep.Files, rep.Docs)
	}
}

// The Dockerfile's digests are placeholders that only have the form of a
// pin: the pass above must come from that form, not from a file the check
// skips. With the digests cut off, the same Dockerfile fails on both bases.
func TestServiceTemplateDockerfileJudged(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(templateDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^# PLACEHOLDERS:`).Match(src) {
		t.Fatal("the Dockerfile no longer says its digests are placeholders: are they real now? Update this test")
	}
	unpinned := regexp.MustCompile(`@sha256:[0-9a-f]{64}`).ReplaceAll(src, nil)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), unpinned, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "check", "-format", "json", dir)
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("paved check: exit %d, %v\n%s", code, err, stderr)
	}
	var rules []string
	for _, f := range rep.Findings {
		rules = append(rules, f.Rule)
	}
	if code == exitOK || !slices.Equal(rules, []string{"DOCKER-UNPINNED-BASE", "DOCKER-UNPINNED-BASE"}) {
		t.Fatalf("unpinned template Dockerfile: exit %d, rules %q; want two DOCKER-UNPINNED-BASE", code, rules)
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
