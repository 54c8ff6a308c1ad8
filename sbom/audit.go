package sbom

import (
	"cmp"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
)

// A Severity ranks a vulnerability: "low", "medium", "high", "critical",
// or "unknown" when the record gives none, as every record of the Go
// vulnerability database does (it publishes no scores). Unknown ranks as
// high: a finding nobody scored is not waved through.
type Severity string

// Severities, from least to most severe (unknown ranks as high).
const (
	SeverityUnknown  Severity = "unknown"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: low 1, medium 2, high and unknown 3, critical
// 4; anything else 3, like unknown.
func (s Severity) Rank() int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityCritical:
		return 4
	}
	return 3
}

// AtLeast reports whether s ranks at or above threshold.
func (s Severity) AtLeast(threshold Severity) bool { return s.Rank() >= threshold.Rank() }

// ParseSeverity reads a severity name, case-insensitively; "moderate"
// (GitHub's word) is medium.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "low":
		return SeverityLow, nil
	case "medium", "moderate":
		return SeverityMedium, nil
	case "high":
		return SeverityHigh, nil
	case "critical":
		return SeverityCritical, nil
	case "unknown":
		return SeverityUnknown, nil
	}
	return "", fmt.Errorf("sbom: unknown severity %s: want low, medium, high, critical or unknown", quoteShort(s))
}

// severityOf returns a record's qualitative severity: the
// database_specific "severity" that GitHub's OSV records carry, else
// unknown. CVSS vectors are not scored.
func severityOf(e *OSV) Severity {
	if e.DatabaseSpecific != nil {
		if s, err := ParseSeverity(e.DatabaseSpecific.Severity); err == nil {
			return s
		}
	}
	return SeverityUnknown
}

// A Finding is one known vulnerability in one module of a build, at the
// module level: the module's version lies in an affected range. (Whether
// the vulnerable symbols are linked is govulncheck's symbol-level
// question, which `paved audit` answers for a binary file.)
type Finding struct {
	// ID is the record's ID, such as "GO-2022-1059".
	ID string `json:"id"`
	// Aliases are the record's other IDs (CVE, GHSA).
	Aliases []string `json:"aliases,omitempty"`
	// Summary is the record's one-line summary.
	Summary string `json:"summary,omitempty"`
	// Module is the module that was linked (a replacement's path when the
	// module was replaced), [StdlibModule] or [ToolchainModule].
	Module string `json:"module"`
	// Version is the version linked ("v1.25.5" for the standard library).
	Version string `json:"version"`
	// FixedVersion is the earliest version that fixes it; empty when none
	// does yet.
	FixedVersion string `json:"fixed_version,omitempty"`
	// Packages are the affected packages the record names.
	Packages []string `json:"packages,omitempty"`
	// Severity is the record's severity; unknown for the Go database.
	Severity Severity `json:"severity"`
	// URL is the record's report page.
	URL string `json:"url,omitempty"`
	// Suppression says why the finding is suppressed; set only in
	// [AuditReport.Suppressed].
	Suppression *Suppression `json:"suppression,omitempty"`
}

// String returns "ID module@version (severity)".
func (f Finding) String() string {
	return f.ID + " " + f.Module + "@" + f.Version + " (" + string(f.Severity) + ")"
}

// names returns the finding's ID and aliases.
func (f Finding) names() []string { return append([]string{f.ID}, f.Aliases...) }

// An AuditReport is the result of a module-level audit.
type AuditReport struct {
	// Findings are the vulnerabilities that are not suppressed, sorted by
	// module then ID.
	Findings []Finding `json:"findings"`
	// Suppressed are the findings a VEX statement suppressed, each with
	// its [Suppression].
	Suppressed []Finding `json:"suppressed,omitempty"`
	// Modules is how many modules were audited (dependencies, the main
	// module, the standard library).
	Modules int `json:"modules"`
	// Database describes the database: its layout and record count.
	Database string `json:"database"`
	// Warnings counts the records skipped as malformed, in the database
	// and in the VEX documents; Messages holds the first few.
	Warnings int      `json:"warnings"`
	Messages []string `json:"messages,omitempty"`
}

// Above returns the findings whose severity ranks at or above threshold.
func (r *AuditReport) Above(threshold Severity) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity.AtLeast(threshold) {
			out = append(out, f)
		}
	}
	return out
}

// AuditOptions tune [VulnDB.Audit]. The zero value matches what
// `govulncheck -mode binary -scan module` reports for the same binary and
// database.
type AuditOptions struct {
	// VEX are the OpenVEX documents whose not_affected statements
	// suppress findings.
	VEX []*VEX
	// Toolchain also matches the records of the go command
	// ([ToolchainModule]) at the build's Go version. Default: off, as in
	// govulncheck: a vulnerable go command does not make the binary it
	// built vulnerable.
	Toolchain bool
	// GOOS and GOARCH limit platform-specific records. Default: the
	// build's GOOS and GOARCH settings, else the running platform for a
	// build read from the running binary, else every platform.
	GOOS, GOARCH string
	// Now decides whether a withdrawn record is withdrawn yet. Default:
	// time.Now().
	Now time.Time
}

// auditTarget is one module to match.
type auditTarget struct {
	path    string // the module path records list (the original path)
	lookup  string // the path whose records are read (the replacement's)
	version string
}

// Audit matches every module of b (its dependencies, its main module and
// the standard library at its Go version) against db with Go semver
// ranges, and applies o.VEX. Records that cannot be read are skipped and
// counted in the report's Warnings.
//
// The findings are govulncheck's module-level findings: a record matches
// a module when one of its affected entries names the module's path, the
// linked version (a replacement's version when it was replaced) is in a
// SEMVER range, the record is not withdrawn, and at least one of its
// packages is built for the target platform (or it lists none). A
// version of "" or "(devel)" matches nothing: it is not known.
func (db *VulnDB) Audit(b *Build, o AuditOptions) *AuditReport {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	goos, goarch := o.GOOS, o.GOARCH
	if goos == "" {
		goos, _ = b.Setting("GOOS")
	}
	if goarch == "" {
		goarch, _ = b.Setting("GOARCH")
	}
	if b.Path == "" && goos == "" && goarch == "" {
		goos, goarch = runtime.GOOS, runtime.GOARCH
	}

	var targets []auditTarget
	add := func(m Module) {
		t := auditTarget{path: m.Path, lookup: m.Path, version: m.Version}
		if m.Replace != nil {
			t.lookup, t.version = m.Replace.Path, m.Replace.Version
		}
		targets = append(targets, t)
	}
	for _, m := range b.Modules {
		add(m)
	}
	stdVersion := goTagToSemver(b.GoVersion)
	add(Module{Path: StdlibModule, Version: stdVersion})
	if o.Toolchain {
		add(Module{Path: ToolchainModule, Version: stdVersion})
	}
	if b.Main.Path != "" {
		add(b.Main)
	}

	r := &AuditReport{Modules: len(targets), Database: fmt.Sprintf("%s layout, %d records", db.layout, db.records)}
	var skipped []string
	for _, t := range targets {
		if t.version == "" || t.version == "(devel)" {
			continue
		}
		records, bad := db.Lookup(t.lookup)
		skipped = append(skipped, bad...)
		for _, e := range records {
			if f, ok := matchRecord(e, t, goos, goarch, now); ok {
				r.Findings = append(r.Findings, f)
			}
		}
	}
	slices.SortFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(strings.Compare(a.Module, b.Module), strings.Compare(a.ID, b.ID))
	})
	r.Findings = slices.CompactFunc(r.Findings, func(a, b Finding) bool { return a.Module == b.Module && a.ID == b.ID })

	r.Warnings, r.Messages = db.warn.snapshot()
	r.Warnings += len(skipped)
	for _, s := range skipped {
		if len(r.Messages) < maxWarnings {
			r.Messages = append(r.Messages, s)
		}
	}
	for _, v := range o.VEX {
		r.Warnings += v.Skipped
		for _, s := range v.Warnings {
			if len(r.Messages) < maxWarnings {
				r.Messages = append(r.Messages, s)
			}
		}
	}
	if len(o.VEX) > 0 {
		kept := r.Findings[:0:0]
		for _, f := range r.Findings {
			if s := suppression(o.VEX, b, f); s != nil {
				f.Suppression = s
				r.Suppressed = append(r.Suppressed, f)
				continue
			}
			kept = append(kept, f)
		}
		r.Findings = kept
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	return r
}

// matchRecord reports the finding e makes for t, if any.
func matchRecord(e *OSV, t auditTarget, goos, goarch string, now time.Time) (Finding, bool) {
	if e.Withdrawn != nil && e.Withdrawn.Before(now) {
		return Finding{}, false
	}
	var matched []OSVAffected
	var pkgs []string
	for _, a := range e.Affected {
		if a.Package.Name != t.path || !osvAffects(a.Ranges, t.version) {
			continue
		}
		imports := a.EcosystemSpecific.Imports
		n := 0
		for _, p := range imports {
			if platformMatches(goos, p.GOOS) && platformMatches(goarch, p.GOARCH) {
				pkgs = append(pkgs, p.Path)
				n++
			}
		}
		if len(imports) > 0 && n == 0 {
			continue
		}
		matched = append(matched, a)
	}
	if len(matched) == 0 {
		return Finding{}, false
	}
	slices.Sort(pkgs)
	f := Finding{
		ID:           e.ID,
		Aliases:      slices.Clone(e.Aliases),
		Summary:      e.Summary,
		Module:       t.lookup,
		Version:      t.version,
		FixedVersion: earliestFix(t.lookup, t.version, matched),
		Packages:     slices.Compact(pkgs),
		Severity:     severityOf(e),
		URL:          recordURL(e),
	}
	return f, true
}

// platformMatches reports whether s is in list; an empty s or list
// matches everything.
func platformMatches(s string, list []string) bool {
	return s == "" || len(list) == 0 || slices.Contains(list, s)
}

// recordURL returns the record's report page.
func recordURL(e *OSV) string {
	if e.DatabaseSpecific != nil && strings.HasPrefix(e.DatabaseSpecific.URL, "https://") {
		return e.DatabaseSpecific.URL
	}
	if strings.HasPrefix(e.ID, "GO-") {
		return "https://pkg.go.dev/vuln/" + e.ID
	}
	return ""
}

// goTag matches a Go release tag: major.minor, patch, prerelease.
var goTag = regexp.MustCompile(`^go(\d+\.\d+)(\.\d+|)((beta|rc|-pre)(\d+))?$`)

// goTagToSemver turns a Go version ("go1.25.5", "go1.26rc1",
// "go1.25.5 X:boringcrypto") into the semver the database uses for the
// standard library ("v1.25.5", "v1.26.0-rc.1"); "" for a development
// toolchain. It follows govulncheck's conversion.
func goTagToSemver(tag string) string {
	fields := strings.Fields(tag)
	if len(fields) == 0 {
		return ""
	}
	tag = fields[0]
	switch tag {
	case "go1":
		return "v1.0.0"
	case "go1.0":
		return ""
	}
	m := goTag.FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	v := "v" + m[1]
	if m[2] != "" {
		v += m[2]
	} else {
		v += ".0"
	}
	if m[3] != "" {
		if !strings.HasPrefix(m[4], "-") {
			v += "-"
		}
		v += m[4] + "." + m[5]
	}
	return v
}

// FindingFor returns the finding record e makes for module at version:
// its IDs, summary, severity and report URL, and the earliest fix from
// its ranges. It does not check that version is affected; [VulnDB.Audit]
// does. Tools that match elsewhere (govulncheck's symbol-level scan) use
// it to report in the same terms.
func FindingFor(e *OSV, module, version string) Finding {
	var pkgs []string
	for _, a := range e.Affected {
		if a.Package.Name == module {
			for _, p := range a.EcosystemSpecific.Imports {
				pkgs = append(pkgs, p.Path)
			}
		}
	}
	slices.Sort(pkgs)
	return Finding{
		ID: e.ID, Aliases: slices.Clone(e.Aliases), Summary: e.Summary,
		Module: module, Version: version, FixedVersion: earliestFix(module, version, e.Affected),
		Packages: slices.Compact(pkgs), Severity: severityOf(e), URL: recordURL(e),
	}
}

// Suppress returns the suppression of f, a finding in build b, by the
// latest matching statement of docs (see [AuditOptions.VEX]), or nil.
func Suppress(docs []*VEX, b *Build, f Finding) *Suppression { return suppression(docs, b, f) }
