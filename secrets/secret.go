package secrets

import (
	"bytes"
	"fmt"
	"log/slog"
)

// Redacted is what a [Secret] prints, logs and marshals as, whatever its
// value.
const Redacted = "REDACTED"

// A Secret holds a secret value that cannot leak by accident: fmt (every
// verb, %v %+v %#v %s %q %x included), slog, encoding/json,
// encoding/text and encoding/gob all see [Redacted]. Only [Secret.Reveal]
// and [Secret.RevealBytes] give the value. The zero Secret is empty.
//
// A Secret is immutable and safe for concurrent use; copying one copies a
// reference to the same value.
type Secret struct {
	v *string
}

// NewSecret returns a Secret holding v.
func NewSecret(v string) Secret { return Secret{v: &v} }

// Reveal returns the value. Call it where the value is used (a password
// handed to a driver), never to log it.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// RevealBytes returns a fresh copy of the value as bytes.
func (s Secret) RevealBytes() []byte { return []byte(s.Reveal()) }

// IsZero reports whether s holds no value (or the empty string).
func (s Secret) IsZero() bool { return s.v == nil || *s.v == "" }

// Equal reports whether s and o hold the same value. It is not a
// constant-time comparison; do not use it to check a credential.
func (s Secret) Equal(o Secret) bool { return s.Reveal() == o.Reveal() }

// String returns [Redacted].
func (s Secret) String() string { return Redacted }

// GoString returns [Redacted], for %#v.
func (s Secret) GoString() string { return Redacted }

// Format writes [Redacted] for every verb and flag.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue implements [slog.LogValuer].
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON returns the JSON string "REDACTED".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText returns REDACTED.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// GobEncode returns REDACTED, so a gob stream never carries the value.
func (s Secret) GobEncode() ([]byte, error) { return []byte(Redacted), nil }

// GobDecode leaves s empty when the input is REDACTED (what GobEncode
// writes); a Secret cannot be decoded into a value, only built by
// [NewSecret].
func (s *Secret) GobDecode(b []byte) error {
	if !bytes.Equal(b, []byte(Redacted)) {
		return fmt.Errorf("secrets: a Secret decodes only from %q", Redacted)
	}
	*s = Secret{}
	return nil
}

var (
	_ fmt.Stringer   = Secret{}
	_ fmt.GoStringer = Secret{}
	_ fmt.Formatter  = Secret{}
	_ slog.LogValuer = Secret{}
)
