package sbom

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestReadMatchesGoVersionM(t *testing.T) {
	bin := testBinary(t)
	b, err := Read(bin)
	if err != nil {
		t.Fatal(err)
	}
	goVersion, want := goVersionM(t, bin)
	if b.GoVersion != goVersion {
		t.Errorf("GoVersion = %q, go version -m says %q", b.GoVersion, goVersion)
	}
	if !reflect.DeepEqual(b.Modules, want) {
		t.Errorf("Modules differ from go version -m:\n got %+v\nwant %+v", b.Modules, want)
	}
	if b.Path != bin || b.Main.Path != "example.com/sbomtest" || b.Command != "example.com/sbomtest" {
		t.Errorf("Path, Main, Command = %q, %q, %q", b.Path, b.Main.Path, b.Command)
	}
	// The three kinds of module the binary holds.
	byPath := map[string]Module{}
	for _, m := range b.Modules {
		byPath[m.Path] = m
	}
	if m := byPath["github.com/cespare/xxhash/v2"]; m.Version != "v2.3.0" || m.Replace != nil || m.Sum == "" {
		t.Errorf("xxhash = %+v", m)
	}
	if m := byPath["golang.org/x/text"]; m.Version != "v0.14.0" || m.Replace == nil || m.Replace.Version != "v0.43.0" || m.Replace.Sum == "" {
		t.Errorf("x/text = %+v (replace %+v)", m, m.Replace)
	}
	if m := byPath["github.com/dgryski/go-rendezvous"]; m.Replace == nil || m.Replace.Path != "./rendezvous" || !m.Replace.IsLocal() || m.Replace.PURL() != "" {
		t.Errorf("go-rendezvous = %+v (replace %+v)", m, m.Replace)
	}
	if !b.VCS.Known() || b.VCS.System != "git" || len(b.VCS.Revision) != 40 || b.VCS.Modified ||
		!b.VCS.Time.Equal(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("VCS = %+v", b.VCS)
	}
	if v, ok := b.Setting("-trimpath"); !ok || v != "true" {
		t.Errorf("setting -trimpath = %q, %v", v, ok)
	}
}

func TestSelf(t *testing.T) {
	b, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	// A test binary records its main module but no dependencies.
	if b.GoVersion == "" || b.Main.Path != "github.com/pavedroad/paved" || !b.self {
		t.Errorf("Self() = %+v", b)
	}
}

func TestModuleSHA256(t *testing.T) {
	tests := []struct {
		sum, want string
		ok        bool
	}{
		// The empty directory's dirhash, the in-toto DigestSet example.
		{"h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true},
		{"", "", false},
		{"h1:not base64!", "", false},
		{"h1:AAAA", "", false}, // not 32 bytes
		{"h2:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "", false},
	}
	for _, tt := range tests {
		got, ok := Module{Sum: tt.sum}.SHA256()
		if got != tt.want || ok != tt.ok {
			t.Errorf("SHA256(%q) = %q, %v; want %q, %v", tt.sum, got, ok, tt.want, tt.ok)
		}
	}
}

func TestModulePURL(t *testing.T) {
	tests := []struct {
		m    Module
		want string
	}{
		{Module{Path: "golang.org/x/net", Version: "v0.38.0"}, "pkg:golang/golang.org/x/net@v0.38.0"},
		{Module{Path: "github.com/A/b", Version: "v1.0.0+incompatible"}, "pkg:golang/github.com/A/b@v1.0.0%2Bincompatible"},
		{Module{Path: "example.com/app", Version: "(devel)"}, "pkg:golang/example.com/app"},
		{Module{Path: "example.com/a b", Version: "v1.0.0"}, "pkg:golang/example.com/a%20b@v1.0.0"},
		{Module{Path: "./local"}, ""},
		{Module{Path: "/abs/dir"}, ""},
		{Module{Path: `C:\dir`}, ""},
		{Module{}, ""},
	}
	for _, tt := range tests {
		if got := tt.m.PURL(); got != tt.want {
			t.Errorf("%+v.PURL() = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestFromBuildInfo(t *testing.T) {
	bi, err := parseBuildInfo(testBuildInfoText)
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromBuildInfo(bi)
	if err != nil {
		t.Fatal(err)
	}
	want := VCS{System: "git", Revision: "0123456789abcdef0123456789abcdef01234567", Time: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), Modified: true}
	if b.VCS != want {
		t.Errorf("VCS = %+v, want %+v", b.VCS, want)
	}
	if len(b.Modules) != 3 || b.Modules[1].Replace == nil || b.Modules[1].Replace.Version != "v0.29.0" {
		t.Errorf("Modules = %+v", b.Modules)
	}
	if _, err := FromBuildInfo(nil); !errors.Is(err, &Error{Reason: ReasonNoBuildInfo}) {
		t.Errorf("FromBuildInfo(nil) error = %v", err)
	}
}

// testBuildInfoText is a build info as `go version -m` prints it.
const testBuildInfoText = "go\tgo1.25.5\n" +
	"path\texample.com/app/cmd/app\n" +
	"mod\texample.com/app\tv1.2.3\th1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n" +
	"dep\tgithub.com/cespare/xxhash/v2\tv2.3.0\th1:UL815xU9SqsFlibzuggzjXhog7bL6oX9BbNZnL2UFvs=\n" +
	"dep\tgolang.org/x/text\tv0.14.0\n" +
	"=>\tgolang.org/x/text\tv0.29.0\th1:1neNs90w9YzJ9BocxfsQNHKuAT4pkghyXc4nhZ6sJvk=\n" +
	"dep\texample.com/fork\tv1.0.0\n" +
	"=>\t./fork\t(devel)\t\n" +
	"build\t-buildmode=exe\n" +
	"build\t-ldflags=\"-X main.version=1.2.3\"\n" +
	"build\tCGO_ENABLED=0\n" +
	"build\tGOARCH=amd64\n" +
	"build\tGOOS=linux\n" +
	"build\tvcs=git\n" +
	"build\tvcs.revision=0123456789abcdef0123456789abcdef01234567\n" +
	"build\tvcs.time=2026-11-30T12:00:00Z\n" +
	"build\tvcs.modified=true\n"

func TestReadBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		reason Reason
	}{
		{"missing", filepath.Join(dir, "nope"), ReasonOpen},
		{"empty", write("empty", nil), ReasonNotExecutable},
		{"text", write("text", []byte("#!/bin/sh\necho hello\n")), ReasonNotExecutable},
		{"elf magic only", write("magic", []byte("\x7fELF")), ReasonMalformed},
		{"truncated to a header", write("head", exe[:64]), ReasonMalformed},
		{"truncated to half", write("half", exe[:len(exe)/2]), ReasonMalformed},
	}
	if c := findCBinary(); c != "" {
		tests = append(tests, struct {
			name   string
			path   string
			reason Reason
		}{"not built by Go", c, ReasonNoBuildInfo})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Read(tt.path)
			var e *Error
			if b != nil || !errors.As(err, &e) || e.Reason != tt.reason || e.Path != tt.path {
				t.Fatalf("Read = %v, %v; want an *Error with reason %s and the path", b, err, tt.reason)
			}
			if !errors.Is(err, ErrBuildInfo) || !errors.Is(err, &Error{Reason: tt.reason}) {
				t.Errorf("errors.Is fails for %v", err)
			}
		})
	}
}

// findCBinary returns an executable on this machine that Go did not
// build, or "".
func findCBinary() string {
	for _, p := range []string{"/bin/true", "/usr/bin/true", "/bin/sh"} {
		if data, err := os.ReadFile(p); err == nil && len(data) > 4 && string(data[:4]) == "\x7fELF" {
			return p
		}
	}
	return ""
}

// strip and -ldflags=-s -w keep the build info; removing the
// .go.buildinfo section loses it, and Read says so.
func TestReadStripped(t *testing.T) {
	bin := testBinary(t)
	dir := t.TempDir()
	tests := []struct {
		tool   string
		args   func(out string) []string
		reason Reason // "" means readable
	}{
		{"strip", func(out string) []string { return []string{"-o", out, bin} }, ""},
		{"objcopy", func(out string) []string { return []string{"--remove-section", ".go.buildinfo", bin, out} }, ReasonNoBuildInfo},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			if _, err := exec.LookPath(tt.tool); err != nil {
				t.Skipf("no %s", tt.tool)
			}
			out := filepath.Join(dir, tt.tool)
			if msg, err := exec.Command(tt.tool, tt.args(out)...).CombinedOutput(); err != nil {
				t.Skipf("%s: %v: %s", tt.tool, err, msg) // not an ELF toolchain for this platform
			}
			b, err := Read(out)
			if tt.reason == "" {
				if err != nil || len(b.Modules) != 3 {
					t.Fatalf("Read = %v, %v", b, err)
				}
				return
			}
			if !errors.Is(err, &Error{Reason: tt.reason}) {
				t.Fatalf("Read error = %v, want reason %s", err, tt.reason)
			}
			if !strings.Contains(err.Error(), "no_build_info: not a Go executable") {
				t.Errorf("message %q does not say why", err)
			}
		})
	}
}
