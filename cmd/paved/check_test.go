package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func checkFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"deploy/app.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: [{name: app, image: nginx}]
---
# paved:allow K8S-INGRESS-TLS TLS ends at the cloud load balancer
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec: {rules: [{host: a.example.com}]}
`,
		"Dockerfile":    "FROM golang:1.26@sha256:00\n# paved:allow DOCKER-ROOT-USER\nRUN make\n",
		"infra/main.tf": "resource \"aws_ebs_volume\" \"v\" {\n  size = 1\n}\n",
		"broken.yaml":   "a: [\n",
	}
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheckJSONAndExceptions(t *testing.T) {
	dir := checkFixture(t)
	ex := filepath.Join(t.TempDir(), "exceptions.yaml")
	os.WriteFile(ex, []byte("exceptions:\n  - rule: TF-UNENCRYPTED-STORAGE\n    path: \"*/infra/main.tf\"\n    reason: scratch volume, no data\n  - rule: K8S-SA-TOKEN\n    path: \"*\"\n"), 0o644)
	code, out, stderr := runCLI(t, "check", "-format", "json", "-exceptions", ex, dir)
	if code != exitError { // broken.yaml
		t.Fatalf("exit %d, want %d; %s", code, exitError, stderr)
	}
	var rep struct {
		Files    int
		Findings []struct{ Rule, File, Severity string }
		OptOuts  []struct{ Rule, Exception, ExceptionSource string } `json:"opt_outs"`
		Errors   []struct {
			File  string
			Line  int
			Error string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	opt := map[string]string{}
	for _, o := range rep.OptOuts {
		opt[o.Rule] = o.Exception
	}
	if opt["K8S-INGRESS-TLS"] != "TLS ends at the cloud load balancer" || opt["TF-UNENCRYPTED-STORAGE"] != "scratch volume, no data" || len(opt) != 2 {
		t.Errorf("opt-outs %+v", rep.OptOuts)
	}
	rules := map[string]int{}
	for _, f := range rep.Findings {
		rules[f.Rule]++
	}
	// The reason-less inline allow and file entry are findings, and do
	// not waive their rules.
	if rules["PAVED-EXC-001"] != 2 || rules["DOCKER-ROOT-USER"] != 1 || rules["K8S-SA-TOKEN"] != 1 || rules["K8S-LATEST-TAG"] != 1 {
		t.Errorf("findings %v", rules)
	}
	if len(rep.Errors) != 1 || !strings.HasSuffix(rep.Errors[0].File, "broken.yaml") || rep.Errors[0].Line != 1 {
		t.Errorf("errors %+v", rep.Errors)
	}
}

func TestCheckFailOn(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.tf"), []byte("resource \"aws_lb\" \"lb\" {\n  name = \"x\"\n}\n"), 0o644) // medium
	for _, tc := range []struct {
		failOn string
		want   int
	}{{"low", exitFindings}, {"medium", exitFindings}, {"high", exitOK}, {"none", exitOK}} {
		if code, _, stderr := runCLI(t, "check", "-fail-on", tc.failOn, dir); code != tc.want {
			t.Errorf("-fail-on %s: exit %d, want %d; %s", tc.failOn, code, tc.want, stderr)
		}
	}
	if code, _, _ := runCLI(t, "check", "-fail-on", "severe", dir); code != exitError {
		t.Errorf("bad -fail-on: exit %d", code)
	}
}

func TestCheckSARIFValidates(t *testing.T) {
	dir := checkFixture(t)
	f, err := os.Open("testdata/sarif-2.1.0.schema.json") // a copy of shared/schemas' official schema
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	_, out, _ := runCLI(t, "check", "-format", "sarif", dir)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("SARIF does not validate: %v\n%s", err, out)
	}
	var log sarifLog
	json.Unmarshal([]byte(out), &log)
	sup := 0
	for _, r := range log.Runs[0].Results {
		if len(r.Suppressions) > 0 {
			sup++
			if r.Suppressions[0].Justification == "" {
				t.Errorf("suppression without justification: %+v", r)
			}
		}
		if r.Locations[0].PhysicalLocation.Region == nil {
			t.Errorf("result without a line: %+v", r)
		}
	}
	if sup != 1 || log.Runs[0].Invocations[0].ExecutionSuccessful {
		t.Errorf("%d suppressions, invocation %+v", sup, log.Runs[0].Invocations)
	}
}

func TestCheckJUnit(t *testing.T) {
	dir := checkFixture(t)
	_, out, _ := runCLI(t, "check", "-format", "junit", dir)
	var s junitSuites
	if err := xml.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if s.Errors != 1 || s.Skipped != 1 || s.Failures == 0 || s.Tests != len(s.Suites[0].Cases) {
		t.Errorf("junit totals %+v", s)
	}
}

func TestCheckText(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM a@sha256:00\nUSER 0\n"), 0o644)
	code, out, _ := runCLI(t, "check", dir)
	want := filepath.ToSlash(filepath.Join(dir, "Dockerfile")) + ":2: DOCKER-ROOT-USER [high] the final USER is \"0\"\n1 files, 1 documents: 1 findings, 0 opt-outs, 0 errors\n"
	if code != exitFindings || out != want {
		t.Errorf("exit %d, output\n%s\nwant\n%s", code, out, want)
	}
}

func TestCheckListRules(t *testing.T) {
	code, out, _ := runCLI(t, "check", "-list-rules")
	if code != exitOK || !strings.Contains(out, "K8S-PSS-R-RUNASNONROOT") || strings.Count(out, "\n") != 37 {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// TestCheckNothingJudged: a run that judged no document (a wrong PATH,
// --no-builtin without rules) exits 2, never 0.
func TestCheckNothingJudged(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("# hi\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "package.json"), []byte("{}\n"), 0o644)
	if code, _, stderr := runCLI(t, "check", dir); code != exitError || !strings.Contains(stderr, "nothing judged") {
		t.Errorf("empty tree: exit %d, want %d; %s", code, exitError, stderr)
	}
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM a@sha256:00\nUSER 1\n"), 0o644)
	if code, _, stderr := runCLI(t, "check", "-no-builtin", dir); code != exitError || !strings.Contains(stderr, "no Rego rules") {
		t.Errorf("-no-builtin alone: exit %d, want %d; %s", code, exitError, stderr)
	}
	if code, out, stderr := runCLI(t, "check", dir); code != exitOK {
		t.Errorf("a clean Dockerfile: exit %d, want 0; %s%s", code, out, stderr)
	}
}
