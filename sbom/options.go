package sbom

import "time"

// License is the main module's license as an SPDX license expression,
// declared at build time:
//
//	go build -ldflags "-X github.com/pavedroad/paved/sbom.License=Apache-2.0" ./cmd/app
//
// [Options.License] takes precedence. The variable describes the running
// binary only: a binary read from a file ([Read]) is described by the -X
// flag its own -ldflags build setting records, never by the reader's
// variable. Empty means undeclared: documents say NOASSERTION, never a
// guess.
var License string

// Options are the inputs of a document that the build info does not hold.
// The zero value is valid: the license is [License] (or NOASSERTION), the
// creation time is the commit time, and the provenance names no builder.
type Options struct {
	// License is the main module's license as an SPDX license expression
	// ("Apache-2.0", "MIT OR Apache-2.0"). Default: [License] (for the
	// running binary), then the -X flag for it in the build's -ldflags
	// setting, then LicenseFile, then NOASSERTION.
	License string
	// LicenseFile is the main module's license file (typically embedded
	// with //go:embed LICENSE). When its first lines hold an
	// "SPDX-License-Identifier: EXPR" tag, EXPR is the license; otherwise
	// the text is included as a LicenseRef with the file's text, never
	// matched against known licenses.
	LicenseFile []byte
	// Created is the document's creation time. Default: the VCS commit
	// time, else the Unix epoch, so that one binary always yields the same
	// bytes.
	Created time.Time
	// Builder is the identity of the system that built the binary, for the
	// provenance only; nil means none is claimed. See [BuilderFromEnv].
	Builder *Builder
}
