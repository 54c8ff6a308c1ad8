package sbom

import "errors"

// A Reason says why build info could not be read.
type Reason string

// Reasons of an [*Error].
const (
	// ReasonOpen: the file could not be opened or read.
	ReasonOpen Reason = "open"
	// ReasonNotExecutable: the file is not an executable of any format Go
	// builds (ELF, Mach-O, PE, XCOFF, Wasm).
	ReasonNotExecutable Reason = "not_executable"
	// ReasonNoBuildInfo: an executable without Go build info: not built by
	// Go, built before Go 1.13 module mode, or with its .go.buildinfo
	// section removed. (strip and -ldflags=-s keep build info.)
	ReasonNoBuildInfo Reason = "no_build_info"
	// ReasonMalformed: an executable that is truncated or corrupt.
	ReasonMalformed Reason = "malformed"
)

// ErrBuildInfo is matched by every [*Error] with [errors.Is].
var ErrBuildInfo = errors.New("sbom: cannot read Go build info")

// An Error reports why build info could not be read from a binary.
type Error struct {
	// Reason is the machine-readable cause.
	Reason Reason
	// Path is the file, when there is one.
	Path string
	// Err is the underlying error.
	Err error
}

// Error returns "sbom: cannot read Go build info from PATH: REASON: cause".
func (e *Error) Error() string {
	s := "sbom: cannot read Go build info"
	if e.Path != "" {
		s += " from " + e.Path
	}
	s += ": " + string(e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// Is reports true for [ErrBuildInfo], and for an *Error target with the
// same Reason (or an empty one).
func (e *Error) Is(target error) bool {
	if target == ErrBuildInfo {
		return true
	}
	t, ok := target.(*Error)
	return ok && (t.Reason == "" || t.Reason == e.Reason) && t.Path == "" && t.Err == nil
}
