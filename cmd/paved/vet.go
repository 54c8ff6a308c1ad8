package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/types"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/pavedroad/paved/cmd/paved/analyzers"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/packages"
)

func init() {
	register(command{name: "vet", summary: "gosec and paved's road rules over Go packages", run: runVet})
}

// runVet is `paved vet [flags] [PACKAGES]`: load the packages once, run
// gosec's analyzer and paved's over them, report what no //paved:allow
// suppresses.
func runVet(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "vet", "[-format text|json|sarif] [-fail-on low|medium|high] [-tests] [PACKAGES]")
	format := fs.String("format", "text", "output: text, json or sarif")
	failOn := fs.String("fail-on", "low", "exit 1 when a finding at or above this severity remains")
	tests := fs.Bool("tests", false, "also analyse _test.go files (gosec's default is not to)")
	dir := fs.String("C", "", "run in this directory")
	var exclude multiFlag
	fs.Var(&exclude, "exclude", "rule IDs to leave out (PAV105, G104; comma-separated, repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitError
	}
	min, ok := parseFormatFailOn(e, "vet", *format, *failOn)
	if !ok {
		return exitError
	}
	patterns := fs.Args()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	r, err := vetPackages(ctx, *dir, *tests, patterns)
	if err != nil {
		fmt.Fprintf(e.stderr, "paved vet: %v\n", err)
		return exitError
	}
	if len(exclude) > 0 {
		drop := map[string]bool{}
		for _, id := range strings.Split(exclude.String(), ",") {
			drop[strings.ToUpper(strings.TrimSpace(id))] = true
		}
		kept := r.Findings[:0]
		for _, f := range r.Findings {
			if drop[f.Rule] {
				r.Suppressed++
				continue
			}
			kept = append(kept, f)
		}
		r.Findings = kept
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(e.stderr, "paved vet: skipped %s\n", s)
	}
	for _, s := range r.Errors {
		fmt.Fprintf(e.stderr, "paved vet: %s\n", s)
	}
	if err := writeFindings(e.stdout, *format, r); err != nil {
		fmt.Fprintf(e.stderr, "paved vet: %v\n", err)
		return exitError
	}
	switch {
	case len(r.Errors) > 0:
		return exitError
	case r.failing(min) > 0:
		return exitFindings
	}
	return exitOK
}

// vetPackages loads patterns in dir and analyses every package that
// compiles; the others are listed in Errors.
func vetPackages(ctx context.Context, dir string, tests bool, patterns []string) (*findingsReport, error) {
	cfg := &packages.Config{
		Context: ctx,
		Dir:     dir,
		Tests:   tests,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedTypes | packages.NeedTypesSizes | packages.NeedSyntax | packages.NeedTypesInfo | packages.NeedModule,
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, err
	}
	r := &findingsReport{Command: "vet"}
	var ok []*packages.Package
	generated := 0
	var firstGen string
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			msgs := make([]string, 0, len(p.Errors))
			for _, e := range p.Errors {
				msgs = append(msgs, e.Error())
			}
			r.Errors = append(r.Errors, fmt.Sprintf("package %s does not compile, not analysed: %s", p.PkgPath, strings.Join(msgs, "; ")))
			continue
		}
		for _, f := range p.Syntax {
			if ast.IsGenerated(f) {
				generated++
				if firstGen == "" {
					firstGen = relPath(dir, p.Fset.File(f.Pos()).Name())
				}
			}
		}
		ok = append(ok, p)
	}
	if generated > 0 {
		r.Skipped = append(r.Skipped, fmt.Sprintf("%d generated files (%s...): generated code is not analysed", generated, firstGen))
	}
	if len(ok) == 0 {
		return r, nil
	}
	type result struct {
		pkg   *packages.Package
		diags []diag
		errs  []string
	}
	results := make([]result, len(ok))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, p := range ok {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			d, errs := analyzePackage(p, analyzers.All())
			results[i] = result{p, d, errs}
		}()
	}
	wg.Wait()
	for _, res := range results {
		r.Errors = append(r.Errors, res.errs...)
		for _, d := range res.diags {
			r.Findings = append(r.Findings, toFinding(dir, res.pkg, d.a, d.d))
		}
	}
	r.sort()
	return r, nil
}

type diag struct {
	a *analysis.Analyzer
	d analysis.Diagnostic
}

// analyzePackage runs roots and what they require on one package, each
// analyzer once, the way gosec's own CLI does: dependencies come from
// export data, so facts are neither imported nor exported (go vet
// -vettool with cmd/pavedvet has facts across packages).
func analyzePackage(p *packages.Package, roots []*analysis.Analyzer) (out []diag, errs []string) {
	results := map[*analysis.Analyzer]any{}
	failed := map[*analysis.Analyzer]bool{}
	var run func(a *analysis.Analyzer) bool
	run = func(a *analysis.Analyzer) bool {
		if _, done := results[a]; done {
			return true
		}
		if failed[a] {
			return false
		}
		for _, req := range a.Requires {
			if !run(req) {
				failed[a] = true
				return false
			}
		}
		pass := &analysis.Pass{
			Analyzer: a, Fset: p.Fset, Files: p.Syntax, OtherFiles: p.OtherFiles, IgnoredFiles: p.IgnoredFiles,
			Pkg: p.Types, TypesInfo: p.TypesInfo, TypesSizes: p.TypesSizes, TypeErrors: p.TypeErrors,
			ResultOf:          map[*analysis.Analyzer]any{},
			Report:            func(d analysis.Diagnostic) { out = append(out, diag{a, d}) },
			ReadFile:          os.ReadFile,
			ImportObjectFact:  func(types.Object, analysis.Fact) bool { return false },
			ExportObjectFact:  func(types.Object, analysis.Fact) {},
			ImportPackageFact: func(*types.Package, analysis.Fact) bool { return false },
			ExportPackageFact: func(analysis.Fact) {},
			AllObjectFacts:    func() []analysis.ObjectFact { return nil },
			AllPackageFacts:   func() []analysis.PackageFact { return nil },
		}
		if p.Module != nil {
			pass.Module = &analysis.Module{Path: p.Module.Path, Version: p.Module.Version, GoVersion: p.Module.GoVersion}
		}
		for _, req := range a.Requires {
			pass.ResultOf[req] = results[req]
		}
		res, err := safeRun(a, pass)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s on %s: %v", a.Name, p.PkgPath, err))
			failed[a] = true
			return false
		}
		results[a] = res
		return true
	}
	for _, a := range roots {
		run(a)
	}
	return out, errs
}

// safeRun runs a, turning a panic into an error so that one package
// cannot stop the others.
func safeRun(a *analysis.Analyzer, pass *analysis.Pass) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return a.Run(pass)
}

func toFinding(dir string, p *packages.Package, a *analysis.Analyzer, d analysis.Diagnostic) finding {
	pos := p.Fset.Position(d.Pos)
	f := finding{Rule: d.Category, Tool: "paved", File: relPath(dir, pos.Filename), Line: pos.Line, Column: pos.Column, Message: d.Message}
	if a == analyzers.Gosec {
		f.Tool = "gosec"
		id, cwe, sev, conf, ok := analyzers.GosecMeta(d.Message)
		if ok {
			f.Rule, f.CWE, f.Severity = id, cwe, sev.String()
			msg := strings.TrimPrefix(d.Message, id+": ")
			if cwe > 0 {
				msg = strings.TrimPrefix(msg, fmt.Sprintf("[CWE-%d] ", cwe))
			}
			if i := strings.LastIndex(msg, " (Severity: "); i >= 0 {
				msg = msg[:i]
			}
			f.Message = msg + " (confidence " + strings.ToLower(conf) + ")"
		} else {
			f.Severity = analyzers.Medium.String()
		}
		f.Summary = "gosec " + f.Rule
		f.Fix = "see https://github.com/securego/gosec#available-rules (" + f.Rule + "), or //paved:allow " + f.Rule + " with a reason"
		return f
	}
	if rule, ok := analyzers.RuleByID(d.Category); ok {
		f.Severity, f.CWE, f.Fix, f.Summary = rule.Severity.String(), rule.CWE, rule.Fix, rule.Summary
		msg := strings.TrimPrefix(d.Message, rule.ID+": ")
		if i := strings.LastIndex(msg, " (fix: "); i >= 0 {
			msg = msg[:i]
		}
		f.Message = msg
	}
	return f
}

// relPath makes name relative to dir (or the working directory) when it
// is below it.
func relPath(dir, name string) string {
	base := dir
	if base == "" {
		base, _ = os.Getwd()
	} else if abs, err := filepath.Abs(base); err == nil {
		base = abs
	}
	if rel, err := filepath.Rel(base, name); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return name
}
