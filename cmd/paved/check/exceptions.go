package check

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// An Exception waives one rule for the files matching Path (a glob, as
// path.Match; "" or "*" for all) or, inline, for one document. Rule is
// one rule ID or a family ("K8S-PSS-*": a prefix with a "-", then "*");
// a bare "*" is refused, so that no entry waives every rule by accident.
type Exception struct {
	Rule   string `yaml:"rule" json:"rule"`
	Path   string `yaml:"path" json:"path,omitempty"`
	Object string `yaml:"object" json:"object,omitempty"`
	Reason string `yaml:"reason" json:"reason"`
	// Source is the exceptions file, or "inline".
	Source string `yaml:"-" json:"source"`
	// Line is the line of the inline comment.
	Line int `yaml:"-" json:"line,omitempty"`
}

// LoadExceptions reads an exceptions file:
//
//	exceptions:
//	  - rule: K8S-LATEST-TAG
//	    path: deploy/dev/*.yaml   # matches the path's trailing parts
//	    object: Deployment/scratch   # optional
//	    reason: dev-only image, rebuilt on every push
//
// An entry without a reason is kept (and reported as a finding, never
// applied); one without a rule is an error.
func LoadExceptions(name string) ([]Exception, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var f struct {
		Exceptions []Exception `yaml:"exceptions"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for i := range f.Exceptions {
		e := &f.Exceptions[i]
		e.Source = name
		e.Reason = strings.TrimSpace(e.Reason)
		if e.Rule == "" {
			return nil, fmt.Errorf("%s: exception %d names no rule", name, i+1)
		}
		if !validRulePattern(e.Rule) {
			return nil, fmt.Errorf("%s: exception %d: rule %q: name one rule or a family (\"K8S-PSS-*\"); a bare \"*\" would waive every rule", name, i+1, e.Rule)
		}
		if e.Path != "" {
			if _, err := path.Match(e.Path, "x"); err != nil {
				return nil, fmt.Errorf("%s: exception %d: bad path pattern %q: %w", name, i+1, e.Path, err)
			}
		}
	}
	return f.Exceptions, nil
}

// inlineRe matches "paved:allow RULE reason..." in a comment.
var inlineRe = regexp.MustCompile(`(?:#|//)\s*paved:allow\s+([A-Za-z0-9_.*-]+)[ \t]*(.*)$`)

// inlineAllows finds the inline exceptions of a file. In YAML one applies
// to the document it is written in; elsewhere to the whole file.
func inlineAllows(kind string, src []byte) []Exception {
	if !bytes.Contains(src, []byte("paved:allow")) {
		return nil
	}
	var out []Exception
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		m := inlineRe.FindSubmatch(sc.Bytes())
		if m == nil {
			continue
		}
		out = append(out, Exception{Rule: string(m[1]), Reason: strings.TrimSpace(string(m[2])), Source: "inline", Line: line})
	}
	return out
}

// applyExceptions marks f as an opt-out when an exception with a reason
// covers it.
func (c *Checker) applyExceptions(f *Finding, d Document, inline []Exception, seps []int) {
	for _, a := range inline {
		if a.Reason == "" || !ruleMatch(a.Rule, f.Rule) {
			continue
		}
		if region(seps, a.Line) != region(seps, d.Line) {
			continue
		}
		f.Exception, f.ExceptionSource = a.Reason, fmt.Sprintf("inline (line %d)", a.Line)
		return
	}
	for _, e := range c.opts.Exceptions {
		if e.Reason == "" || !ruleMatch(e.Rule, f.Rule) {
			continue
		}
		if e.Path != "" && e.Path != "*" {
			if !pathMatch(e.Path, f.File) {
				continue
			}
		}
		if e.Object != "" && e.Object != f.Object {
			continue
		}
		f.Exception, f.ExceptionSource = e.Reason, e.Source
		return
	}
}

// pathMatch reports whether pattern (path.Match syntax) matches file or
// one of its trailing parts: "deploy/*.yaml" matches
// "/src/repo/deploy/app.yaml", whatever directory paved check ran from.
func pathMatch(pattern, file string) bool {
	for {
		if ok, _ := path.Match(pattern, file); ok {
			return true
		}
		i := strings.IndexByte(file, '/')
		if i < 0 {
			return false
		}
		file = file[i+1:]
	}
}

// validRulePattern reports whether an exception's rule is one rule ID or
// a family: a prefix with at least one "-" then one trailing "*"
// ("K8S-PSS-*"). A bare "*" (or "K*") is refused: it would waive every
// rule, those added later included.
func validRulePattern(p string) bool {
	i := strings.IndexByte(p, '*')
	if i < 0 {
		return p != ""
	}
	return i == len(p)-1 && strings.Contains(p[:i], "-")
}

func ruleMatch(pattern, id string) bool {
	if !validRulePattern(pattern) {
		return false
	}
	if pattern == id {
		return true
	}
	if strings.HasSuffix(pattern, "*") {
		return strings.HasPrefix(id, strings.TrimSuffix(pattern, "*"))
	}
	return false
}

// ExceptionFindings returns a finding for each entry of the exceptions
// file that gives no reason.
func (c *Checker) ExceptionFindings() []Finding {
	var out []Finding
	for _, e := range c.opts.Exceptions {
		if e.Reason == "" {
			out = append(out, Finding{Rule: RuleExceptionNoReason, Severity: "high", File: e.Source,
				Message: fmt.Sprintf("exception for %s (path %q) gives no reason: an exception must say why", e.Rule, e.Path)})
		}
	}
	return out
}

// yamlSeparators returns the lines of a YAML stream's "---" document
// separators.
func yamlSeparators(src []byte) []int {
	var out []int
	line := 1
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		l := src
		if i >= 0 {
			l = src[:i]
		}
		if bytes.HasPrefix(l, []byte("---")) {
			out = append(out, line)
		}
		if i < 0 {
			break
		}
		src = src[i+1:]
		line++
	}
	return out
}

// region returns the number of separators before line.
func region(seps []int, line int) int {
	n := 0
	for _, s := range seps {
		if s < line {
			n++
		}
	}
	return n
}
