package analyzers

import (
	"go/ast"
	"go/token"
	"reflect"
	"strings"
	"unicode"

	"golang.org/x/tools/go/analysis"
)

// allowPrefix starts a suppression comment.
const allowPrefix = "//paved:allow"

// A Directive is one parsed //paved:allow comment.
type Directive struct {
	Rules  []string // rule IDs, upper-cased: PAV105, G304
	Reason string   // trimmed free text after the rule IDs
}

// Valid reports whether d names a rule and gives an acceptable reason.
func (d Directive) Valid() bool { return len(d.Rules) > 0 && ReasonOK(d.Reason) }

// Covers reports whether d names rule.
func (d Directive) Covers(rule string) bool {
	for _, r := range d.Rules {
		if r == rule {
			return true
		}
	}
	return false
}

// ParseAllow parses the text of one comment. ok is false when the comment
// is not a //paved:allow directive at all; a directive with no rule or
// no reason parses with ok true and fails [Directive.Valid].
func ParseAllow(comment string) (d Directive, ok bool) {
	rest, found := strings.CutPrefix(comment, allowPrefix)
	if !found {
		return Directive{}, false
	}
	if rest != "" && !unicode.IsSpace(rune(rest[0])) {
		return Directive{}, false // //paved:allowed, //paved:allowX
	}
	rest = strings.TrimSpace(rest)
	ids, reason := rest, ""
	if i := strings.IndexFunc(rest, unicode.IsSpace); i >= 0 {
		ids, reason = rest[:i], rest[i:]
	}
	for _, id := range strings.Split(ids, ",") {
		id = strings.ToUpper(strings.TrimSpace(id))
		if id != "" && isRuleID(id) {
			d.Rules = append(d.Rules, id)
		}
	}
	d.Reason = strings.TrimSpace(reason)
	return d, true
}

// isRuleID accepts PAV123 and gosec's G123.
func isRuleID(s string) bool {
	p := strings.TrimLeftFunc(s, unicode.IsLetter)
	if p == "" || len(s)-len(p) > 4 {
		return false
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// placeholders are reasons that say nothing.
var placeholders = map[string]bool{
	"": true, "x": true, "xx": true, "xxx": true, "todo": true, "tbd": true, "fixme": true,
	"n/a": true, "na": true, "none": true, "test": true, "testing": true, "reason": true,
	"temp": true, "temporary": true, "wip": true, "later": true, "ok": true, "fine": true,
	"because": true, "needed": true, "required": true, "-": true, "...": true, "?": true,
}

// ReasonOK reports whether reason reads like a sentence: not a
// placeholder, at least three words and twelve letters.
func ReasonOK(reason string) bool {
	r := strings.ToLower(strings.TrimSpace(reason))
	if placeholders[strings.Trim(r, ".!: ")] {
		return false
	}
	words := strings.Fields(r)
	if len(words) < 3 {
		return false
	}
	letters := 0
	for _, c := range r {
		if unicode.IsLetter(c) {
			letters++
		}
	}
	return letters >= 12
}

// An Index maps the file lines of one package to their directives.
type Index struct {
	fset  *token.FileSet
	lines map[string]map[int][]Directive // filename → line → directives
	// trailing holds the lines whose directives follow code on the same
	// line: they cover that line only, not the statement below.
	trailing map[string]map[int]bool
	gen      map[*token.File]bool
}

// Suppressed reports whether a valid directive on pos's line or the line
// above names rule.
func (x *Index) Suppressed(pos token.Pos, rule string) bool {
	if x == nil || !pos.IsValid() {
		return false
	}
	p := x.fset.Position(pos)
	byLine := x.lines[p.Filename]
	for _, l := range []int{p.Line, p.Line - 1} {
		if l != p.Line && x.trailing[p.Filename][l] {
			continue
		}
		for _, d := range byLine[l] {
			if d.Valid() && d.Covers(rule) {
				return true
			}
		}
	}
	return false
}

// Generated reports whether pos is in a generated file (skipped by every
// paved analyzer).
func (x *Index) Generated(pos token.Pos) bool {
	if x == nil {
		return false
	}
	return x.gen[x.fset.File(pos)]
}

// Allow parses the package's //paved:allow comments for the other
// analyzers and reports those without a rule or a reason (PAV001).
var Allow = &analysis.Analyzer{
	Name:       "pavedallow",
	Doc:        "parse //paved:allow RULE reason comments; report those without a rule or a reason (PAV001)",
	URL:        "https://github.com/pavedroad/paved/tree/main/cmd/paved/analyzers",
	Run:        runAllow,
	ResultType: reflect.TypeOf((*Index)(nil)),
}

func runAllow(pass *analysis.Pass) (any, error) {
	x := &Index{fset: pass.Fset, lines: map[string]map[int][]Directive{}, trailing: map[string]map[int]bool{}, gen: map[*token.File]bool{}}
	for _, f := range pass.Files {
		tf := pass.Fset.File(f.Pos())
		if ast.IsGenerated(f) {
			x.gen[tf] = true
			continue
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				d, ok := ParseAllow(c.Text)
				if !ok {
					continue
				}
				p := pass.Fset.Position(c.Pos())
				if x.lines[p.Filename] == nil {
					x.lines[p.Filename] = map[int][]Directive{}
				}
				x.lines[p.Filename][p.Line] = append(x.lines[p.Filename][p.Line], d)
				if codeBefore(f, tf, c) {
					if x.trailing[p.Filename] == nil {
						x.trailing[p.Filename] = map[int]bool{}
					}
					x.trailing[p.Filename][p.Line] = true
				}
				if !d.Valid() {
					what := "a reason of three words or more"
					if len(d.Rules) == 0 {
						what = "a rule ID (PAV105, G304) and a reason"
					}
					report(pass, nil, c.Pos(), RuleAllowNoReason, "//paved:allow needs "+what+"; it suppresses nothing")
				}
			}
		}
	}
	return x, nil
}

// report emits a finding for rule at pos unless a directive suppresses it.
func report(pass *analysis.Pass, x *Index, pos token.Pos, rule, msg string) {
	if x.Suppressed(pos, rule) || x.Generated(pos) {
		return
	}
	r := mustRule(rule)
	pass.Report(analysis.Diagnostic{Pos: pos, Category: rule, Message: rule + ": " + msg + " (fix: " + r.Fix + ")"})
}

// index returns the Allow result of pass.
func index(pass *analysis.Pass) *Index { return pass.ResultOf[Allow].(*Index) }

// codeBefore reports whether code precedes c on its line (a trailing
// comment), which a node of f that starts or ends there before c shows.
func codeBefore(f *ast.File, tf *token.File, c *ast.Comment) bool {
	line := tf.Line(c.Pos())
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		if found || n == nil {
			return false
		}
		switch n.(type) {
		case *ast.CommentGroup, *ast.Comment:
			return false
		}
		if n.Pos() > c.Pos() || tf.Line(n.End()) < line {
			return false // wholly after c, or ends on an earlier line
		}
		for _, p := range []token.Pos{n.Pos(), n.End()} {
			if p < c.Pos() && tf.Line(p) == line {
				found = true
			}
		}
		return !found
	})
	return found
}
