// Package secrets is a stand-in for the SDK's Secret.
package secrets

type Secret struct{ v string }

func (s Secret) Reveal() string      { return s.v }
func (s Secret) RevealBytes() []byte { return []byte(s.v) }
func (s Secret) String() string      { return "[redacted]" }
