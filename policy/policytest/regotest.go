package policytest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// DefaultRegoTestTimeout bounds each Rego test, as `opa test` does by
// default.
const DefaultRegoTestTimeout = 5 * time.Second

// A RegoResult is the outcome of one Rego test rule, in the terms of `opa
// test --format json`.
type RegoResult struct {
	// Package is the test's package without "data.", such as
	// "paved.org_test"; Name is the rule, such as "test_plain_http".
	Package, Name string
	// File and Row locate the rule.
	File string
	Row  int
	// Fail is true when the rule was undefined or false; Skip when it is
	// named todo_test_...; Err holds an evaluation error (a conflict, a
	// failed built-in, the timeout). A test passed when none is set.
	Fail bool
	Skip bool
	Err  string
	// Output is what print() wrote during the test.
	Output string
	// Duration is how long the test ran.
	Duration time.Duration
}

// Pass reports whether the test passed.
func (r RegoResult) Pass() bool { return !r.Fail && !r.Skip && r.Err == "" }

// Outcome returns "PASS", "FAIL", "SKIPPED" or "ERROR", as `opa test`
// prints it.
func (r RegoResult) Outcome() string {
	switch {
	case r.Err != "":
		return "ERROR"
	case r.Skip:
		return "SKIPPED"
	case r.Fail:
		return "FAIL"
	}
	return "PASS"
}

// String returns "package.name: OUTCOME".
func (r RegoResult) String() string { return r.Package + "." + r.Name + ": " + r.Outcome() }

// RegoTests runs the Rego tests (rules whose names start with test_, and
// todo_test_ ones, reported as skipped) among the Rego modules and JSON or
// YAML data files found under paths in fsys ("." when none is given), the
// way `opa test PATHS` does on the same files: Rego v1, print() captured,
// each test bounded by [DefaultRegoTestTimeout]. Results are sorted by
// package, then name. An error means the files did not load or compile;
// failing tests are not an error.
//
// Hidden files and directories (".git") are skipped, as `opa test` does
// when given --ignore '.*'.
func RegoTests(ctx context.Context, fsys fs.FS, paths ...string) ([]RegoResult, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	loaded, err := loader.NewFileLoader().
		WithFS(fsys).
		WithRegoVersion(ast.RegoV1).
		WithProcessAnnotation(true).
		Filtered(paths, hidden)
	if err != nil {
		return nil, err
	}
	store := inmem.NewFromObject(loaded.Documents)
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return nil, err
	}
	defer store.Abort(ctx, txn)
	modules := make(map[string]*ast.Module, len(loaded.Modules))
	for _, m := range loaded.Modules {
		modules[m.Name] = m.Parsed
		if err := store.UpsertPolicy(ctx, txn, m.Name, m.Raw); err != nil {
			return nil, err
		}
	}
	compiler := ast.NewCompiler().
		WithPathConflictsCheck(storage.NonEmpty(ctx, store, txn)).
		WithEnablePrintStatements(true).
		WithCapabilities(ast.CapabilitiesForThisVersion()).
		WithUseTypeCheckAnnotations(true)
	runner := tester.NewRunner().
		SetCompiler(compiler).
		SetStore(store).
		CapturePrintOutput(true).
		SetModules(modules).
		SetTimeout(DefaultRegoTestTimeout).
		SetParallel(runtime.GOMAXPROCS(0))
	ch, err := runner.RunTests(ctx, txn)
	if err != nil {
		return nil, err
	}
	var out []RegoResult
	for r := range ch {
		out = append(out, fromTester(r))
	}
	slices.SortFunc(out, func(a, b RegoResult) int {
		if c := strings.Compare(a.Package, b.Package); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// hidden excludes dot files and directories below the root.
func hidden(_ string, info fs.FileInfo, depth int) bool {
	return depth > 0 && strings.HasPrefix(info.Name(), ".")
}

func fromTester(r *tester.Result) RegoResult {
	out := RegoResult{
		Package:  strings.TrimPrefix(r.Package, "data."),
		Name:     r.Name,
		Fail:     r.Fail,
		Skip:     r.Skip,
		Output:   string(r.Output),
		Duration: r.Duration,
	}
	if r.Location != nil {
		out.File, out.Row = r.Location.File, r.Location.Row
	}
	if r.Error != nil {
		out.Err = r.Error.Error()
	}
	return out
}

// RunRegoTests runs [RegoTests] on fsys and paths and reports each Rego
// test as a subtest of t named after its package and rule
// ("paved.org_test/test_plain_http"), failing the ones that fail or err,
// with the location and any print() output. t fails when the files do not
// load or compile, and when they hold no test at all (a rename that drops
// every test_ prefix would otherwise pass in silence). It returns the
// results.
//
//	//go:embed *.rego
//	var policies embed.FS
//
//	func TestRego(t *testing.T) { policytest.RunRegoTests(t, policies) }
func RunRegoTests(t *testing.T, fsys fs.FS, paths ...string) []RegoResult {
	t.Helper()
	results, err := RegoTests(t.Context(), fsys, paths...)
	if err != nil {
		t.Fatalf("policytest: loading Rego tests: %v", err)
		return nil
	}
	if len(results) == 0 {
		t.Fatalf("policytest: no Rego tests (rules named test_...) under %v", paths)
	}
	for _, r := range results {
		t.Run(r.Package+"/"+r.Name, func(t *testing.T) {
			t.Helper()
			if r.Output != "" {
				t.Logf("print output:\n%s", r.Output)
			}
			switch {
			case r.Skip:
				t.Skipf("%s:%d: %s is a todo_ test", r.File, r.Row, r.Name)
			case r.Err != "":
				t.Errorf("%s:%d: %s: error: %s", r.File, r.Row, r.Name, r.Err)
			case r.Fail:
				t.Errorf("%s:%d: %s: FAIL (the rule is false or undefined)", r.File, r.Row, r.Name)
			}
		})
	}
	return results
}

// ErrRegoTestsFailed is what [RegoTestsErr] wraps when a Rego test fails.
var ErrRegoTestsFailed = errors.New("policytest: Rego tests failed")

// RegoTestsErr runs [RegoTests] and returns nil when every test passes,
// an error wrapping [ErrRegoTestsFailed] that names each failure when one
// fails, and the loading error otherwise; for a program (a CI step) that
// has no testing.T.
func RegoTestsErr(ctx context.Context, fsys fs.FS, paths ...string) error {
	results, err := RegoTests(ctx, fsys, paths...)
	if err != nil {
		return err
	}
	var failed []string
	for _, r := range results {
		if !r.Pass() && !r.Skip {
			failed = append(failed, fmt.Sprintf("%s:%d: %s", r.File, r.Row, r))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %s", ErrRegoTestsFailed, strings.Join(failed, "; "))
	}
	return nil
}
