package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pavedroad/paved/sbom"
)

// fixtureDB is the SDK's fixture database.
const fixtureDB = "../../sbom/testdata/vulndb/osv"

// vulndbVersion is the Go vulnerability database the full-database tests
// read, from the module proxy.
const vulndbVersion = "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018"

// testMain is the program the test binaries are built from: it calls
// golang.org/x/text/language.ParseAcceptLanguage, the symbol GO-2022-1059
// names.
const testMain = `package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	tags, _, err := language.ParseAcceptLanguage(os.Getenv("ACCEPT_LANGUAGE"))
	fmt.Println(tags, err)
}
`

// The test binaries: golang.org/x/text at a vulnerable version and at a
// fixed one.
const (
	vulnerableText = "v0.3.7"
	fixedText      = "v0.43.0"
)

var (
	binMu    sync.Mutex
	binPaths = map[string]string{}
	binDir   string
)

// integration reports whether a missing prerequisite (the module proxy,
// the vulnerability database) fails the test instead of skipping it.
func integration() bool { return os.Getenv("PAVED_INTEGRATION") == "1" }

func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if integration() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// goEnv runs the go command with a clean module environment: no
// workspace, the local module cache first and the configured proxy after
// it, so the build is offline where the modules are cached.
func goCmd(t testing.TB, dir string, args ...string) *exec.Cmd {
	t.Helper()
	cache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	proxy, _ := exec.Command("go", "env", "GOPROXY").Output()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local",
		"GOPROXY=file://"+filepath.ToSlash(filepath.Join(strings.TrimSpace(string(cache)), "cache", "download"))+","+strings.TrimSpace(string(proxy)))
	return cmd
}

// testBinary builds the test program against golang.org/x/text at
// version, once per process, and returns its path.
func testBinary(t testing.TB, version string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go binary")
	}
	binMu.Lock()
	defer binMu.Unlock()
	if p, ok := binPaths[version]; ok {
		return p
	}
	if binDir == "" {
		var err error
		if binDir, err = os.MkdirTemp("", "paved-audit-test"); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(binDir, "src-"+version)
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod := "module example.com/vulnapp\n\ngo 1.25\n\nrequire golang.org/x/text " + version + "\n"
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(testMain), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(binDir, "vulnapp-"+version)
	if out, err := goCmd(t, src, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		skipOrFail(t, "building the test binary against golang.org/x/text %s (needs the module proxy or a warm module cache): %v\n%s", version, err, out)
	}
	binPaths[version] = bin
	return bin
}

// fullVulnDB returns the data/osv directory of the Go vulnerability
// database module, downloading it through the module proxy when it is not
// cached.
func fullVulnDB(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("reads the whole Go vulnerability database")
	}
	out, err := goCmd(t, t.TempDir(), "mod", "download", "-json", vulndbVersion).Output()
	var m struct{ Dir, Error string }
	if err == nil {
		err = json.Unmarshal(out, &m)
	}
	if err != nil || m.Dir == "" {
		skipOrFail(t, "go mod download %s: %v %s", vulndbVersion, err, m.Error)
	}
	return filepath.Join(m.Dir, "data", "osv")
}

var (
	layoutOnce sync.Once
	layoutDir  string
	layoutErr  error
)

// fullVulnDBLayout returns the whole database converted once per process
// to govulncheck's layout (index/modules.json, ID/*.json), which both
// audits read record by record: the fast way to scan a big binary.
func fullVulnDBLayout(t testing.TB) string {
	t.Helper()
	src := fullVulnDB(t)
	layoutOnce.Do(func() {
		var db *sbom.VulnDB
		if db, layoutErr = sbom.OpenVulnDB(src); layoutErr != nil {
			return
		}
		if layoutDir, layoutErr = os.MkdirTemp("", "paved-vulndb-layout"); layoutErr != nil {
			return
		}
		layoutErr = db.WriteGovulncheckDB(layoutDir)
	})
	if layoutErr != nil {
		t.Fatal(layoutErr)
	}
	return layoutDir
}

// runCLI runs the command in-process and returns its exit status, stdout
// and stderr.
func runCLI(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}, args)
	return code, stdout.String(), stderr.String()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if layoutDir != "" {
		os.RemoveAll(layoutDir)
	}
	os.Exit(code)
}

func TestUsage(t *testing.T) {
	notGo := filepath.Join(t.TempDir(), "notgo")
	if err := os.WriteFile(notGo, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no command", nil, exitError, "usage: paved COMMAND"},
		{"help", []string{"help"}, exitOK, "audit"},
		{"unknown command", []string{"frobnicate"}, exitError, `unknown command "frobnicate"`},
		{"audit without db", []string{"audit", notGo}, exitError, "-db DIR (or PAVED_VULNDB) is required"},
		{"audit two binaries", []string{"audit", "-db", fixtureDB, "a", "b"}, exitError, "want exactly one BINARY, got 2"},
		{"audit bad fail-on", []string{"audit", "-db", fixtureDB, "-fail-on", "severe", notGo}, exitError, `-fail-on "severe"`},
		{"audit bad format", []string{"audit", "-db", fixtureDB, "-format", "xml", notGo}, exitError, `-format "xml"`},
		{"audit not a Go binary", []string{"audit", "-db", fixtureDB, notGo}, exitError, "not_executable"},
		{"audit missing file", []string{"audit", "-db", fixtureDB, notGo + ".missing"}, exitError, "open"},
		{"sbom not a Go binary", []string{"sbom", notGo}, exitError, "not_executable"},
		{"sbom bad format", []string{"sbom", "-format", "xml", notGo}, exitError, "not_executable"},
		{"provenance not a Go binary", []string{"provenance", notGo}, exitError, "not_executable"},
		{"audit -h", []string{"audit", "-h"}, exitOK, "-fail-on"},
		{"vulndb without -o", []string{"vulndb", fixtureDB}, exitError, "-o DIR is required"},
		{"vulndb of an empty dir", []string{"vulndb", "-o", filepath.Join(t.TempDir(), "out"), t.TempDir()}, exitError, "unusable vulnerability database"},
		{"vulndb", []string{"vulndb", "-o", filepath.Join(t.TempDir(), "out"), fixtureDB}, exitOK, "10 records for 5 modules written"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
}

func TestAuditBadDatabase(t *testing.T) {
	bin := testBinary(t, fixedText)
	for _, mode := range []string{"symbol", "module"} {
		code, _, stderr := runCLI(t, "audit", "-mode", mode, "-db", t.TempDir(), bin)
		if code != exitError || !strings.Contains(stderr, "unusable vulnerability database") {
			t.Errorf("%s mode, empty db: exit %d %q", mode, code, stderr)
		}
	}
}
