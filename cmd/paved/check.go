package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pavedroad/paved/cmd/paved/check"
)

func init() {
	register(command{name: "check", summary: "policy as code on Kubernetes, Dockerfiles, GitHub Actions and Terraform", run: runCheck})
}

// checkReport is everything one `paved check` run found.
type checkReport struct {
	Files    int               `json:"files"`
	Docs     int               `json:"documents"`
	Findings []check.Finding   `json:"findings"`
	OptOuts  []check.Finding   `json:"opt_outs"`
	Errors   []check.FileError `json:"errors"`
	Passed   []string          `json:"-"`
	Rules    []check.Rule      `json:"-"`
	Duration time.Duration     `json:"-"`
}

func runCheck(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "check", "[flags] PATH...")
	format := fs.String("format", "text", "output: text, json, sarif or junit")
	failOn := fs.String("fail-on", "low", "exit 1 when a finding is at or above this severity: low, medium, high, critical, or none")
	var policies multiFlag
	fs.Var(&policies, "policy", "a directory of Rego (and data) added beside the built-in pack; repeatable")
	noBuiltin := fs.Bool("no-builtin", false, "leave the built-in rule pack out (only --policy rules)")
	exceptions := fs.String("exceptions", "", "an exceptions file (YAML: exceptions: [{rule, path, object, reason}])")
	workers := fs.Int("workers", 0, "files judged at once (0: one per CPU)")
	maxFile := fs.Int64("max-file-size", 16<<20, "refuse files larger than this many bytes")
	listRules := fs.Bool("list-rules", false, "list the rules and exit")
	var paths []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return exitOK
			}
			return exitError
		}
		if fs.NArg() == 0 {
			break
		}
		paths = append(paths, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if !slices.Contains([]string{"text", "json", "sarif", "junit"}, *format) {
		fmt.Fprintf(e.stderr, "paved check: unknown -format %q\n", *format)
		return exitError
	}
	failRank := check.SeverityRank(*failOn)
	if failRank < 0 && *failOn != "none" {
		fmt.Fprintf(e.stderr, "paved check: unknown -fail-on %q (want low, medium, high, critical or none)\n", *failOn)
		return exitError
	}
	if *failOn == "none" {
		failRank = len(check.Severities)
	}
	opts := check.Options{NoBuiltin: *noBuiltin, PolicyDirs: policies, Workers: *workers, MaxFileBytes: *maxFile}
	if *exceptions != "" {
		ex, err := check.LoadExceptions(*exceptions)
		if err != nil {
			fmt.Fprintf(e.stderr, "paved check: %v\n", err)
			return exitError
		}
		opts.Exceptions = ex
	}
	c, err := check.New(ctx, opts)
	if err != nil {
		fmt.Fprintf(e.stderr, "paved check: policy: %v\n", err)
		return exitError
	}
	if *listRules {
		for _, r := range c.RuleList() {
			fmt.Fprintf(e.stdout, "%-24s %-8s %-15s %s\n", r.ID, r.Severity, r.Kind, r.Title)
		}
		return exitOK
	}
	if len(paths) == 0 {
		fmt.Fprintln(e.stderr, "paved check: want at least one PATH")
		fs.Usage()
		return exitError
	}
	start := time.Now()
	rep := &checkReport{Findings: []check.Finding{}, OptOuts: []check.Finding{}, Errors: []check.FileError{}, Rules: c.RuleList()}
	err = c.Run(ctx, paths, func(r check.FileResult) {
		if r.Kind != "" || len(r.Errors) > 0 {
			rep.Files++
		}
		rep.Docs += r.Documents
		failed := len(r.Errors) > 0
		for _, f := range r.Findings {
			if f.Exception != "" {
				rep.OptOuts = append(rep.OptOuts, f)
			} else {
				rep.Findings = append(rep.Findings, f)
				failed = true
			}
		}
		rep.Errors = append(rep.Errors, r.Errors...)
		if !failed && r.Documents > 0 {
			rep.Passed = append(rep.Passed, r.File)
		}
	})
	rep.Findings = append(rep.Findings, c.ExceptionFindings()...)
	rep.Duration = time.Since(start)
	if err != nil {
		fmt.Fprintf(e.stderr, "paved check: %v\n", err)
		return exitError
	}
	sortCheckFindings(rep.Findings)
	sortCheckFindings(rep.OptOuts)
	sort.Slice(rep.Errors, func(i, j int) bool {
		if rep.Errors[i].File != rep.Errors[j].File {
			return rep.Errors[i].File < rep.Errors[j].File
		}
		return rep.Errors[i].Line < rep.Errors[j].Line
	})
	sort.Strings(rep.Passed)
	switch *format {
	case "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	case "sarif":
		err = writeCheckSARIF(e.stdout, rep)
	case "junit":
		err = writeCheckJUnit(e.stdout, rep)
	default:
		writeCheckText(e.stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "paved check: %v\n", err)
		return exitError
	}
	if len(rep.Errors) > 0 {
		return exitError
	}
	if rep.Docs == 0 && len(rep.Findings) == 0 {
		// A mistyped PATH (or a repository whose files moved) must not
		// make a CI gate pass having judged nothing.
		fmt.Fprintf(e.stderr, "paved check: nothing judged: no Kubernetes, Terraform, Dockerfile or GitHub Actions document under %s\n", strings.Join(paths, " "))
		return exitError
	}
	for _, f := range rep.Findings {
		if check.SeverityRank(f.Severity) >= failRank {
			return exitFindings
		}
	}
	return exitOK
}

func sortCheckFindings(fs []check.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Rule < b.Rule
	})
}

func writeCheckText(w io.Writer, r *checkReport) {
	for _, f := range r.Findings {
		fmt.Fprintf(w, "%s:%d: %s [%s] %s\n", f.File, f.Line, f.Rule, f.Severity, f.Message)
	}
	for _, f := range r.Errors {
		fmt.Fprintf(w, "%s: error: %s\n", locOf(f), f.Err)
	}
	for _, f := range r.OptOuts {
		fmt.Fprintf(w, "%s:%d: %s opt-out (%s): %s\n", f.File, f.Line, f.Rule, f.ExceptionSource, f.Exception)
	}
	fmt.Fprintf(w, "%d files, %d documents: %d findings, %d opt-outs, %d errors\n", r.Files, r.Docs, len(r.Findings), len(r.OptOuts), len(r.Errors))
}

func locOf(f check.FileError) string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

func sarifLevel(sev string) string {
	switch sev {
	case "low":
		return "note"
	case "medium":
		return "warning"
	}
	return "error"
}

func writeCheckSARIF(w io.Writer, r *checkReport) error {
	driver := sarifDriver{Name: "paved check", InformationURI: "https://github.com/pavedroad/paved", Rules: []sarifRule{}}
	index := map[string]int{}
	ruleIdx := func(id, sev string) int {
		if i, ok := index[id]; ok {
			return i
		}
		meta := check.Rule{ID: id, Title: id, Rationale: id, Fix: "See the policy that defines " + id + "."}
		for _, x := range r.Rules {
			if x.ID == id {
				meta = x
			}
		}
		index[id] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRule{
			ID: id, ShortDescription: sarifMessage{meta.Title}, FullDescription: sarifMessage{meta.Rationale},
			Help: sarifMessage{meta.Fix}, Properties: sarifProperties{Tags: []string{"security", "iac", meta.Kind, sev}},
		})
		return index[id]
	}
	loc := func(file string, line int) []sarifLocation {
		l := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: file}}}
		if line > 0 {
			l.PhysicalLocation.Region = &sarifRegion{StartLine: line}
		}
		return []sarifLocation{l}
	}
	run := sarifRun{Results: []sarifResult{}}
	add := func(f check.Finding) {
		res := sarifResult{RuleID: f.Rule, RuleIndex: ruleIdx(f.Rule, f.Severity), Level: sarifLevel(f.Severity), Message: sarifMessage{f.Message},
			Locations: loc(f.File, f.Line), Properties: map[string]any{"severity": f.Severity}}
		if f.Object != "" {
			res.Properties["object"] = f.Object
		}
		if f.Exception != "" {
			res.Suppressions = []sarifSuppression{{Kind: kindOf(f.ExceptionSource), Status: "accepted", Justification: f.Exception}}
		}
		run.Results = append(run.Results, res)
	}
	for _, f := range r.Findings {
		add(f)
	}
	for _, f := range r.OptOuts {
		add(f)
	}
	inv := sarifInvocation{ExecutionSuccessful: len(r.Errors) == 0}
	for _, e := range r.Errors {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{Level: "error", Message: sarifMessage{e.Err}, Locations: loc(e.File, e.Line)})
	}
	run.Invocations = []sarifInvocation{inv}
	run.Tool = sarifTool{Driver: driver}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

func kindOf(src string) string {
	if strings.HasPrefix(src, "inline") {
		return "inSource"
	}
	return "external"
}

// JUnit XML: one test case per file that passed or failed, one per
// finding, error and opt-out (skipped, with its reason).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func writeCheckJUnit(w io.Writer, r *checkReport) error {
	s := junitSuite{Name: "paved check"}
	for _, p := range r.Passed {
		s.Cases = append(s.Cases, junitCase{Name: p, ClassName: p})
	}
	for _, f := range r.Findings {
		s.Cases = append(s.Cases, junitCase{Name: fmt.Sprintf("%s:%d %s", f.File, f.Line, f.Rule), ClassName: f.File,
			Failure: &junitMessage{Message: f.Message, Type: f.Severity, Text: fmt.Sprintf("%s:%d: %s [%s] %s", f.File, f.Line, f.Rule, f.Severity, f.Message)}})
		s.Failures++
	}
	for _, e := range r.Errors {
		s.Cases = append(s.Cases, junitCase{Name: locOf(e), ClassName: e.File, Error: &junitMessage{Message: e.Err, Text: locOf(e) + ": " + e.Err}})
		s.Errors++
	}
	for _, f := range r.OptOuts {
		s.Cases = append(s.Cases, junitCase{Name: fmt.Sprintf("%s:%d %s", f.File, f.Line, f.Rule), ClassName: f.File,
			Skipped: &junitMessage{Message: "opt-out (" + f.ExceptionSource + "): " + f.Exception}})
		s.Skipped++
	}
	s.Tests = len(s.Cases)
	out := junitSuites{Name: "paved check", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped,
		Time: fmt.Sprintf("%.3f", r.Duration.Seconds()), Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
