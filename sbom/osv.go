package sbom

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"
)

// Module paths the Go vulnerability database uses for Go itself.
const (
	// StdlibModule is the module path under which the Go vulnerability
	// database lists the standard library; its version is the toolchain's
	// ("go1.25.5" is v1.25.5).
	StdlibModule = "stdlib"
	// ToolchainModule is the module path under which the database lists
	// the go command and the rest of the toolchain.
	ToolchainModule = "toolchain"
)

// An OSV is one vulnerability record in the OSV format
// (https://ossf.github.io/osv-schema/) as the Go vulnerability database
// writes it. Only the fields an audit reads are kept.
//
// The database's Modified and Published dates are not used: in the
// golang.org/x/vulndb module they are zeroed.
type OSV struct {
	SchemaVersion string `json:"schema_version,omitempty"`
	ID            string `json:"id"`
	// Withdrawn is set when the record was retracted; a withdrawn record
	// matches nothing.
	Withdrawn *time.Time    `json:"withdrawn,omitempty"`
	Aliases   []string      `json:"aliases,omitempty"`
	Summary   string        `json:"summary,omitempty"`
	Details   string        `json:"details,omitempty"`
	Affected  []OSVAffected `json:"affected"`
	// Severity holds CVSS vectors where a database supplies them (the Go
	// database does not).
	Severity         []OSVSeverity       `json:"severity,omitempty"`
	References       []OSVReference      `json:"references,omitempty"`
	DatabaseSpecific *OSVDatabaseDetails `json:"database_specific,omitempty"`
}

// OSVAffected is one module an [OSV] affects and the versions affected.
type OSVAffected struct {
	Package           OSVPackage           `json:"package"`
	Ranges            []OSVRange           `json:"ranges,omitempty"`
	EcosystemSpecific OSVEcosystemSpecific `json:"ecosystem_specific"`
}

// OSVPackage names the affected module: Name is its module path
// ("golang.org/x/net", [StdlibModule], [ToolchainModule]).
type OSVPackage struct {
	Name      string `json:"name"`
	Ecosystem string `json:"ecosystem"`
}

// OSVRange is a range of affected versions. Only SEMVER ranges are
// matched, as govulncheck does.
type OSVRange struct {
	Type   string          `json:"type"`
	Events []OSVRangeEvent `json:"events"`
}

// OSVRangeEvent opens (Introduced, "0" for the beginning of time) or
// closes (Fixed, the first version not affected; LastAffected, the last
// version affected) a range of affected versions. Versions carry no "v".
// The Go vulnerability database writes only Introduced and Fixed;
// LastAffected is read for records from other OSV databases.
type OSVRangeEvent struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
}

// OSVEcosystemSpecific holds the affected packages and symbols.
type OSVEcosystemSpecific struct {
	Imports []OSVImport `json:"imports,omitempty"`
}

// OSVImport is one affected package, with the platforms and symbols the
// vulnerability is limited to (none listed means all).
type OSVImport struct {
	Path    string   `json:"path,omitempty"`
	GOOS    []string `json:"goos,omitempty"`
	GOARCH  []string `json:"goarch,omitempty"`
	Symbols []string `json:"symbols,omitempty"`
}

// OSVSeverity is a severity score, such as a CVSS vector.
type OSVSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// OSVReference is a link about the vulnerability.
type OSVReference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// OSVDatabaseDetails holds the database's own fields: the Go database's
// report URL and review status; GitHub's qualitative severity.
type OSVDatabaseDetails struct {
	URL          string `json:"url,omitempty"`
	ReviewStatus string `json:"review_status,omitempty"`
	Severity     string `json:"severity,omitempty"`
}

// osvSemver makes an OSV or Go version comparable with x/mod/semver:
// "1.2.3", "v1.2.3" and "go1.2.3" all become "v1.2.3", as govulncheck
// reads them.
func osvSemver(v string) string {
	v = strings.TrimPrefix(v, "v")
	v = strings.TrimPrefix(v, "go")
	return "v" + v
}

// osvLess reports a < b in semver order; an invalid version sorts before
// every valid one (x/mod/semver's rule).
func osvLess(a, b string) bool { return semver.Compare(osvSemver(a), osvSemver(b)) < 0 }

// Contains reports whether version (with or without a "v" prefix) lies in
// the range: a SEMVER range is a union of intervals [introduced, fixed)
// or [introduced, last_affected], "0" meaning the beginning of time, and
// a range without events covers every version. A range of another type
// contains nothing.
//
// Events are read in version order whatever their order in the record,
// which is how govulncheck reads them. last_affected closes an interval
// as the OSV schema says (govulncheck, whose database never writes it,
// ignores it and so reports every later version); limit, which the schema
// defines for GIT ranges only, is ignored.
func (r OSVRange) Contains(version string) bool {
	if r.Type != "SEMVER" {
		return false
	}
	if len(r.Events) == 0 {
		return true
	}
	events := r.Events
	if !slices.IsSortedFunc(events, compareOSVEvents) {
		events = slices.Clone(events)
		slices.SortStableFunc(events, compareOSVEvents)
	}
	affected := false
	for _, e := range events {
		switch {
		case !affected && e.Introduced != "":
			affected = e.Introduced == "0" || !osvLess(version, e.Introduced)
		case affected && e.Fixed != "":
			affected = osvLess(version, e.Fixed)
		case affected && e.LastAffected != "":
			affected = !osvLess(e.LastAffected, version)
		}
	}
	return affected
}

// compareOSVEvents orders events by version, an introduced "0" first.
func compareOSVEvents(a, b OSVRangeEvent) int {
	az, bz := a.Introduced == "0", b.Introduced == "0"
	switch {
	case az && bz:
		return 0
	case az:
		return -1
	case bz:
		return 1
	}
	return semver.Compare(osvSemver(cmp.Or(a.Fixed, a.LastAffected, a.Introduced)), osvSemver(cmp.Or(b.Fixed, b.LastAffected, b.Introduced)))
}

// osvAffects reports whether version is in any SEMVER range of ranges. No
// ranges, or no SEMVER range among them, means every version is affected
// (govulncheck's reading).
func osvAffects(ranges []OSVRange, version string) bool {
	semverSeen := false
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		semverSeen = true
		if r.Contains(version) {
			return true
		}
	}
	return !semverSeen
}

// earliestFix returns the smallest fixed version above version, among
// the affected entries for module, that is not itself affected again; ""
// when there is none. The result carries a "v" prefix.
func earliestFix(module, version string, affected []OSVAffected) string {
	var fixes []string
	for _, a := range affected {
		if a.Package.Name != module {
			continue
		}
		for _, r := range a.Ranges {
			if r.Type != "SEMVER" {
				continue
			}
			for _, e := range r.Events {
				if e.Fixed != "" && osvLess(version, e.Fixed) {
					fixes = append(fixes, e.Fixed)
				}
			}
		}
	}
	slices.SortStableFunc(fixes, func(a, b string) int { return semver.Compare(osvSemver(a), osvSemver(b)) })
next:
	for _, fix := range fixes {
		for _, a := range affected {
			if a.Package.Name != module {
				continue
			}
			for _, r := range a.Ranges {
				if r.Contains(fix) {
					continue next
				}
			}
		}
		return osvSemver(fix)
	}
	return ""
}

// validate reports the first structural fault of an OSV record: no ID, no
// affected module, a SEMVER event with an invalid version.
func (e *OSV) validate() string {
	if e.ID == "" {
		return "no id"
	}
	if len(e.Affected) == 0 {
		return "no affected module"
	}
	for _, a := range e.Affected {
		if a.Package.Name == "" {
			return "an affected entry names no module"
		}
		for _, r := range a.Ranges {
			if r.Type != "SEMVER" {
				continue
			}
			for _, ev := range r.Events {
				if ev.Introduced != "" && ev.Introduced != "0" && !semver.IsValid(osvSemver(ev.Introduced)) {
					return "invalid introduced version " + quoteShort(ev.Introduced)
				}
				if ev.Fixed != "" && !semver.IsValid(osvSemver(ev.Fixed)) {
					return "invalid fixed version " + quoteShort(ev.Fixed)
				}
				if ev.LastAffected != "" && !semver.IsValid(osvSemver(ev.LastAffected)) {
					return "invalid last_affected version " + quoteShort(ev.LastAffected)
				}
			}
		}
	}
	return ""
}

// quoteShort quotes s, cut to 64 bytes, for a warning.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}
