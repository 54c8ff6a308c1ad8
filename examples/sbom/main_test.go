package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pavedroad/paved"
)

// TestRun runs the example on the test binary itself, then checks the
// documents it wrote.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	if err := run(context.Background(), []string{"-out", dir}, &out); err != nil {
		t.Fatal(err)
	}
	bi, _ := debug.ReadBuildInfo()
	want := bi.Path + ": " + strconv.Itoa(len(bi.Deps)) + " modules, built with " + bi.GoVersion + `
  sbom.spdx.json   ok
  sbom.cdx.json    ok
  provenance.json  ok
audit this build: 0 findings, starts
audit example.com/app v0.9.0: refused to start: GO-2022-1059 in golang.org/x/text@v0.3.7, fixed in v0.3.8
`
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
	for file, field := range map[string]string{"sbom.spdx.json": "spdxVersion", "sbom.cdx.json": "bomFormat", "provenance.json": "predicateType"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if doc[field] == nil {
			t.Errorf("%s has no %s", file, field)
		}
	}

	// "The same build always yields the same bytes": a second run writes
	// the same three files.
	again := t.TempDir()
	if err := run(context.Background(), []string{"-out", again}, new(strings.Builder)); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"sbom.spdx.json", "sbom.cdx.json", "provenance.json"} {
		first, err1 := os.ReadFile(filepath.Join(dir, file))
		second, err2 := os.ReadFile(filepath.Join(again, file))
		if err1 != nil || err2 != nil || !bytes.Equal(first, second) {
			t.Errorf("%s differs between two runs on the same build (%v, %v)", file, err1, err2)
		}
	}
}

// TestRunOnABinary builds the example and reads that file, as
// `go run ./examples/sbom BINARY` does.
func TestRunOnABinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "sbom-example")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{bin}, &out); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(out.String(), ":"); first != "github.com/pavedroad/paved/examples/sbom" {
		t.Errorf("read %q, want the example's command", first)
	}
	if err := run(context.Background(), []string{"main_test.go"}, new(strings.Builder)); err == nil {
		t.Error("a source file read as a binary")
	}
}

// TestRunFindingsReachTheDefaultSink: the gate's finding goes to paved's
// default sink (telemetry's, once it is set up), as a copied AuditConfig
// with no Events should do.
func TestRunFindingsReachTheDefaultSink(t *testing.T) {
	var mu sync.Mutex
	var got []string
	paved.SetDefaultSink(paved.SinkFunc(func(_ context.Context, e paved.Event) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(e.Type))
	}))
	t.Cleanup(func() { paved.SetDefaultSink(nil) })
	if err := run(context.Background(), nil, new(strings.Builder)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{string(paved.EventVulnerability)}; !slices.Equal(got, want) {
		t.Errorf("default sink got %v, want %v", got, want)
	}
}
