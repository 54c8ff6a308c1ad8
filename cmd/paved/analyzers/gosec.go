package analyzers

import (
	"regexp"
	"strconv"

	"github.com/securego/gosec/v2/goanalysis"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
)

// GosecExcluded lists the gosec rules paved replaces with its own, less
// noisy ones: G101 (any long string near a credential word; PAV107 asks
// gitleaks), G402 (TLS configs that rely on Go's safe defaults; PAV102
// judges by the go line) and G404 (every math/rand call; PAV105 looks at
// where the value goes).
const GosecExcluded = "G101,G402,G404"

func init() {
	// The wrapped analyzer's flags are its own; set paved's exclusions
	// as their default (a -gosec.exclude flag still overrides them).
	if f := goanalysis.Analyzer.Flags.Lookup("exclude"); f != nil {
		_ = f.Value.Set(GosecExcluded)
		f.DefValue = GosecExcluded
	}
}

// Gosec runs gosec's own go/analysis analyzer and applies //paved:allow
// (as well as gosec's #nosec) to its findings; its category is gosec's
// rule ID (G304...).
var Gosec = &analysis.Analyzer{
	Name:     "gosec",
	Doc:      goanalysis.Doc + " (paved runs it with " + GosecExcluded + " replaced by its own rules and honours //paved:allow)",
	URL:      "https://github.com/securego/gosec",
	Run:      runGosec,
	Requires: []*analysis.Analyzer{buildssa.Analyzer, Allow},
	Flags:    goanalysis.Analyzer.Flags,
}

func runGosec(pass *analysis.Pass) (any, error) {
	x := index(pass)
	inner := *pass
	inner.Report = func(d analysis.Diagnostic) {
		if x.Suppressed(d.Pos, d.Category) || x.Generated(d.Pos) {
			return
		}
		pass.Report(d)
	}
	return goanalysis.Analyzer.Run(&inner)
}

var gosecMeta = regexp.MustCompile(`^(G\d+): (?:\[CWE-(\d+)\] )?.*\(Severity: (\w+), Confidence: (\w+)\)`)

// GosecMeta parses a gosec diagnostic message: rule ID, CWE (0 when
// none), severity and confidence.
func GosecMeta(msg string) (id string, cwe int, sev Severity, confidence string, ok bool) {
	m := gosecMeta.FindStringSubmatch(msg)
	if m == nil {
		return "", 0, 0, "", false
	}
	cwe, _ = strconv.Atoi(m[2])
	sev, _ = ParseSeverity(m[3])
	return m[1], cwe, sev, m[4], true
}
