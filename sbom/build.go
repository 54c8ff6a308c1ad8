package sbom

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"debug/buildinfo"
)

// Component is the name sbom uses in opt-outs, controls, events and
// configuration errors.
const Component = "sbom"

// A Build is what a Go binary records about itself: the main module, every
// module linked in, the toolchain and the build settings. It is read from
// the running binary ([Self]), from any Go binary file ([Read]) or from a
// [debug.BuildInfo] ([FromBuildInfo]), and every document in this package
// is generated from it.
//
// A Build is immutable once returned; it is safe for concurrent use.
type Build struct {
	// Path is the file the build info was read from; empty for [Self] and
	// [FromBuildInfo].
	Path string
	// GoVersion is the toolchain that built the binary, such as "go1.25.5".
	GoVersion string
	// Command is the main package's import path (debug.BuildInfo.Path).
	Command string
	// Main is the main module. Its Version is "(devel)" for a build from a
	// checkout; its Sum is empty then.
	Main Module
	// Modules are the dependencies, in the order the build info lists
	// them (sorted by path, as `go version -m` prints them).
	Modules []Module
	// Settings are the build settings (-buildmode, -ldflags, CGO_ENABLED,
	// GOOS, GOARCH, vcs.*), in the order the build info lists them.
	Settings []debug.BuildSetting
	// VCS is the version-control state the go command stamped, when it
	// did (not with -buildvcs=false nor outside a repository).
	VCS VCS
	// Info is the build info the Build was made from.
	Info *debug.BuildInfo

	self bool // read from the running binary
}

// A Module is one Go module in a build.
type Module struct {
	// Path is the module path, such as "golang.org/x/net".
	Path string
	// Version is the module version, such as "v0.38.0".
	Version string
	// Sum is the go.sum hash of the module's content ("h1:..."), empty when
	// the go command did not know it (a local replacement, the main
	// module).
	Sum string
	// Replace is the module that replaced this one (a replace directive),
	// or nil. A local directory replacement has a Path starting with "."
	// or "/" and the Version "(devel)".
	Replace *Module
}

// A VCS is the version-control state of the main module at build time.
type VCS struct {
	// System is the version-control system, such as "git"; empty when the
	// go command stamped none.
	System string
	// Revision is the commit the binary was built from.
	Revision string
	// Time is the commit time; zero when unknown.
	Time time.Time
	// Modified reports that the working tree had uncommitted changes.
	Modified bool
}

// Known reports whether the build info carries a VCS revision.
func (v VCS) Known() bool { return v.Revision != "" }

// Effective returns the module whose code was linked: m.Replace when set,
// else m.
func (m Module) Effective() Module {
	if m.Replace != nil {
		return *m.Replace
	}
	return m
}

// IsLocal reports whether m is a directory (a local replacement, whose
// Version the go command records as "(devel)") rather than a module from
// a proxy or repository.
func (m Module) IsLocal() bool {
	return strings.HasPrefix(m.Path, ".") || strings.HasPrefix(m.Path, "/") || filepathIsAbs(m.Path)
}

// filepathIsAbs reports a Windows drive path ("C:\...") as absolute too,
// since a build info read here may come from any platform.
func filepathIsAbs(p string) bool {
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/')
}

// SHA256 returns the hex SHA-256 digest that m.Sum carries. Go's "h1:"
// hash is the base64 SHA-256 of the module's dirhash (the sorted list of
// its files' SHA-256 digests), so this is the same hash in the encoding
// SBOM formats want. ok is false when m has no h1: sum.
func (m Module) SHA256() (hexDigest string, ok bool) {
	return sumSHA256(m.Sum)
}

func sumSHA256(sum string) (string, bool) {
	b64, found := strings.CutPrefix(sum, "h1:")
	if !found {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 32 {
		return "", false
	}
	return hex.EncodeToString(raw), true
}

// PURL returns m's package URL, "pkg:golang/<path>@<version>", with the
// path's segments percent-encoded as the purl specification says. A local
// directory has no purl: PURL returns "" for it.
func (m Module) PURL() string {
	if m.IsLocal() || m.Path == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString("pkg:golang/")
	for i, seg := range strings.Split(m.Path, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(purlEscape(seg))
	}
	if m.Version != "" && m.Version != "(devel)" {
		b.WriteByte('@')
		b.WriteString(purlEscape(m.Version))
	}
	return b.String()
}

// purlEscape percent-encodes everything but the purl specification's
// unreserved characters (and '~', which Go versions never hold).
func purlEscape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// Setting returns the value of the build setting key and whether it is
// set.
func (b *Build) Setting(key string) (string, bool) {
	for _, s := range b.Settings {
		if s.Key == key {
			return s.Value, true
		}
	}
	return "", false
}

// Self returns the build info of the running binary, from
// [debug.ReadBuildInfo]. Its error is an [*Error] with reason
// [ReasonNoBuildInfo] when the binary carries none.
func Self() (*Build, error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil, &Error{Reason: ReasonNoBuildInfo, Err: errors.New("the running binary carries no build info")}
	}
	b, err := FromBuildInfo(bi)
	if err != nil {
		return nil, err
	}
	b.self = true
	return b, nil
}

// Read returns the build info of the Go binary at path (any platform's
// ELF, Mach-O, PE, XCOFF or Wasm file), from [buildinfo.Read]. A file that
// is not an executable, an executable without Go build info (a C binary, a
// binary whose .go.buildinfo section was removed) and a truncated or
// corrupt file each fail with an [*Error] whose Reason says which.
func Read(path string) (*Build, error) {
	//paved:allow G304 the path is the caller's own argument: reading the file it names is this function's job
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Reason: ReasonOpen, Path: path, Err: err}
	}
	defer f.Close()
	b, err := ReadFrom(f)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Path = path
		}
		return nil, err
	}
	b.Path = path
	return b, nil
}

// ReadFrom is [Read] for an open file or any [io.ReaderAt]. It never panics
// on hostile input.
func ReadFrom(r io.ReaderAt) (b *Build, err error) {
	var magic [8]byte
	n, _ := r.ReadAt(magic[:], 0)
	if !isExecutable(magic[:n]) {
		return nil, &Error{Reason: ReasonNotExecutable, Err: errors.New("not an ELF, Mach-O, PE, XCOFF or Wasm executable")}
	}
	defer func() {
		// debug/* parsers are meant not to panic on corrupt input; a bug
		// there must not take the caller down with it.
		if p := recover(); p != nil {
			b, err = nil, &Error{Reason: ReasonMalformed, Err: fmt.Errorf("parser panic: %v", p)}
		}
	}()
	bi, err := buildinfo.Read(r)
	if err != nil {
		return nil, classify(err)
	}
	return FromBuildInfo(bi)
}

// isExecutable reports whether head starts like a file format
// debug/buildinfo reads.
func isExecutable(head []byte) bool {
	prefixes := [][]byte{
		[]byte("\x7fELF"),
		{0xfe, 0xed, 0xfa, 0xce}, {0xce, 0xfa, 0xed, 0xfe}, // Mach-O 32
		{0xfe, 0xed, 0xfa, 0xcf}, {0xcf, 0xfa, 0xed, 0xfe}, // Mach-O 64
		{0xca, 0xfe, 0xba, 0xbe},   // Mach-O universal
		[]byte("MZ"),               // PE
		{0x01, 0xdf}, {0x01, 0xf7}, // XCOFF 32, 64
		[]byte("\x00asm"), // Wasm
	}
	for _, p := range prefixes {
		if bytes.HasPrefix(head, p) {
			return true
		}
	}
	return false
}

// classify maps debug/buildinfo's (unexported) errors to a Reason.
func classify(err error) *Error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "not a Go executable"):
		return &Error{Reason: ReasonNoBuildInfo, Err: err}
	case strings.Contains(msg, "unrecognized file format"):
		// The magic number was checked: the headers behind it are cut
		// short or corrupt.
		return &Error{Reason: ReasonMalformed, Err: err}
	}
	return &Error{Reason: ReasonMalformed, Err: err}
}

// FromBuildInfo returns the Build that bi describes. bi is kept as
// Build.Info and must not be changed afterwards.
func FromBuildInfo(bi *debug.BuildInfo) (*Build, error) {
	if bi == nil {
		return nil, &Error{Reason: ReasonNoBuildInfo, Err: errors.New("nil build info")}
	}
	b := &Build{
		GoVersion: bi.GoVersion,
		Command:   bi.Path,
		Main:      module(&bi.Main),
		Modules:   make([]Module, 0, len(bi.Deps)),
		Settings:  bi.Settings,
		Info:      bi,
	}
	for _, d := range bi.Deps {
		if d == nil {
			continue
		}
		b.Modules = append(b.Modules, module(d))
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs":
			b.VCS.System = s.Value
		case "vcs.revision":
			b.VCS.Revision = s.Value
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339Nano, s.Value); err == nil {
				b.VCS.Time = t.UTC()
			}
		case "vcs.modified":
			b.VCS.Modified = s.Value == "true"
		}
	}
	return b, nil
}

func module(m *debug.Module) Module {
	out := Module{Path: m.Path, Version: m.Version, Sum: m.Sum}
	if m.Replace != nil {
		r := module(m.Replace)
		out.Replace = &r
	}
	return out
}
