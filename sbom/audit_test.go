package sbom

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pavedroad/paved"
)

// auditFixture is the fixture database: ten records copied from the Go
// vulnerability database (see testdata/vulndb/README.md).
const auditFixture = "testdata/vulndb/osv"

func openFixture(t testing.TB) *VulnDB {
	t.Helper()
	db, err := OpenVulnDB(auditFixture)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// auditBuild makes a Build from a go version, GOOS and "path@version" or
// "path@version=>path@version" module specs.
func auditBuild(t testing.TB, goVersion, goos string, mods ...string) *Build {
	t.Helper()
	bi := &debug.BuildInfo{GoVersion: goVersion, Path: "example.com/app", Main: debug.Module{Path: "example.com/app", Version: "(devel)"}}
	if goos != "" {
		bi.Settings = []debug.BuildSetting{{Key: "GOOS", Value: goos}, {Key: "GOARCH", Value: "amd64"}}
	}
	for _, spec := range mods {
		orig, repl, replaced := strings.Cut(spec, "=>")
		p, v, _ := strings.Cut(orig, "@")
		m := &debug.Module{Path: p, Version: v}
		if replaced {
			rp, rv, _ := strings.Cut(repl, "@")
			m.Replace = &debug.Module{Path: rp, Version: rv}
		}
		bi.Deps = append(bi.Deps, m)
	}
	b, err := FromBuildInfo(bi)
	if err != nil {
		t.Fatal(err)
	}
	b.Path = "app" // a file: the platform comes from the settings only
	return b
}

func findingKeys(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.ID+" "+f.Module+"@"+f.Version+" fixed="+f.FixedVersion)
	}
	return out
}

func TestAuditFixture(t *testing.T) {
	db := openFixture(t)
	const text = "golang.org/x/text"
	tests := []struct {
		name string
		b    *Build
		o    AuditOptions
		want []string
	}{
		{"old x/text", auditBuild(t, "go1.26.8", "linux", text+"@v0.3.7"), AuditOptions{}, []string{
			"GO-2022-1059 golang.org/x/text@v0.3.7 fixed=v0.3.8",
			"GO-2026-5970 golang.org/x/text@v0.3.7 fixed=v0.39.0",
			"GO-2026-6629 golang.org/x/text@v0.3.7 fixed=v0.41.0",
		}},
		{"older x/text", auditBuild(t, "go1.26.8", "linux", text+"@v0.3.6"), AuditOptions{}, []string{
			"GO-2021-0113 golang.org/x/text@v0.3.6 fixed=v0.3.7",
			"GO-2022-1059 golang.org/x/text@v0.3.6 fixed=v0.3.8",
			"GO-2026-5970 golang.org/x/text@v0.3.6 fixed=v0.39.0",
			"GO-2026-6629 golang.org/x/text@v0.3.6 fixed=v0.41.0",
		}},
		{"fixed x/text", auditBuild(t, "go1.26.8", "linux", text+"@v0.43.0"), AuditOptions{}, []string{}},
		{"replaced by a fixed version", auditBuild(t, "go1.26.8", "linux", text+"@v0.3.7=>"+text+"@v0.43.0"), AuditOptions{}, []string{}},
		{"replaced by an old version", auditBuild(t, "go1.26.8", "linux", text+"@v0.43.0=>"+text+"@v0.38.0"), AuditOptions{}, []string{
			"GO-2026-5970 golang.org/x/text@v0.38.0 fixed=v0.39.0",
			"GO-2026-6629 golang.org/x/text@v0.38.0 fixed=v0.41.0",
		}},
		{"local replacement is not known", auditBuild(t, "go1.26.8", "linux", text+"@v0.3.7=>../text@"), AuditOptions{}, []string{}},
		{"stdlib on linux", auditBuild(t, "go1.26.0", "linux"), AuditOptions{}, []string{
			"GO-2026-4601 stdlib@v1.26.0 fixed=v1.26.1",
			"GO-2026-4864 stdlib@v1.26.0 fixed=v1.26.2",
		}},
		{"stdlib on darwin: the linux-only record does not apply", auditBuild(t, "go1.26.0", "darwin"), AuditOptions{}, []string{
			"GO-2026-4601 stdlib@v1.26.0 fixed=v1.26.1",
		}},
		{"stdlib with boringcrypto tag", auditBuild(t, "go1.25.5 X:boringcrypto", "linux"), AuditOptions{}, []string{
			"GO-2026-4601 stdlib@v1.25.5 fixed=v1.25.8",
			"GO-2026-4864 stdlib@v1.25.5 fixed=v1.25.9",
		}},
		{"devel toolchain", auditBuild(t, "devel go1.27-abc", "linux"), AuditOptions{}, []string{}},
		{"toolchain off by default", auditBuild(t, "go1.26.8", "linux"), AuditOptions{}, []string{}},
		{"toolchain on", auditBuild(t, "go1.26.8", "linux"), AuditOptions{Toolchain: true}, []string{
			"GO-2026-6602 toolchain@v1.26.8 fixed=v1.26.9",
		}},
		{"withdrawn record", auditBuild(t, "go1.26.8", "linux", "k8s.io/kubernetes@v1.0.0"), AuditOptions{}, []string{}},
		{"before its withdrawal", auditBuild(t, "go1.26.8", "linux", "k8s.io/kubernetes@v1.0.0"), AuditOptions{Now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, []string{
			"GO-2022-0617 k8s.io/kubernetes@v1.0.0 fixed=",
		}},
		{"windows-only record on linux", auditBuild(t, "go1.26.8", "linux", "github.com/git-lfs/git-lfs@v1.5.0"), AuditOptions{}, []string{}},
		{"windows-only record on windows", auditBuild(t, "go1.26.8", "windows", "github.com/git-lfs/git-lfs@v1.5.0"), AuditOptions{}, []string{
			"GO-2021-0098 github.com/git-lfs/git-lfs@v1.5.0 fixed=v1.5.1-0.20210113180018-fc664697ed2c",
		}},
		{"platform override", auditBuild(t, "go1.26.8", "linux", "github.com/git-lfs/git-lfs@v1.5.0"), AuditOptions{GOOS: "windows"}, []string{
			"GO-2021-0098 github.com/git-lfs/git-lfs@v1.5.0 fixed=v1.5.1-0.20210113180018-fc664697ed2c",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := db.Audit(tt.b, tt.o)
			if got := findingKeys(r.Findings); !slices.Equal(got, tt.want) {
				t.Errorf("findings:\n got %q\nwant %q", got, tt.want)
			}
			if r.Warnings != 0 {
				t.Errorf("warnings = %d %q, want 0", r.Warnings, r.Messages)
			}
		})
	}
}

func TestAuditFindingFields(t *testing.T) {
	r := openFixture(t).Audit(auditBuild(t, "go1.26.8", "linux", "golang.org/x/text@v0.3.7"), AuditOptions{})
	if len(r.Findings) == 0 {
		t.Fatal("no findings")
	}
	f := r.Findings[0]
	want := Finding{
		ID: "GO-2022-1059", Aliases: []string{"CVE-2022-32149", "GHSA-69ch-w2m2-3vjp"},
		Summary: "Denial of service via crafted Accept-Language header in golang.org/x/text/language",
		Module:  "golang.org/x/text", Version: "v0.3.7", FixedVersion: "v0.3.8",
		Packages: []string{"golang.org/x/text/language"}, Severity: SeverityUnknown, URL: "https://pkg.go.dev/vuln/GO-2022-1059",
	}
	if fmt.Sprint(f) != fmt.Sprint(want) || !slices.Equal(f.Aliases, want.Aliases) || !slices.Equal(f.Packages, want.Packages) {
		t.Errorf("finding = %+v\nwant      %+v", f, want)
	}
	if r.Modules != 3 { // x/text, stdlib, the main module
		t.Errorf("Modules = %d, want 3", r.Modules)
	}
}

// TestVulnDBLayouts: the fixture as OSV records and as a govulncheck
// database written from it index and answer the same.
func TestVulnDBLayouts(t *testing.T) {
	osv := openFixture(t)
	dir := t.TempDir()
	if err := osv.WriteGovulncheckDB(dir); err != nil {
		t.Fatal(err)
	}
	gv, err := OpenVulnDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	if osv.Layout() != LayoutOSV || gv.Layout() != LayoutGovulncheck {
		t.Fatalf("layouts %q %q", osv.Layout(), gv.Layout())
	}
	if osv.Len() != 10 || gv.Len() != 10 || osv.Modules() != gv.Modules() {
		t.Fatalf("Len %d/%d, Modules %d/%d; want 10 records each, same modules", osv.Len(), gv.Len(), osv.Modules(), gv.Modules())
	}
	for _, b := range []*Build{
		auditBuild(t, "go1.26.0", "linux", "golang.org/x/text@v0.3.6", "k8s.io/kubernetes@v1.0.0"),
		auditBuild(t, "go1.25.5", "windows", "github.com/git-lfs/git-lfs@v1.5.0"),
	} {
		a, g := osv.Audit(b, AuditOptions{Toolchain: true}), gv.Audit(b, AuditOptions{Toolchain: true})
		if !slices.Equal(findingKeys(a.Findings), findingKeys(g.Findings)) || len(a.Findings) == 0 {
			t.Errorf("osv layout %q\ngovulncheck layout %q", findingKeys(a.Findings), findingKeys(g.Findings))
		}
	}
	idx, err := os.ReadFile(dir + "/index/modules.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(idx, []byte(`{"path":"golang.org/x/text","vulns":[{"id":"GO-2020-0015","modified":"0001-01-01T00:00:00Z","fixed":"0.3.3"}`)) {
		t.Errorf("index/modules.json lacks the x/text entry as govulncheck writes it: %.300s", idx)
	}
}

func TestVulnDBMalformed(t *testing.T) {
	good, err := os.ReadFile(auditFixture + "/GO-2022-1059.json")
	if err != nil {
		t.Fatal(err)
	}
	badVersion := bytes.Replace(good, []byte(`"fixed": "0.3.8"`), []byte(`"fixed": "not-a-version"`), 1)
	badVersion = bytes.Replace(badVersion, []byte("GO-2022-1059"), []byte("GO-9999-0002"), 1)
	fsys := fstest.MapFS{
		"GO-2022-1059.json": {Data: good},
		"GO-9999-0001.json": {Data: []byte(`{"id": "GO-9999-0001", "affected": [`)},                                             // truncated
		"GO-9999-0002.json": {Data: badVersion},                                                                                 // indexed, skipped when read
		"GO-9999-0003.json": {Data: []byte(`{"id": "GO-1111-1111", "affected": [{"package": {"name": "golang.org/x/text"}}]}`)}, // wrong name
		"GO-9999-0004.json": {Data: []byte(`{"id": "GO-9999-0004", "affected": []}`)},                                           // no module
		"GO-9999-0005.json": {Data: bytes.Repeat([]byte(" "), maxOSVBytes+1)},                                                   // too large
		"GO-9999-0006.json": {Data: []byte(`[1, 2, 3]`)},                                                                        // not an object
		"README.md":         {Data: []byte("not a record")},                                                                     // ignored
	}
	db, err := OpenVulnDBFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if n, msgs := db.Warnings(); n != 5 {
		t.Errorf("open warnings = %d, want 5: %q", n, msgs)
	}
	if db.Len() != 2 {
		t.Errorf("Len = %d, want 2", db.Len())
	}
	r := db.Audit(auditBuild(t, "go1.26.8", "linux", "golang.org/x/text@v0.3.7"), AuditOptions{})
	if got := findingKeys(r.Findings); !slices.Equal(got, []string{"GO-2022-1059 golang.org/x/text@v0.3.7 fixed=v0.3.8"}) {
		t.Errorf("findings %q", got)
	}
	if r.Warnings != 6 || !strings.Contains(strings.Join(r.Messages, "\n"), `invalid fixed version "not-a-version"`) {
		t.Errorf("report warnings = %d %q, want 6 with the invalid version", r.Warnings, r.Messages)
	}

	if _, err := OpenVulnDBFS(fstest.MapFS{"README.md": {Data: []byte("x")}}); !errors.Is(err, ErrVulnDB) {
		t.Errorf("empty dir: %v, want ErrVulnDB", err)
	}
	if _, err := OpenVulnDB(t.TempDir() + "/missing"); !errors.Is(err, ErrVulnDB) {
		t.Errorf("missing dir: %v, want ErrVulnDB", err)
	}

	// A govulncheck index that breaks half-way keeps what came before.
	idx := fstest.MapFS{
		"index/modules.json":   {Data: []byte(`[{"path":"golang.org/x/text","vulns":[{"id":"GO-2022-1059"},{"id":"../../etc/passwd"}]},{"path":`)},
		"ID/GO-2022-1059.json": {Data: good},
	}
	db, err = OpenVulnDBFS(idx)
	if err != nil {
		t.Fatal(err)
	}
	if n, msgs := db.Warnings(); n != 2 || db.Len() != 1 {
		t.Errorf("index warnings = %d %q, Len %d; want 2 and 1", n, msgs, db.Len())
	}
	if _, err := OpenVulnDBFS(fstest.MapFS{"index/modules.json": {Data: []byte(`{}`)}}); !errors.Is(err, ErrVulnDB) {
		t.Errorf("index not an array: %v, want ErrVulnDB", err)
	}
}

// TestVulnDBBoundedMemory: indexing many records keeps the index, not the
// records: the heap grows by far less than the records' bytes.
func TestVulnDBBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 2,000 files")
	}
	dir := t.TempDir()
	padding := strings.Repeat("x", 4000)
	const n = 2000
	for i := range n {
		rec := fmt.Sprintf(`{"id":"GO-9000-%05d","details":%q,"affected":[{"package":{"name":"example.com/m%d"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}`, i, padding, i%100)
		if err := os.WriteFile(fmt.Sprintf("%s/GO-9000-%05d.json", dir, i), []byte(rec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var before, after runtimeMem
	before.read()
	db, err := OpenVulnDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	after.read()
	if db.Len() != n {
		t.Fatalf("Len = %d", db.Len())
	}
	grown := int64(after.heap) - int64(before.heap)
	t.Logf("heap grew %d bytes indexing %d records of %d bytes", grown, n, n*len(padding))
	if recordBytes := int64(n * len(padding)); grown > recordBytes/4 {
		t.Errorf("heap grew %d bytes for %d bytes of records: the records are kept", grown, recordBytes)
	}
	r := db.Audit(auditBuild(t, "go1.26.8", "linux", "example.com/m7@v0.9.0"), AuditOptions{})
	if len(r.Findings) != n/100 {
		t.Errorf("findings = %d, want %d", len(r.Findings), n/100)
	}
	_ = db
}

func TestSeverity(t *testing.T) {
	for _, tt := range []struct {
		s, threshold Severity
		want         bool
	}{
		{SeverityUnknown, SeverityHigh, true},
		{SeverityUnknown, SeverityCritical, false},
		{SeverityLow, SeverityMedium, false},
		{SeverityCritical, SeverityLow, true},
		{SeverityMedium, SeverityMedium, true},
	} {
		if got := tt.s.AtLeast(tt.threshold); got != tt.want {
			t.Errorf("%s.AtLeast(%s) = %v", tt.s, tt.threshold, got)
		}
	}
	if s, err := ParseSeverity("MODERATE"); s != SeverityMedium || err != nil {
		t.Errorf("ParseSeverity(MODERATE) = %q, %v", s, err)
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("ParseSeverity(severe): no error")
	}
}

// recordingSink keeps the events it is sent.
type recordingSink struct{ events []paved.Event }

func (s *recordingSink) Enabled(context.Context, paved.EventType) bool { return true }
func (s *recordingSink) Emit(_ context.Context, e paved.Event)         { s.events = append(s.events, e) }

func TestAuditSelf(t *testing.T) {
	vex := t.TempDir() + "/vex.json"
	if err := os.WriteFile(vex, []byte(`{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/app-1",
  "author": "Platform Security",
  "timestamp": "2026-11-30T10:00:00Z",
  "version": 1,
  "statements": [{
    "vulnerability": {"name": "CVE-2022-32149"},
    "products": [{"@id": "pkg:golang/example.com/app", "subcomponents": [{"@id": "pkg:golang/golang.org/x/text@v0.3.7"}]}],
    "status": "not_affected",
    "justification": "vulnerable_code_not_in_execute_path",
    "impact_statement": "ParseAcceptLanguage is never called"
  }, {
    "vulnerability": {"name": "GO-2026-5970"},
    "products": [{"@id": "pkg:golang/example.com/app"}],
    "status": "not_affected"
  }]
}`), 0o644); err != nil {
		t.Fatal(err)
	}
	b := auditBuild(t, "go1.26.8", "linux", "golang.org/x/text@v0.3.7")

	var logs bytes.Buffer
	var posture paved.Posture
	sink := &recordingSink{}
	r, err := AuditSelf(context.Background(), AuditConfig{
		DB: auditFixture, VEX: []string{vex}, Build: b, Name: "self",
		Events: sink, Posture: &posture, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	var ve *VulnerableError
	if !errors.Is(err, ErrVulnerable) || !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *VulnerableError", err)
	}
	if got := findingKeys(ve.Findings); !slices.Equal(got, []string{
		"GO-2026-5970 golang.org/x/text@v0.3.7 fixed=v0.39.0",
		"GO-2026-6629 golang.org/x/text@v0.3.7 fixed=v0.41.0",
	}) {
		t.Errorf("gate findings %q", got)
	}
	if len(r.Suppressed) != 1 || r.Suppressed[0].ID != "GO-2022-1059" {
		t.Fatalf("suppressed = %q", findingKeys(r.Suppressed))
	}
	if r.Warnings != 1 || !strings.Contains(r.Messages[0], "not_affected without a justification") {
		t.Errorf("warnings %d %q; want the statement without justification", r.Warnings, r.Messages)
	}

	rep := posture.Report()
	var controls []string
	for _, c := range rep.Controls {
		controls = append(controls, fmt.Sprintf("%s/%s %s %v", c.Instance, c.Name, c.Detail, c.Enabled))
	}
	wantControls := []string{
		"self/vulnerability-audit 2 findings, 1 suppressed by VEX, 3 modules against osv layout, 10 records, 1 malformed records skipped false",
		"self/vulnerability-gate start-up fails at high or above (unknown ranks as high) true",
		"self/vulnerability:GO-2026-5970 golang.org/x/text@v0.3.7 is affected (unknown); fixed in v0.39.0 false",
		"self/vulnerability:GO-2026-6629 golang.org/x/text@v0.3.7 is affected (unknown); fixed in v0.41.0 false",
	}
	if !slices.Equal(controls, wantControls) {
		t.Errorf("controls:\n%s\nwant\n%s", strings.Join(controls, "\n"), strings.Join(wantControls, "\n"))
	}
	wantOptOut := paved.OptOut{Component: "sbom", Instance: "self", Name: "suppress-GO-2022-1059",
		Reason: "golang.org/x/text@v0.3.7: not_affected (vulnerable_code_not_in_execute_path): ParseAcceptLanguage is never called [VEX https://example.com/vex/app-1]"}
	if len(rep.OptOuts) != 1 || rep.OptOuts[0] != wantOptOut {
		t.Errorf("opt-outs %+v\nwant %+v", rep.OptOuts, wantOptOut)
	}
	if len(sink.events) != 2 || sink.events[0].Type != paved.EventVulnerability || sink.events[0].Reason != "unknown" ||
		sink.events[0].Attrs[0].Value.String() != "GO-2026-5970" || sink.events[0].Component != "sbom" {
		t.Errorf("events %+v", sink.events)
	}
	if c := strings.Count(logs.String(), "sbom: known vulnerability"); c != 2 {
		t.Errorf("%d finding log lines, want 2:\n%s", c, logs.String())
	}
	// The suppression is an opt-out: logged at start-up, with its reason.
	if c := strings.Count(logs.String(), "paved: secure default opted out"); c != 1 || !strings.Contains(logs.String(), "suppress-GO-2022-1059") {
		t.Errorf("%d opt-out log lines, want 1 naming suppress-GO-2022-1059:\n%s", c, logs.String())
	}

	// The opt-out lets the service start, and says so in the posture and
	// the log.
	posture = paved.Posture{}
	logs.Reset()
	r, err = AuditSelf(context.Background(), AuditConfig{
		VulnDB: openFixture(t), Build: b, Posture: &posture, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		OptOuts: []paved.OptOut{AllowVulnerableStart("the fix ships tomorrow, SEC-42")},
	})
	if err != nil || len(r.Findings) != 3 {
		t.Fatalf("with the opt-out: %v, %d findings", err, len(r.Findings))
	}
	if !strings.Contains(logs.String(), "paved: secure default opted out") || !strings.Contains(logs.String(), "the fix ships tomorrow, SEC-42") {
		t.Errorf("the allow-vulnerable-start opt-out is not logged:\n%s", logs.String())
	}
	rep = posture.Report()
	if rep.OptOuts[0].Name != OptOutAllowVulnerableStart || rep.Controls[1].Name != "vulnerability-gate" || rep.Controls[1].Enabled {
		t.Errorf("posture with the opt-out: %+v", rep)
	}

	// A critical threshold lets unscored findings through.
	if _, err := AuditSelf(context.Background(), AuditConfig{VulnDB: openFixture(t), Build: b, FailOn: SeverityCritical,
		Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Errorf("FailOn critical: %v", err)
	}
}

func TestAuditSelfConfigErrors(t *testing.T) {
	_, err := AuditSelf(context.Background(), AuditConfig{
		VEX: []string{"/nonexistent/vex.json"}, FailOn: "severe",
		OptOuts: []paved.OptOut{AllowVulnerableStart(""), paved.NewOptOut("httpx", "allow-plain-http", "x")},
		Build:   auditBuild(t, "go1.26.8", ""),
	})
	var fields []string
	for _, ce := range paved.ConfigErrors(err) {
		fields = append(fields, ce.Field)
	}
	want := []string{"AuditConfig.DB", "AuditConfig.VEX[0]", "AuditConfig.FailOn", "AuditConfig.OptOuts[0]", "AuditConfig.OptOuts[1]"}
	if !slices.Equal(fields, want) {
		t.Errorf("config error fields %q, want %q (%v)", fields, want, err)
	}
	if !errors.Is(err, paved.ErrNoReason) {
		t.Errorf("%v does not match ErrNoReason", err)
	}
}

func BenchmarkAuditFixture(b *testing.B) {
	db := openFixture(b)
	build := auditBuild(b, "go1.26.0", "linux", "golang.org/x/text@v0.3.6", "k8s.io/kubernetes@v1.0.0")
	b.ReportAllocs()
	for b.Loop() {
		db.Audit(build, AuditOptions{})
	}
}

// runtimeMem reads the live heap after a collection.
type runtimeMem struct{ heap uint64 }

func (m *runtimeMem) read() {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.heap = s.HeapAlloc
}

// BenchmarkAudit300 audits a synthetic 300-module build (300 module paths
// that have records, each at v0.0.1, so most match) against the database
// in $PAVED_VULNDB (the whole Go database: the golang.org/x/vulndb
// module's data/osv, or a govulncheck layout): "open" includes indexing
// the database, "audit" reuses an opened one.
func BenchmarkAudit300(b *testing.B) {
	dir := os.Getenv("PAVED_VULNDB")
	if dir == "" {
		b.Skip("set PAVED_VULNDB to a vulnerability database directory")
	}
	db, err := OpenVulnDB(dir)
	if err != nil {
		b.Fatal(err)
	}
	paths := make([]string, 0, len(db.byModule))
	for p := range db.byModule {
		if p != StdlibModule && p != ToolchainModule {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	var mods []string
	for _, p := range paths[:300] {
		mods = append(mods, p+"@v0.0.1")
	}
	build := auditBuild(b, "go1.26.8", "linux", mods...)
	b.Run("audit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			db.Audit(build, AuditOptions{})
		}
	})
	b.Run("open+audit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			db, err := OpenVulnDB(dir)
			if err != nil {
				b.Fatal(err)
			}
			db.Audit(build, AuditOptions{})
		}
	})
}
