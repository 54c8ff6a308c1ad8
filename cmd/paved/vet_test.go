package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pavedroad/paved/cmd/paved/analyzers"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/securego/gosec/v2/goanalysis"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/packages"
)

const corpus = "testdata/vetcorpus"

// gosecAlone runs gosec's analyzer with every rule, as gosec's CLI does.
func gosecAlone(t *testing.T, dir string) map[string]string {
	t.Helper()
	f := goanalysis.Analyzer.Flags.Lookup("exclude")
	old := f.Value.String()
	if err := f.Value.Set(""); err != nil {
		t.Fatal(err)
	}
	defer f.Value.Set(old)
	pkgs, err := packages.Load(&packages.Config{Dir: dir, Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
		packages.NeedImports | packages.NeedTypes | packages.NeedTypesSizes | packages.NeedSyntax | packages.NeedTypesInfo | packages.NeedModule}, "./...")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{} // file:line → gosec rule
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			continue
		}
		diags, errs := analyzePackage(p, []*analysis.Analyzer{goanalysis.Analyzer})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		for _, d := range diags {
			pos := p.Fset.Position(d.d.Pos)
			got[relPath(dir, pos.Filename)+":"+itoa(pos.Line)] = d.d.Category
		}
	}
	return got
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + jsonInt(n)) }

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func vetCorpus(t *testing.T) *findingsReport {
	t.Helper()
	t.Setenv("GOWORK", "off")
	r, err := vetPackages(context.Background(), corpus, false, []string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestVetCorpus: on known-vulnerable snippets paved vet finds at least
// what gosec alone finds (on the same lines: G101, G402 and G404 through
// paved's own rules) plus the road rules; the broken package is named and
// the generated file is skipped and said.
func TestVetCorpus(t *testing.T) {
	r := vetCorpus(t)
	t.Setenv("GOWORK", "off")
	alone := gosecAlone(t, corpus)
	if len(alone) < 10 {
		t.Fatalf("gosec alone found only %v", alone)
	}
	lines := map[string][]string{}
	rules := map[string]bool{}
	for _, f := range r.Findings {
		k := f.File + ":" + itoa(f.Line)
		lines[k] = append(lines[k], f.Rule)
		rules[f.Rule] = true
	}
	for at, rule := range alone {
		if len(lines[at]) == 0 {
			t.Errorf("gosec alone finds %s at %s; paved vet finds nothing there", rule, at)
		}
	}
	for _, want := range []string{"PAV100", "PAV101", "PAV102", "PAV105", "PAV106", "PAV107"} {
		if !rules[want] {
			t.Errorf("no %s finding on the corpus", want)
		}
	}
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "example.com/vetcorpus/broken does not compile") {
		t.Errorf("errors %q, want the broken package only", r.Errors)
	}
	if len(r.Skipped) != 1 || !strings.Contains(r.Skipped[0], "1 generated files (gen/gen.go") {
		t.Errorf("skipped %q", r.Skipped)
	}
	for _, f := range r.Findings {
		if strings.HasPrefix(f.File, "gen/") {
			t.Errorf("finding in generated code: %+v", f)
		}
		if f.Severity == "" || f.Fix == "" || f.Line == 0 {
			t.Errorf("incomplete finding %+v", f)
		}
	}
}

// TestVetCLI: exit statuses, -fail-on, -exclude and the three formats;
// the SARIF validates against the 2.1.0 schema with unique rule IDs.
func TestVetCLI(t *testing.T) {
	t.Setenv("GOWORK", "off")
	code, out, stderr := runCLI(t, "vet", "-C", corpus, "./vuln")
	if code != exitFindings || !strings.Contains(out, "vuln/vuln.go:45:34: PAV100 [medium] http.ListenAndServe serves with no read, write or idle timeout\n\tfix: ") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if code, out, _ := runCLI(t, "vet", "-C", corpus, "-fail-on", "high", "-exclude", "PAV102,PAV105,PAV106,PAV107", "./vuln"); code != exitOK || out == "" {
		t.Errorf("-fail-on high without the high rules: exit %d\n%s", code, out)
	}
	if code, _, stderr := runCLI(t, "vet", "-C", corpus, "./..."); code != exitError || !strings.Contains(stderr, "broken does not compile") {
		t.Errorf("broken package: exit %d %s", code, stderr)
	}
	code, out, _ = runCLI(t, "vet", "-C", corpus, "-format", "json", "./vuln")
	var jr findingsReport
	if err := json.Unmarshal([]byte(out), &jr); err != nil || code != exitFindings || len(jr.Findings) < 15 {
		t.Fatalf("json: exit %d, %v, %d findings", code, err, len(jr.Findings))
	}
	code, out, _ = runCLI(t, "vet", "-C", corpus, "-format", "sarif", "./vuln")
	if code != exitFindings {
		t.Fatalf("sarif: exit %d", code)
	}
	validateSARIF(t, out, len(jr.Findings))
	if code, _, _ := runCLI(t, "vet", "-format", "xml"); code != exitError {
		t.Errorf("-format xml: exit %d", code)
	}
}

func validateSARIF(t *testing.T, out string, results int) {
	t.Helper()
	schemaFile, err := os.Open("testdata/sarif-2.1.0.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer schemaFile.Close()
	doc, err := jsonschema.UnmarshalJSON(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif-2.1.0.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif-2.1.0.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("SARIF does not validate: %v", err)
	}
	var log sarifLog
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range log.Runs[0].Tool.Driver.Rules {
		ids = append(ids, r.ID)
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(ids) {
		t.Errorf("rule IDs not unique: %q", ids)
	}
	if len(log.Runs[0].Results) != results {
		t.Errorf("%d results, want %d", len(log.Runs[0].Results), results)
	}
	for _, res := range log.Runs[0].Results {
		if ids[res.RuleIndex] != res.RuleID || res.Locations[0].PhysicalLocation.Region == nil {
			t.Errorf("result %+v", res)
		}
	}
}

// TestVetCleanModule: golang.org/x/oauth2 from the module cache gets no
// road finding and none of the gosec kinds paved replaces.
func TestVetCleanModule(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a whole module")
	}
	matches, _ := filepath.Glob(filepath.Join(gomodcache(t), "golang.org/x/oauth2@v0.3*"))
	if len(matches) == 0 {
		t.Skip("golang.org/x/oauth2 is not in the module cache")
	}
	slices.Sort(matches)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(matches[len(matches)-1])); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	r, err := vetPackages(context.Background(), dir, false, []string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		if _, paved := analyzers.RuleByID(f.Rule); paved || f.Rule == "G101" || f.Rule == "G402" || f.Rule == "G404" {
			t.Errorf("false positive on %s: %+v", filepath.Base(matches[len(matches)-1]), f)
		}
	}
	t.Logf("%d gosec findings, %d errors on %s", len(r.Findings), len(r.Errors), filepath.Base(matches[len(matches)-1]))
}

func gomodcache(t *testing.T) string {
	if v := os.Getenv("GOMODCACHE"); v != "" {
		return v
	}
	home, _ := os.UserHomeDir()
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = filepath.Join(home, "go")
	}
	return filepath.Join(gopath, "pkg", "mod")
}
