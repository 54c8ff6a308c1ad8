package check

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/policy"
)

// Rules is the built-in rule pack: Rego modules, their Rego tests and
// data.json, whose paved_rules list the metadata of every rule.
//
//go:embed rules
var Rules embed.FS

// Kinds of documents.
const (
	KindKubernetes    = "kubernetes"
	KindDockerfile    = "dockerfile"
	KindGitHubActions = "github-actions"
	KindTerraform     = "terraform"
)

// Severities, lowest first.
var Severities = []string{"low", "medium", "high", "critical"}

// SeverityRank returns the rank of s in Severities, or -1.
func SeverityRank(s string) int {
	for i, x := range Severities {
		if x == s {
			return i
		}
	}
	return -1
}

// Rule describes one rule of a pack.
type Rule struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Severity  string `json:"severity"`
	Kind      string `json:"kind"`
	Rationale string `json:"rationale"`
	Fix       string `json:"fix"`
}

// A Finding is one rule broken by one document.
type Finding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	// Object names the document ("Deployment/web", "aws_s3_bucket.logs").
	Object string `json:"object,omitempty"`
	// Exception is the reason given for an exception that covers the
	// finding; a finding with one is an opt-out, not a failure.
	Exception string `json:"exception,omitempty"`
	// ExceptionSource is where it was given ("inline", or the file).
	ExceptionSource string `json:"exception_source,omitempty"`
}

// A FileError is a file that could not be judged: it did not parse, or a
// rule failed on it. Such a file counts as failed.
type FileError struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Err  string `json:"error"`
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Err)
	}
	return e.File + ": " + e.Err
}

// FileResult is what one file gave.
type FileResult struct {
	File      string
	Kind      string
	Documents int
	Findings  []Finding
	Errors    []FileError
}

// Options configure a [Checker].
type Options struct {
	// NoBuiltin leaves the built-in rule pack out.
	NoBuiltin bool
	// PolicyDirs are directories of Rego (and data) added beside the pack:
	// rules in packages under paved.rules (deny sets of {"rule", "msg",
	// "severity"?, "path"? or "line"?, "object"?}), conftest-style package main
	// rules, and a data.json whose paved_rules give their metadata. To
	// replace the pack, set NoBuiltin and copy the parts to keep.
	PolicyDirs []string
	// Exceptions are the exceptions file's entries.
	Exceptions []Exception
	// Workers is the number of files judged at once; GOMAXPROCS when 0.
	Workers int
	// MaxFileBytes bounds a file; 16 MiB when 0.
	MaxFileBytes int64
	// MaxYAMLNodes bounds the values one YAML document expands to
	// (aliases included); 1,000,000 when 0.
	MaxYAMLNodes int
	// Timeout bounds each document's evaluation; 10s when 0.
	Timeout time.Duration
}

// A Checker judges files. It is safe for concurrent use.
type Checker struct {
	opts  Options
	eng   *policy.Engine
	q     *policy.Query
	rules map[string]Rule
}

// ErrNoRules is returned by [New] when no rule module is loaded: the
// built-in pack left out and no Rego in the policy directories in a
// package the decision reads (paved.rules.* or conftest's main). A run
// that judged with none would pass every file.
var ErrNoRules = errors.New("no Rego rules loaded (no module in package paved.rules.* or main, with --no-builtin): refusing to pass every file")

// packageRe finds a Rego module's package.
var packageRe = regexp.MustCompile(`(?m)^\s*package\s+([A-Za-z0-9_.]+)`)

const decisionPath = "data.paved.check.decision"

//go:embed main.rego
var mainRego []byte

// New compiles the rule pack and the policy directories once.
func New(ctx context.Context, opts Options) (*Checker, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = 16 << 20
	}
	if opts.MaxYAMLNodes <= 0 {
		opts.MaxYAMLNodes = 1_000_000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	mfs := fstest.MapFS{"paved/check/main.rego": {Data: mainRego}}
	rules := map[string]Rule{}
	modules := 0
	add := func(src fs.FS, prefix string) error {
		return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != "." && strings.HasPrefix(d.Name(), ".") {
					return fs.SkipDir
				}
				return nil
			}
			name := d.Name()
			if strings.HasSuffix(name, "_test.rego") {
				return nil // tests run under policytest, not in the decision
			}
			b, err := fs.ReadFile(src, p)
			if err != nil {
				return err
			}
			switch {
			case name == "data.json":
				var meta struct {
					Rules []Rule `json:"paved_rules"`
				}
				if err := json.Unmarshal(b, &meta); err != nil {
					return fmt.Errorf("%s: %w", path.Join(prefix, p), err)
				}
				for _, r := range meta.Rules {
					rules[r.ID] = r
				}
				mfs[dataPath(prefix, p)] = &fstest.MapFile{Data: b}
			case strings.HasSuffix(name, ".rego"):
				mfs[path.Join("p", prefix, p)] = &fstest.MapFile{Data: b}
				if m := packageRe.FindSubmatch(b); m != nil && (string(m[1]) == "main" || strings.HasPrefix(string(m[1]), "paved.rules.")) {
					modules++
				}
			case name == "data.yaml":
				mfs[dataPath(prefix, p)] = &fstest.MapFile{Data: b}
			}
			return nil
		})
	}
	if !opts.NoBuiltin {
		sub, _ := fs.Sub(Rules, "rules")
		if err := add(sub, "builtin"); err != nil {
			return nil, err
		}
	}
	for i, d := range opts.PolicyDirs {
		if err := add(os.DirFS(d), fmt.Sprintf("org%d", i)); err != nil {
			return nil, fmt.Errorf("--policy %s: %w", d, err)
		}
	}
	if modules == 0 {
		// With no rule at all every file would pass: refuse instead.
		return nil, ErrNoRules
	}
	eng, err := policy.New(ctx, policy.Config{
		Name:          "paved-check",
		FS:            mfs,
		Timeout:       opts.Timeout,
		MaxInputDepth: 200,
		MaxInputNodes: 10_000_000,
		MaxInputBytes: 1 << 30,
		Logger:        slog.New(slog.DiscardHandler),
		Posture:       &paved.Posture{},
		Events:        paved.NopSink{},
	})
	if err != nil {
		return nil, err
	}
	return &Checker{opts: opts, eng: eng, q: eng.Query(decisionPath), rules: rules}, nil
}

// dataPath places a data file: the pack's under data.paved.meta, an
// organisation's where its directory puts it (a data file's directory is
// its path under data).
func dataPath(prefix, p string) string {
	if prefix == "builtin" {
		return path.Join("paved/meta", p)
	}
	return p
}

// RuleList returns the metadata of the loaded rules, sorted by ID.
func (c *Checker) RuleList() []Rule {
	out := make([]Rule, 0, len(c.rules))
	for _, r := range c.rules {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Rule returns the metadata of rule id.
func (c *Checker) Rule(id string) (Rule, bool) { r, ok := c.rules[id]; return r, ok }

// Run judges every file found under paths, several at once, and calls
// emit with each file's result, one call at a time, in no set order.
// Directories are walked (hidden ones other than .github skipped);
// symbolic links are followed, each directory once.
func (c *Checker) Run(ctx context.Context, paths []string, emit func(FileResult)) error {
	files := make(chan string, 64)
	results := make(chan FileResult, 64)
	var wg sync.WaitGroup
	for range c.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range files {
				results <- c.File(ctx, f)
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		for r := range results {
			emit(r)
		}
		close(done)
	}()
	walkErr := walk(ctx, paths, func(p string) { files <- p }, func(p string, err error) {
		results <- FileResult{File: p, Errors: []FileError{{File: p, Err: err.Error()}}}
	})
	close(files)
	wg.Wait()
	close(results)
	<-done
	return walkErr
}

// File judges one file.
func (c *Checker) File(ctx context.Context, name string) FileResult {
	res := FileResult{File: filepath.ToSlash(name), Kind: Detect(name)}
	fail := func(line int, err error) FileResult {
		var pe *ParseError
		if errors.As(err, &pe) {
			line = pe.Line
			err = pe.Err
		}
		res.Errors = append(res.Errors, FileError{File: res.File, Line: line, Err: err.Error()})
		return res
	}
	if res.Kind == "" {
		return fail(0, errors.New("not a file paved check reads (Kubernetes YAML or JSON, Terraform .tf or plan JSON, Dockerfile, .github/workflows/*.yml)"))
	}
	st, err := os.Stat(name)
	if err != nil {
		return fail(0, err)
	}
	if st.Size() > c.opts.MaxFileBytes {
		return fail(0, fmt.Errorf("%d bytes, more than the %d bytes allowed (--max-file-size)", st.Size(), c.opts.MaxFileBytes))
	}
	src, err := readAtMost(name, c.opts.MaxFileBytes)
	if err != nil {
		return fail(0, err)
	}
	docs, err := Parse(res.Kind, res.File, src, c.opts.MaxYAMLNodes)
	if err != nil && len(docs) == 0 {
		return fail(0, err)
	}
	if err != nil {
		fail(0, err)
	}
	allows := inlineAllows(res.Kind, src)
	var seps []int
	if len(allows) > 0 && (res.Kind == KindKubernetes || res.Kind == KindGitHubActions) {
		seps = yamlSeparators(src)
	}
	for _, d := range docs {
		res.Documents++
		fs, ferr := c.judge(ctx, res.File, d)
		if ferr != nil {
			res.Errors = append(res.Errors, *ferr)
			continue
		}
		for _, f := range fs {
			c.applyExceptions(&f, d, allows, seps)
			res.Findings = append(res.Findings, f)
		}
	}
	for _, a := range allows {
		if !validRulePattern(a.Rule) {
			res.Findings = append(res.Findings, Finding{Rule: RuleExceptionNoReason, Severity: "high", File: res.File, Line: a.Line,
				Message: fmt.Sprintf("paved:allow %s waives nothing: name one rule or a family such as K8S-PSS-*", a.Rule)})
			continue
		}
		if a.Reason == "" {
			res.Findings = append(res.Findings, Finding{Rule: RuleExceptionNoReason, Severity: "high", File: res.File, Line: a.Line,
				Message: fmt.Sprintf("paved:allow %s gives no reason: an exception must say why", a.Rule)})
		}
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Rule < b.Rule
	})
	return res
}

// RuleExceptionNoReason is the finding for an exception without a reason.
const RuleExceptionNoReason = "PAVED-EXC-001"

// judge evaluates one document.
func (c *Checker) judge(ctx context.Context, file string, d Document) ([]Finding, *FileError) {
	dec, err := c.q.Decide(ctx, d.Input)
	if err != nil {
		return nil, &FileError{File: file, Line: d.Line, Err: "policy: " + err.Error()}
	}
	raw, _ := dec.Obligations["findings"].([]any)
	out := make([]Finding, 0, len(raw))
	for _, x := range raw {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, &FileError{File: file, Line: d.Line, Err: fmt.Sprintf("policy: a finding is %T, not an object", x)}
		}
		f := Finding{File: file, Line: d.Line, Object: d.Object}
		f.Rule, _ = m["rule"].(string)
		f.Message, _ = m["msg"].(string)
		f.Severity, _ = m["severity"].(string)
		if o, ok := m["object"].(string); ok && o != "" {
			f.Object = o // a resource of a Terraform module, say
		}
		if p, ok := m["path"].([]any); ok && d.Locate != nil {
			if l := d.Locate(p); l > 0 {
				f.Line = l
			}
		}
		if l, ok := m["line"].(json.Number); ok {
			if n, err := l.Int64(); err == nil && n > 0 {
				f.Line = int(n)
			}
		} else if l, ok := m["line"].(float64); ok && l > 0 {
			f.Line = int(l)
		}
		if r, ok := c.rules[f.Rule]; ok && f.Severity == "" {
			f.Severity = r.Severity
		}
		if SeverityRank(f.Severity) < 0 {
			f.Severity = "medium"
		}
		if f.Rule == "" {
			f.Rule = "UNNAMED"
		}
		out = append(out, f)
	}
	return out, nil
}

// readAtMost reads file name, refusing one that holds more than max
// bytes (one that grew after it was measured, say).
func readAtMost(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to flush
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("more than the %d bytes allowed (--max-file-size)", max)
	}
	return b, nil
}
