package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pavedroad/paved/sbom"
	"golang.org/x/vuln/scan"
)

func init() {
	register(command{name: "audit", summary: "known vulnerabilities in a Go binary, offline (govulncheck's binary mode against a local database)", run: runAudit})
}

// Levels of a finding, from the most precise: a vulnerable symbol is in
// the binary; a vulnerable package is; only the module is.
const (
	levelSymbol  = "symbol"
	levelPackage = "package"
	levelModule  = "module"
)

// auditFinding is a finding with how precisely it was placed.
type auditFinding struct {
	sbom.Finding
	// Level is symbol, package or module.
	Level string `json:"level"`
	// Symbols are the vulnerable functions found in the binary
	// ("language.ParseAcceptLanguage"), for a symbol-level finding.
	Symbols []string `json:"symbols,omitempty"`
}

// auditResult is what `paved audit` reports.
type auditResult struct {
	Binary   string `json:"binary"`
	Mode     string `json:"mode"`
	Database string `json:"database"`
	FailOn   string `json:"fail_on"`
	// Findings are the vulnerabilities that count: symbol-level ones in
	// symbol mode, every one in module mode.
	Findings []auditFinding `json:"findings"`
	// Informational are vulnerabilities in modules or packages of the
	// binary whose vulnerable symbols are not linked (symbol mode only).
	Informational []auditFinding `json:"informational,omitempty"`
	// Suppressed are findings a VEX statement suppressed, with the reason.
	Suppressed []auditFinding `json:"suppressed,omitempty"`
	Warnings   int            `json:"warnings,omitempty"`
	Messages   []string       `json:"messages,omitempty"`
}

func runAudit(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "audit", "-db DIR [-mode symbol|module] [-vex FILE]... [-format text|json|sarif] [-fail-on SEVERITY] BINARY")
	db := fs.String("db", "", "vulnerability database `DIR`: the golang.org/x/vulndb module's data/osv or a govulncheck database (default $PAVED_VULNDB)")
	mode := fs.String("mode", levelSymbol, "symbol: govulncheck's binary scan, findings are the vulnerable symbols linked in; module: the in-process module-level audit a service runs on itself")
	var vex multiFlag
	fs.Var(&vex, "vex", "OpenVEX `FILE` whose not_affected statements suppress findings (repeatable)")
	format := fs.String("format", "text", "output: text, json or sarif (SARIF 2.1.0)")
	failOn := fs.String("fail-on", "high", "exit 1 when a finding ranks at or above this severity: low, medium, high (records without a severity rank as high), critical, or never")
	toolchain := fs.Bool("toolchain", false, "module mode: also match the go command's records at the binary's Go version")
	out := fs.String("o", "", "write the report to `FILE` instead of standard output")
	bin, code := parseArgs(e, fs, args)
	if code >= 0 {
		return code
	}
	if *db == "" {
		*db = e.getenv("PAVED_VULNDB")
	}
	if *db == "" {
		fmt.Fprintln(e.stderr, "paved audit: -db DIR (or PAVED_VULNDB) is required: the audit is offline, against a local database such as $(go env GOMODCACHE)/golang.org/x/vulndb@VERSION/data/osv")
		return exitError
	}
	var threshold sbom.Severity
	if *failOn != "never" {
		var err error
		if threshold, err = sbom.ParseSeverity(*failOn); err != nil || threshold == sbom.SeverityUnknown {
			fmt.Fprintf(e.stderr, "paved audit: -fail-on %q: want low, medium, high, critical or never\n", *failOn)
			return exitError
		}
	}
	if *format != "text" && *format != "json" && *format != "sarif" {
		fmt.Fprintf(e.stderr, "paved audit: -format %q: want text, json or sarif\n", *format)
		return exitError
	}
	b, err := sbom.Read(bin)
	if err != nil {
		fmt.Fprintln(e.stderr, "paved audit:", err)
		return exitError
	}
	var docs []*sbom.VEX
	for _, p := range vex {
		v, err := sbom.ReadVEXFile(p)
		if err != nil {
			fmt.Fprintln(e.stderr, "paved audit:", err)
			return exitError
		}
		docs = append(docs, v)
	}

	var res *auditResult
	switch *mode {
	case levelModule:
		res, err = moduleAudit(b, *db, docs, *toolchain)
	case levelSymbol:
		res, err = symbolAudit(ctx, b, *db, docs)
	default:
		err = fmt.Errorf("-mode %q: want symbol or module", *mode)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "paved audit:", err)
		return exitError
	}
	res.Binary, res.Mode, res.FailOn = bin, *mode, cmp.Or(string(threshold), "never")

	var buf bytes.Buffer
	switch *format {
	case "json":
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	case "sarif":
		err = writeSARIF(&buf, res)
	default:
		writeText(&buf, res)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "paved audit:", err)
		return exitError
	}
	if c := writeOut(e, *out, buf.Bytes(), "paved audit"); c != exitOK {
		return c
	}
	if res.Warnings > 0 {
		fmt.Fprintf(e.stderr, "paved audit: %d malformed database or VEX records skipped\n", res.Warnings)
	}
	if threshold != "" {
		for _, f := range res.Findings {
			if f.Severity.AtLeast(threshold) {
				return exitFindings
			}
		}
	}
	return exitOK
}

// moduleAudit is the in-process audit: the one sbom.AuditSelf runs.
func moduleAudit(b *sbom.Build, dir string, docs []*sbom.VEX, toolchain bool) (*auditResult, error) {
	db, err := sbom.OpenVulnDB(dir)
	if err != nil {
		return nil, err
	}
	r := db.Audit(b, sbom.AuditOptions{VEX: docs, Toolchain: toolchain})
	res := &auditResult{Database: db.Source() + " (" + r.Database + ")", Warnings: r.Warnings, Messages: r.Messages, Findings: []auditFinding{}}
	for _, f := range r.Findings {
		res.Findings = append(res.Findings, auditFinding{Finding: f, Level: levelModule})
	}
	for _, f := range r.Suppressed {
		res.Suppressed = append(res.Suppressed, auditFinding{Finding: f, Level: levelModule})
	}
	return res, nil
}

// govulncheck's JSON stream (golang.org/x/vuln/internal/govulncheck): one
// object per message.
type gvMessage struct {
	OSV     *sbom.OSV  `json:"osv"`
	Finding *gvFinding `json:"finding"`
}

type gvFinding struct {
	OSV          string    `json:"osv"`
	FixedVersion string    `json:"fixed_version"`
	Trace        []gvFrame `json:"trace"`
}

type gvFrame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
}

// runGovulncheck runs govulncheck in-process (golang.org/x/vuln/scan, its
// supported library entry point) with the given arguments and -format
// json, and returns the OSV records and findings it printed.
func runGovulncheck(ctx context.Context, args ...string) (map[string]*sbom.OSV, []gvFinding, error) {
	var stdout, stderr bytes.Buffer
	cmd := scan.Command(ctx, append([]string{"-format", "json"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader("")
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	if err := cmd.Wait(); err != nil {
		// With -format json, govulncheck exits 0 even with findings; an
		// error is a failure to scan.
		return nil, nil, fmt.Errorf("govulncheck: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	records := make(map[string]*sbom.OSV)
	var findings []gvFinding
	dec := json.NewDecoder(&stdout)
	for {
		var m gvMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("govulncheck output: %v", err)
		}
		if m.OSV != nil {
			records[m.OSV.ID] = m.OSV
		}
		if m.Finding != nil && len(m.Finding.Trace) > 0 {
			findings = append(findings, *m.Finding)
		}
	}
	return records, findings, nil
}

// symbolAudit runs govulncheck's binary mode at symbol level against the
// local database and places each vulnerability at its most precise level.
func symbolAudit(ctx context.Context, b *sbom.Build, dir string, docs []*sbom.VEX) (*auditResult, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	db, err := sbom.OpenVulnDB(abs) // checks the directory, finds data/osv in a vulndb module
	if err != nil {
		return nil, err
	}
	source := db.Source()
	// The index checks only a record's ID and modules; its ranges are
	// checked when it is read. The module-level audit reads exactly the
	// records of the binary's modules, and counts those it skips: a
	// record with an invalid version would otherwise reach govulncheck,
	// which reads it as matching nothing, silently.
	check := db.Audit(b, sbom.AuditOptions{})
	if check.Warnings > 0 {
		// govulncheck gives up on a database with one malformed record:
		// hand it a copy without them.
		clean, err := os.MkdirTemp("", "paved-vulndb")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(clean)
		if err := db.WriteGovulncheckDB(clean); err != nil {
			return nil, err
		}
		source = clean
	}
	records, findings, err := runGovulncheck(ctx, "-mode", "binary", "-db", "file://"+filepath.ToSlash(source), b.Path)
	if err != nil {
		return nil, err
	}
	type key struct{ id, module string }
	byKey := make(map[key]*auditFinding)
	var order []key
	rank := map[string]int{levelModule: 0, levelPackage: 1, levelSymbol: 2}
	for _, gf := range findings {
		top := gf.Trace[0]
		k := key{gf.OSV, top.Module}
		af := byKey[k]
		if af == nil {
			rec := records[gf.OSV]
			if rec == nil {
				rec = &sbom.OSV{ID: gf.OSV}
			}
			af = &auditFinding{Finding: sbom.FindingFor(rec, top.Module, top.Version), Level: levelModule}
			if gf.FixedVersion != "" {
				af.FixedVersion = gf.FixedVersion
			}
			byKey[k] = af
			order = append(order, k)
		}
		level := levelModule
		switch {
		case top.Function != "":
			level = levelSymbol
			sym := top.Function
			if top.Receiver != "" {
				sym = strings.TrimPrefix(top.Receiver, "*") + "." + sym
			}
			pkg := top.Package[strings.LastIndex(top.Package, "/")+1:]
			af.Symbols = append(af.Symbols, pkg+"."+sym)
		case top.Package != "":
			level = levelPackage
		}
		if rank[level] > rank[af.Level] {
			af.Level = level
		}
	}
	res := &auditResult{Database: db.Source() + " (" + db.Layout() + " layout, " + fmt.Sprint(db.Len()) + " records)", Findings: []auditFinding{}}
	res.Warnings, res.Messages = check.Warnings, check.Messages
	for _, k := range order {
		af := *byKey[k]
		slices.Sort(af.Symbols)
		af.Symbols = slices.Compact(af.Symbols)
		if s := sbom.Suppress(docs, b, af.Finding); s != nil {
			af.Suppression = s
			res.Suppressed = append(res.Suppressed, af)
			continue
		}
		if af.Level == levelSymbol {
			res.Findings = append(res.Findings, af)
		} else {
			res.Informational = append(res.Informational, af)
		}
	}
	for _, v := range docs {
		res.Warnings += v.Skipped
		res.Messages = append(res.Messages, v.Warnings...)
	}
	for _, l := range [][]auditFinding{res.Findings, res.Informational, res.Suppressed} {
		sortFindings(l)
	}
	return res, nil
}

func sortFindings(fs []auditFinding) {
	slices.SortFunc(fs, func(a, b auditFinding) int {
		return cmp.Or(strings.Compare(a.Module, b.Module), strings.Compare(a.ID, b.ID))
	})
}

// writeText writes the report for a person reading a CI log.
func writeText(w io.Writer, r *auditResult) {
	fmt.Fprintf(w, "paved audit %s (%s mode, database %s)\n", r.Binary, r.Mode, r.Database)
	section := func(title string, fs []auditFinding) {
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s (%d):\n", title, len(fs))
		for _, f := range fs {
			fixed := f.FixedVersion
			if fixed == "" {
				fixed = "no fix yet"
			} else {
				fixed = "fixed in " + fixed
			}
			fmt.Fprintf(w, "  %s  %s@%s  %s, severity %s\n", f.ID, f.Module, f.Version, fixed, f.Severity)
			if f.Summary != "" {
				fmt.Fprintf(w, "      %s\n", f.Summary)
			}
			if len(f.Symbols) > 0 {
				fmt.Fprintf(w, "      linked: %s\n", strings.Join(f.Symbols, ", "))
			}
			if f.Suppression != nil {
				fmt.Fprintf(w, "      suppressed: %s\n", f.Suppression.Reason())
			}
			if f.URL != "" {
				fmt.Fprintf(w, "      %s\n", f.URL)
			}
		}
	}
	if r.Mode == levelSymbol {
		section("Vulnerable symbols linked into the binary", r.Findings)
		section("Vulnerable modules or packages whose vulnerable symbols are not linked", r.Informational)
	} else {
		section("Vulnerable modules", r.Findings)
	}
	section("Suppressed by VEX", r.Suppressed)
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "\nNo vulnerabilities found.")
	}
}
