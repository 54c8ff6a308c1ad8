package policy

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// A Decision is the answer to one query. Allow is true only when the
// policy answered with allow true: an undefined document, an error, a
// timeout and a non-boolean allow all deny, and say so in Cause.
type Decision struct {
	// Allow reports whether the request is allowed.
	Allow bool
	// Reasons are the strings the policy gave in "reasons", in order (a
	// set's in sorted order). Shared with the decision cache: read-only.
	Reasons []string
	// Obligations is the object the policy gave in "obligations", decoded
	// as JSON values, or nil. Shared with the decision cache: read-only.
	Obligations map[string]any
	// Query is the query's name as the caller gave it.
	Query string
	// BundleRevision is the revision of the loaded bundle's manifest, or
	// "" for a source without one.
	BundleRevision string
	// ID identifies this decision in logs and problem responses; unique
	// per decision, cached ones included.
	ID DecisionID
	// Duration is how long the decision took, cache look-up included.
	Duration time.Duration
	// Cached reports whether the decision came from the decision cache.
	Cached bool
	// Cause is "" when the policy answered, else why it denied:
	// [CauseUndefined], [CauseError], [CauseTimeout], [CauseNonBoolean],
	// [CauseNotLoaded], [CauseBadInput], [CauseUnknown].
	Cause string
	// Err is the *[Error] behind Cause, or nil.
	Err error
}

// Reason returns the policy's first reason, else the cause, else "denied"
// for a denial and "" for an allow: one short string for an event or a
// log line.
func (d *Decision) Reason() string {
	switch {
	case len(d.Reasons) > 0:
		return d.Reasons[0]
	case d.Cause != "":
		return d.Cause
	case !d.Allow:
		return "denied"
	}
	return ""
}

// A DecisionID identifies one decision: 8 random bytes chosen when the
// process starts, then a counter, so that making one costs no system call
// and no allocation. Its String form is 32 hex digits.
type DecisionID [16]byte

var (
	idPrefix  [8]byte
	idCounter atomic.Uint64
)

func init() {
	if _, err := rand.Read(idPrefix[:]); err != nil {
		panic("policy: no randomness for decision IDs: " + err.Error())
	}
}

func newDecisionID() DecisionID {
	var id DecisionID
	copy(id[:8], idPrefix[:])
	binary.BigEndian.PutUint64(id[8:], idCounter.Add(1))
	return id
}

// String returns the ID as 32 hex digits.
func (id DecisionID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero ID (no decision).
func (id DecisionID) IsZero() bool { return id == DecisionID{} }

// MarshalText implements encoding.TextMarshaler.
func (id DecisionID) MarshalText() ([]byte, error) {
	b := make([]byte, 32)
	hex.Encode(b, id[:])
	return b, nil
}
