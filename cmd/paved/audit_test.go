package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pavedroad/paved/sbom"
)

func decodeResult(t *testing.T, out string) auditResult {
	t.Helper()
	var r auditResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	return r
}

func ids(fs []auditFinding) []string {
	out := []string{}
	for _, f := range fs {
		s := f.ID + " " + f.Module + "@" + f.Version + " " + f.Level
		if len(f.Symbols) > 0 {
			s += " " + strings.Join(f.Symbols, ",")
		}
		out = append(out, s)
	}
	return out
}

// TestAuditSymbolLevel: govulncheck's binary mode against the fixture
// database finds the one vulnerable symbol the test program links, and
// nothing in the binary built with the fixed version.
func TestAuditSymbolLevel(t *testing.T) {
	vuln, fixed := testBinary(t, vulnerableText), testBinary(t, fixedText)

	code, out, stderr := runCLI(t, "audit", "-db", fixtureDB, "-format", "json", vuln)
	if code != exitFindings {
		t.Fatalf("vulnerable binary: exit %d, want %d; stderr %s", code, exitFindings, stderr)
	}
	r := decodeResult(t, out)
	if got, want := ids(r.Findings), []string{"GO-2022-1059 golang.org/x/text@v0.3.7 symbol language.ParseAcceptLanguage"}; !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
	if got, want := ids(r.Informational), []string{"GO-2026-5970 golang.org/x/text@v0.3.7 module", "GO-2026-6629 golang.org/x/text@v0.3.7 module"}; !slices.Equal(got, want) {
		t.Errorf("informational %q, want %q", got, want)
	}
	if f := r.Findings[0]; f.FixedVersion != "v0.3.8" || !slices.Equal(f.Aliases, []string{"CVE-2022-32149", "GHSA-69ch-w2m2-3vjp"}) || f.Severity != sbom.SeverityUnknown {
		t.Errorf("finding %+v", f)
	}

	code, out, stderr = runCLI(t, "audit", "-db", fixtureDB, "-format", "json", fixed)
	if code != exitOK {
		t.Fatalf("fixed binary: exit %d, stderr %s", code, stderr)
	}
	if r := decodeResult(t, out); len(r.Findings)+len(r.Informational) != 0 {
		t.Errorf("fixed binary: %q %q", ids(r.Findings), ids(r.Informational))
	}

	// -fail-on critical: unscored records do not fail the build.
	if code, _, _ := runCLI(t, "audit", "-db", fixtureDB, "-fail-on", "critical", vuln); code != exitOK {
		t.Errorf("-fail-on critical: exit %d", code)
	}
	if code, _, _ := runCLI(t, "audit", "-db", fixtureDB, "-fail-on", "never", vuln); code != exitOK {
		t.Errorf("-fail-on never: exit %d", code)
	}
	code, out, _ = runCLI(t, "audit", "-db", fixtureDB, vuln)
	if code != exitFindings || !strings.Contains(out, "GO-2022-1059  golang.org/x/text@v0.3.7  fixed in v0.3.8, severity unknown") || !strings.Contains(out, "linked: language.ParseAcceptLanguage") {
		t.Errorf("text report (exit %d):\n%s", code, out)
	}
}

// TestAuditVEX: a VEX statement suppresses exactly the finding it names,
// with its reason, in both modes.
func TestAuditVEX(t *testing.T) {
	vuln := testBinary(t, vulnerableText)
	vex := filepath.Join(t.TempDir(), "vex.json")
	doc := `{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/vulnapp", "author": "sec", "timestamp": "2026-11-30T00:00:00Z", "version": 1,
	  "statements": [{"vulnerability": {"name": "CVE-2022-32149"}, "products": [{"@id": "pkg:golang/example.com/vulnapp"}],
	    "status": "not_affected", "justification": "vulnerable_code_cannot_be_controlled_by_adversary", "impact_statement": "the header comes from our own gateway"}]}`
	if err := os.WriteFile(vex, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "audit", "-db", fixtureDB, "-vex", vex, "-format", "json", vuln)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	r := decodeResult(t, out)
	if len(r.Findings) != 0 || !slices.Equal(ids(r.Suppressed), []string{"GO-2022-1059 golang.org/x/text@v0.3.7 symbol language.ParseAcceptLanguage"}) || len(r.Informational) != 2 {
		t.Fatalf("findings %q suppressed %q informational %q", ids(r.Findings), ids(r.Suppressed), ids(r.Informational))
	}
	if got := r.Suppressed[0].Suppression.Reason(); got != "not_affected (vulnerable_code_cannot_be_controlled_by_adversary): the header comes from our own gateway [VEX https://example.com/vex/vulnapp]" {
		t.Errorf("reason %q", got)
	}

	code, out, _ = runCLI(t, "audit", "-mode", "module", "-db", fixtureDB, "-vex", vex, "-format", "json", vuln)
	r = decodeResult(t, out)
	if code != exitFindings || !slices.Equal(ids(r.Suppressed), []string{"GO-2022-1059 golang.org/x/text@v0.3.7 module"}) || len(r.Findings) != 2 {
		t.Errorf("module mode: exit %d findings %q suppressed %q", code, ids(r.Findings), ids(r.Suppressed))
	}
}

// moduleKey is what the module-level comparison compares.
func moduleKey(id, module, version, fixed string) string {
	return fmt.Sprintf("%s %s@%s fixed=%s", id, module, version, fixed)
}

// govulncheckModuleFindings runs `govulncheck -mode binary -scan module`.
func govulncheckModuleFindings(t testing.TB, db, bin string) []string {
	t.Helper()
	abs, err := filepath.Abs(db)
	if err != nil {
		t.Fatal(err)
	}
	_, findings, err := runGovulncheck(context.Background(), "-mode", "binary", "-scan", "module", "-db", "file://"+filepath.ToSlash(abs), bin)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, f := range findings {
		top := f.Trace[0]
		out = append(out, moduleKey(f.OSV, top.Module, top.Version, f.FixedVersion))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sdkModuleFindings(t testing.TB, db, bin string) []string {
	t.Helper()
	vdb, err := sbom.OpenVulnDB(db)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sbom.Read(bin)
	if err != nil {
		t.Fatal(err)
	}
	r := vdb.Audit(b, sbom.AuditOptions{})
	if r.Warnings != 0 {
		t.Errorf("%d warnings: %q", r.Warnings, r.Messages)
	}
	out := []string{}
	for _, f := range r.Findings {
		out = append(out, moduleKey(f.ID, f.Module, f.Version, f.FixedVersion))
	}
	slices.Sort(out)
	return out
}

// TestModuleAuditMatchesGovulncheck holds the SDK's in-process audit and
// govulncheck's module-level scan together: same binary, same database,
// same findings (ID, module, version, fixed version), for the fixture in
// both layouts and for the whole Go vulnerability database.
func TestModuleAuditMatchesGovulncheck(t *testing.T) {
	bins := map[string]string{"vulnerable": testBinary(t, vulnerableText), "fixed": testBinary(t, fixedText)}
	layout := t.TempDir()
	fixture, err := sbom.OpenVulnDB(fixtureDB)
	if err != nil {
		t.Fatal(err)
	}
	if err := fixture.WriteGovulncheckDB(layout); err != nil {
		t.Fatal(err)
	}
	type tcase struct{ db, dbName, bin, binName string }
	var cases []tcase
	for _, db := range [][2]string{{fixtureDB, "fixture osv"}, {layout, "fixture govulncheck layout"}} {
		for _, bin := range []string{"vulnerable", "fixed"} {
			cases = append(cases, tcase{db[0], db[1], bins[bin], bin})
		}
	}
	if !testing.Short() {
		// The whole database: as OSV records (what govulncheck parses in
		// full, slow under -race: one binary) and in govulncheck's layout.
		full, fullLayout := fullVulnDB(t), fullVulnDBLayout(t)
		cases = append(cases, tcase{full, "full vulndb osv", bins["vulnerable"], "vulnerable"},
			tcase{fullLayout, "full vulndb govulncheck layout", bins["vulnerable"], "vulnerable"},
			tcase{fullLayout, "full vulndb govulncheck layout", bins["fixed"], "fixed"})
		// A large real binary when one is at hand (Vault, 480+ modules);
		// over a minute under -race (govulncheck reads its symbol tables),
		// so only in a run without it.
		if vault := os.Getenv("PAVED_VAULT_BIN"); vault != "" && !raceEnabled {
			if _, err := os.Stat(vault); err == nil {
				cases = append(cases, tcase{fullLayout, "full vulndb govulncheck layout", vault, "vault"})
			}
		}
	}
	for _, c := range cases {
		t.Run(c.dbName+"/"+c.binName, func(t *testing.T) {
			got, want := sdkModuleFindings(t, c.db, c.bin), govulncheckModuleFindings(t, c.db, c.bin)
			if !slices.Equal(got, want) {
				t.Errorf("in-process audit (%d):\n  %s\ngovulncheck -scan module (%d):\n  %s", len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
			}
			hasText := slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "golang.org/x/text@") })
			if c.binName != "vault" && hasText != (c.binName == "vulnerable") {
				t.Errorf("x/text findings in the %s binary: %v (%q)", c.binName, hasText, got)
			}
			if c.binName == "vault" && len(got) == 0 {
				t.Error("no findings in Vault: the comparison proves little")
			}
		})
	}
}

// TestAuditFullDatabase: the whole Go database, both modes, vulnerable
// and fixed binaries.
func TestAuditFullDatabase(t *testing.T) {
	db := fullVulnDB(t)
	vuln, fixed := testBinary(t, vulnerableText), testBinary(t, fixedText)
	start := time.Now()
	// Symbol level on the vulnerable binary, module level on the fixed one.
	code, out, stderr := runCLI(t, "audit", "-db", db, "-format", "json", vuln)
	r := decodeResult(t, out)
	if code != exitFindings || !slices.ContainsFunc(r.Findings, func(f auditFinding) bool { return f.ID == "GO-2022-1059" && f.Level == levelSymbol }) {
		t.Errorf("symbol mode, vulnerable: exit %d, findings %q, stderr %s", code, ids(r.Findings), stderr)
	}
	_, out, _ = runCLI(t, "audit", "-mode", "module", "-db", db, "-format", "json", fixed)
	r = decodeResult(t, out)
	for _, f := range r.Findings {
		if f.Module == "golang.org/x/text" {
			t.Errorf("module mode, fixed: %s", f.ID)
		}
	}
	// A figure, not an assertion: on a shared machine a time bound fails
	// for the machine's load, not for the code.
	t.Logf("two audits against the whole database took %v", time.Since(start))
}

// TestAuditSARIF: the SARIF log validates against the SARIF 2.1.0 schema
// and has one rule per vulnerability ID.
func TestAuditSARIF(t *testing.T) {
	vuln := testBinary(t, vulnerableText)
	vex := filepath.Join(t.TempDir(), "vex.json")
	if err := os.WriteFile(vex, []byte(`{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "statements": [{"vulnerability": {"name": "GO-2026-5970"},
	  "products": [{"@id": "pkg:golang/golang.org/x/text"}], "status": "not_affected", "justification": "vulnerable_code_not_present"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	schemaFile, err := os.Open("testdata/sarif-2.1.0.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer schemaFile.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif-2.1.0.schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif-2.1.0.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"symbol", "module"} {
		code, out, stderr := runCLI(t, "audit", "-mode", mode, "-db", fixtureDB, "-vex", vex, "-format", "sarif", vuln)
		if code != exitFindings {
			t.Fatalf("%s: exit %d %s", mode, code, stderr)
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("%s mode: SARIF does not validate: %v\n%s", mode, err, out)
		}
		var log sarifLog
		if err := json.Unmarshal([]byte(out), &log); err != nil {
			t.Fatal(err)
		}
		var rules []string
		for _, r := range log.Runs[0].Tool.Driver.Rules {
			rules = append(rules, r.ID)
		}
		sorted := slices.Clone(rules)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != len(rules) || len(rules) != 3 {
			t.Errorf("%s mode: rule IDs %q, want 3 unique", mode, rules)
		}
		var levels []string
		for _, res := range log.Runs[0].Results {
			if rules[res.RuleIndex] != res.RuleID {
				t.Errorf("result %s points at rule %d (%s)", res.RuleID, res.RuleIndex, rules[res.RuleIndex])
			}
			l := res.RuleID + " " + res.Level
			if len(res.Suppressions) > 0 {
				l += " suppressed: " + res.Suppressions[0].Justification
			}
			levels = append(levels, l)
		}
		want := []string{"GO-2022-1059 error", "GO-2026-6629 note", "GO-2026-5970 note suppressed: not_affected (vulnerable_code_not_present) [VEX x]"}
		if mode == "module" {
			want = []string{"GO-2022-1059 error", "GO-2026-6629 error", "GO-2026-5970 note suppressed: not_affected (vulnerable_code_not_present) [VEX x]"}
		}
		if !slices.Equal(levels, want) {
			t.Errorf("%s mode: results %q, want %q", mode, levels, want)
		}
	}
}

// TestAuditMalformedRecords: a database with malformed records is still
// used, in both modes, and the skipped records are counted.
func TestAuditMalformedRecords(t *testing.T) {
	vuln := testBinary(t, vulnerableText)
	db := t.TempDir()
	entries, err := os.ReadDir(fixtureDB)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(fixtureDB, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(db, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// GO-9999-0003 passes the index (an ID, a module) but not the read
	// (an invalid version in its range): it is skipped and counted too.
	badRange := `{"id": "GO-9999-0003", "affected": [{"package": {"name": "golang.org/x/text"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "not-a-version"}]}],
	  "ecosystem_specific": {"imports": [{"path": "golang.org/x/text/language", "symbols": ["ParseAcceptLanguage"]}]}}]}`
	for name, data := range map[string]string{"GO-9999-0001.json": `{"id": "GO-9999-0001", "affected": [`, "GO-9999-0002.json": `{"id": "GO-1234-5678", "affected": [{"package": {"name": "x"}}]}`,
		"GO-9999-0003.json": badRange} {
		if err := os.WriteFile(filepath.Join(db, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, mode := range []string{"symbol", "module"} {
		code, out, stderr := runCLI(t, "audit", "-mode", mode, "-db", db, "-format", "json", vuln)
		r := decodeResult(t, out)
		if code != exitFindings || r.Warnings != 3 || !slices.ContainsFunc(r.Findings, func(f auditFinding) bool { return f.ID == "GO-2022-1059" }) ||
			!strings.Contains(stderr, "3 malformed database or VEX records skipped") {
			t.Errorf("%s mode: exit %d, warnings %d %q, findings %q, stderr %q", mode, code, r.Warnings, r.Messages, ids(r.Findings), stderr)
		}
	}

	// The only malformed record is one the index accepts: symbol mode
	// counts it too (it handed govulncheck the database as it was, and
	// said nothing).
	only := t.TempDir()
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(fixtureDB, e.Name()))
		if err := os.WriteFile(filepath.Join(only, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(only, "GO-9999-0003.json"), []byte(badRange), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"symbol", "module"} {
		code, out, stderr := runCLI(t, "audit", "-mode", mode, "-db", only, "-format", "json", vuln)
		r := decodeResult(t, out)
		if code != exitFindings || r.Warnings != 1 || !strings.Contains(stderr, "1 malformed database or VEX records skipped") {
			t.Errorf("%s mode, one malformed range: exit %d, warnings %d %q, stderr %q", mode, code, r.Warnings, r.Messages, stderr)
		}
	}
}
