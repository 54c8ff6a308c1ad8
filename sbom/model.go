package sbom

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// noAssertion is SPDX's "nothing is asserted" value.
const noAssertion = "NOASSERTION"

// toolName names this package as the documents' creator.
const toolName = "github.com/pavedroad/paved/sbom"

// mainLicenseRef is the SPDX id given to a license file's text when the
// file carries no SPDX-License-Identifier tag.
const mainLicenseRef = "LicenseRef-main-module"

// declaredLicense is the main module's license as the options declare it.
type declaredLicense struct {
	expr string // an SPDX expression, or mainLicenseRef, or ""
	text string // the license file's text when expr is mainLicenseRef
}

// license returns the main module's declared license: o.License; else,
// for a build not read from a file (the running binary), the [License]
// variable; else the -X flag for [License] that the build's own -ldflags
// setting records; else o.LicenseFile. The reader's own License variable
// never applies to a binary read from a file: `paved sbom` built with
// -X ...sbom.License=Apache-2.0 must not declare Apache-2.0 for every
// binary it reads.
func (b *Build) license(o Options) declaredLicense {
	if e := strings.TrimSpace(o.License); e != "" {
		return declaredLicense{expr: e}
	}
	if b.Path == "" {
		if e := strings.TrimSpace(License); e != "" {
			return declaredLicense{expr: e}
		}
	}
	if e := strings.TrimSpace(b.ldflagsLicense()); e != "" {
		return declaredLicense{expr: e}
	}
	if len(o.LicenseFile) > 0 {
		if e := spdxTag(o.LicenseFile); e != "" {
			return declaredLicense{expr: e}
		}
		return declaredLicense{expr: mainLicenseRef, text: string(o.LicenseFile)}
	}
	return declaredLicense{}
}

// licenseVar is the -X name of [License].
const licenseVar = "github.com/pavedroad/paved/sbom.License="

// ldflagsLicense returns the value the build's -ldflags setting gives
// [License] with -X (the last one, as the linker takes it), or "".
func (b *Build) ldflagsLicense() string {
	flags, ok := b.Setting("-ldflags")
	if !ok {
		return ""
	}
	args := splitQuoted(flags)
	var v string
	for i, a := range args {
		a = strings.TrimPrefix(a, "-")
		switch {
		case (a == "X" || a == "-X") && i+1 < len(args):
			if val, ok := strings.CutPrefix(args[i+1], licenseVar); ok {
				v = val
			}
		case strings.HasPrefix(a, "X=") || strings.HasPrefix(a, "-X="):
			_, rest, _ := strings.Cut(a, "=")
			if val, ok := strings.CutPrefix(rest, licenseVar); ok {
				v = val
			}
		}
	}
	return v
}

// splitQuoted splits s at spaces outside single or double quotes, as the
// go command splits -ldflags.
func splitQuoted(s string) []string {
	var out []string
	var cur strings.Builder
	var quote byte
	inField := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, inField = c, true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inField {
				out = append(out, cur.String())
				cur.Reset()
				inField = false
			}
		default:
			cur.WriteByte(c)
			inField = true
		}
	}
	if inField {
		out = append(out, cur.String())
	}
	return out
}

// spdxTag returns the expression of an "SPDX-License-Identifier:" tag in
// the first five lines of text, or "".
func spdxTag(text []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(text))
	for i := 0; i < 5 && sc.Scan(); i++ {
		if _, after, ok := strings.Cut(sc.Text(), "SPDX-License-Identifier:"); ok {
			return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(after), "*/"))
		}
	}
	return ""
}

// created returns the document time: the option, else the commit time,
// else the Unix epoch (never the wall clock, so that the output is
// deterministic), truncated to seconds as SPDX wants.
func (b *Build) created(o Options) time.Time {
	t := o.Created
	if t.IsZero() {
		t = b.VCS.Time
	}
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Truncate(time.Second)
}

// digest is a SHA-256 over everything a document says, from which the
// document's namespace and serial number derive: the same binary and
// options give the same identifiers, a different one different ones.
func (b *Build) digest(o Options) [32]byte {
	h := sha256.New()
	w := func(s ...string) {
		for _, x := range s {
			h.Write([]byte(x))
			h.Write([]byte{0})
		}
	}
	var mod func(m Module)
	mod = func(m Module) {
		w(m.Path, m.Version, m.Sum)
		if m.Replace != nil {
			w("=>")
			mod(*m.Replace)
		}
	}
	w(b.GoVersion, b.Command)
	mod(b.Main)
	for _, m := range b.Modules {
		mod(m)
	}
	for _, s := range b.Settings {
		w(s.Key, s.Value)
	}
	l := b.license(o)
	w(l.expr, l.text, b.created(o).Format(time.RFC3339))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// uuid formats the first 16 bytes of d as an RFC 9562 version 8 (custom)
// UUID.
func uuid(d [32]byte) string {
	u := d[:16]
	u[6] = u[6]&0x0f | 0x80
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// mainName is the main module's name, with a fallback for build info
// that has none (a test binary, a GOPATH build).
func (b *Build) mainName() string {
	switch {
	case b.Main.Path != "":
		return b.Main.Path
	case b.Command != "":
		return b.Command
	}
	return "unknown"
}

// stdlibVersion is the toolchain's version without GOEXPERIMENT suffixes
// ("go1.25.5 X:nodwarf5" becomes "go1.25.5").
func (b *Build) stdlibVersion() string {
	v, _, _ := strings.Cut(b.GoVersion, " ")
	return v
}

// sourceInfo describes the main module's VCS state in one line, or "".
func (b *Build) sourceInfo() string {
	v := b.VCS
	if !v.Known() {
		return ""
	}
	s := "built from " + cmpOr(v.System, "vcs") + " revision " + v.Revision
	if !v.Time.IsZero() {
		s += " committed " + v.Time.Format(time.RFC3339)
	}
	if v.Modified {
		s += ", with uncommitted changes (vcs.modified=true)"
	} else {
		s += ", working tree clean (vcs.modified=false)"
	}
	return s
}

// replaceNote describes a replaced module in one line.
func replaceNote(m Module) string {
	if m.Replace == nil {
		return ""
	}
	r := *m.Replace
	to := r.Path
	if r.Version != "" && !r.IsLocal() {
		to += "@" + r.Version
	}
	from := m.Path
	if m.Version != "" {
		from += "@" + m.Version
	}
	if r.IsLocal() {
		return "replaced: " + from + " => local directory " + to + " (go.mod replace directive)"
	}
	return "replaced: " + from + " => " + to + " (go.mod replace directive)"
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
