package sbom

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The test binary: a small module with a plain dependency, a dependency
// replaced by another version and one replaced by a local directory, built
// from a git commit so that the go command stamps VCS settings. The
// modules it fetches (xxhash v2.3.0, x/text v0.43.0) are in the root
// module's build list, so a module cache that builds paved has them.
const (
	testGoMod = `module example.com/sbomtest

go 1.25

require (
	github.com/cespare/xxhash/v2 v2.3.0
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f
	golang.org/x/text v0.14.0
)

replace golang.org/x/text v0.14.0 => golang.org/x/text v0.43.0

replace github.com/dgryski/go-rendezvous => ./rendezvous
`
	testMain = `package main

import (
	"fmt"

	"github.com/cespare/xxhash/v2"
	rendezvous "github.com/dgryski/go-rendezvous"
	"golang.org/x/text/width"
)

func main() {
	fmt.Println(xxhash.Sum64String("paved"), rendezvous.Local(), width.LookupRune('A').Kind())
}
`
	testLocalMod = "module github.com/dgryski/go-rendezvous\n\ngo 1.25\n"
	testLocal    = "package rendezvous\n\n// Local is a stand-in for the replaced module.\nfunc Local() int { return 1 }\n"
)

var (
	testBinOnce sync.Once
	testBinPath string
	testBinErr  error
)

// testBinary builds the test binary once per test process and returns its
// path. It needs the go command and git, and reaches the modules through
// the local module cache first (GOPROXY=file://...), so that it runs
// offline wherever the root module's dependencies are cached; it falls
// back to the configured proxy. It skips in -short mode.
func testBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go binary; skipped with -short")
	}
	for _, tool := range []string{"go", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not in PATH", tool)
		}
	}
	testBinOnce.Do(func() { testBinPath, testBinErr = buildTestBinary() })
	if testBinErr != nil {
		t.Fatalf("building the test binary: %v", testBinErr)
	}
	return testBinPath
}

func buildTestBinary() (string, error) {
	files := map[string]string{
		"go.mod":              testGoMod,
		"main.go":             testMain,
		"rendezvous/go.mod":   testLocalMod,
		"rendezvous/local.go": testLocal,
		".gitignore":          "/app\n",
	}
	return cachedBuild("test", files, func(dir string) error { return buildModule(dir) })
}

// cachedBuild writes files into a fresh directory, runs build there, and
// keeps the result under a name derived from the files and the go
// command's version, so that later test runs reuse it and temporary
// directories do not pile up. Concurrent runs race harmlessly: the first
// rename wins.
func cachedBuild(name string, files map[string]string, build func(dir string) error) (string, error) {
	goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(goVersion)
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, files[k])
	}
	final := filepath.Join(os.TempDir(), fmt.Sprintf("paved-sbom-%s-%x", name, h.Sum(nil)[:8]))
	if _, err := os.Stat(filepath.Join(final, "app")); err == nil {
		return filepath.Join(final, "app"), nil
	}
	dir, err := os.MkdirTemp("", "paved-sbom-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir) // a no-op once renamed
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	if err := build(dir); err != nil {
		return "", err
	}
	if err := os.Rename(dir, final); err != nil {
		if _, statErr := os.Stat(filepath.Join(final, "app")); statErr != nil {
			return "", err
		}
	}
	return filepath.Join(final, "app"), nil
}

// buildModule builds the module in dir, committed to a fresh git
// repository, as dir/app.
func buildModule(dir string) error {
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return err
	}
	proxy, _ := exec.Command("go", "env", "GOPROXY").Output()
	env := append(os.Environ(),
		"GOFLAGS=-mod=mod",
		"GOPROXY=file://"+filepath.ToSlash(filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download"))+","+strings.TrimSpace(string(proxy)),
		"GOSUMDB=off", // the module cache's copies were verified when downloaded
		"GOTOOLCHAIN=local",
		"GIT_AUTHOR_DATE=2026-11-30T12:00:00Z", "GIT_COMMITTER_DATE=2026-11-30T12:00:00Z",
	)
	run := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return &exec.Error{Name: name + " " + strings.Join(args, " ") + ": " + strings.TrimSpace(string(out)), Err: err}
		}
		return nil
	}
	steps := [][]string{
		{"go", "mod", "tidy"}, // the temporary module's own go.sum
		{"git", "init", "-q"},
		{"git", "add", "."},
		{"git", "-c", "user.name=paved", "-c", "user.email=paved@example.com", "commit", "-q", "-m", "test"},
		{"go", "build", "-buildvcs=true", "-trimpath", "-o", "app", "."},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// goVersionM runs `go version -m` on path and returns its dep and =>
// lines as modules, in order.
func goVersionM(t testing.TB, path string) (goVersion string, mods []Module) {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", path).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	lines := strings.Split(string(out), "\n")
	_, goVersion, _ = strings.Cut(lines[0], ": ")
	for _, l := range lines[1:] {
		f := strings.Split(strings.TrimPrefix(l, "\t"), "\t")
		for len(f) < 4 {
			f = append(f, "")
		}
		switch f[0] {
		case "dep":
			mods = append(mods, Module{Path: f[1], Version: f[2], Sum: f[3]})
		case "=>":
			r := Module{Path: f[1], Version: f[2], Sum: f[3]}
			mods[len(mods)-1].Replace = &r
		}
	}
	return goVersion, mods
}
