package examples

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestEveryPackageHasAnExample walks both modules (the SDK and cmd/paved)
// and fails for an importable package without a runnable Example function
// in its tests. Main packages and internal ones are exempt, as are this
// doc-only package, testdata and the tools-only modules.
func TestEveryPackageHasAnExample(t *testing.T) {
	example := regexp.MustCompile(`(?m)^func Example\w*\(\)`)
	var missing []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if path != ".." && (name == "testdata" || name == "internal" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != ".." && path != filepath.Join("..", "cmd", "paved") {
			return filepath.SkipDir // a tools module (scripts/vaultbuild), no SDK package
		}
		if path == filepath.Join("..", "examples") { // this package: documentation only
			return nil
		}
		pkg, hasExample := packageOf(t, path, example)
		if pkg != "" && pkg != "main" && !hasExample {
			missing = append(missing, filepath.ToSlash(path[len("../"):]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("packages without an Example function in their tests: %v", missing)
	}
}

// packageOf returns the package name of the non-test Go files in dir ("" for
// none) and whether a test file there has an Example function.
func packageOf(t *testing.T, dir string, example *regexp.Regexp) (pkg string, hasExample bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			hasExample = hasExample || example.Match(src)
			continue
		}
		if pkg != "" {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		pkg = file.Name.Name
	}
	return pkg, hasExample
}

// TestDocListsEveryProgram keeps doc.go's list in step with the programs
// under examples/.
func TestDocListsEveryProgram(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	listed := regexp.MustCompile(`(?m)^//   - ([a-z-]+):`).FindAllSubmatch(doc, -1)
	var names []string
	for _, m := range listed {
		names = append(names, string(m[1]))
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(names, e.Name()) {
			t.Errorf("examples/%s is not listed in doc.go", e.Name())
		}
	}
	for _, n := range names {
		if st, err := os.Stat(n); err != nil || !st.IsDir() {
			t.Errorf("doc.go lists %s, which is not a directory here", n)
		}
	}
}
