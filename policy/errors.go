package policy

import (
	"errors"
	"strings"
)

// Sentinel errors. Every failed decision returned by this package carries
// an *[Error] that wraps exactly one of them; the decision denies.
var (
	// ErrUndefined: the query's document is undefined for the input (no
	// rule matched and there is no default).
	ErrUndefined = errors.New("policy: decision undefined")
	// ErrEvaluation: evaluation failed (a built-in error with strict
	// built-in errors, a conflict between rules, a bad query).
	ErrEvaluation = errors.New("policy: evaluation failed")
	// ErrTimeout: evaluation ran past its deadline ([Config.Timeout]) or
	// its context ended.
	ErrTimeout = errors.New("policy: evaluation deadline exceeded")
	// ErrNonBoolean: the decision's allow is not a boolean.
	ErrNonBoolean = errors.New("policy: allow is not a boolean")
	// ErrNotLoaded: no policy is loaded yet (a remote bundle that has not
	// been fetched).
	ErrNotLoaded = errors.New("policy: no policy loaded")
	// ErrInput: the input is too deep, too large or not convertible.
	ErrInput = errors.New("policy: input rejected")
	// ErrUnknownQuery: the query name is neither declared in
	// [Config.Queries] nor a data reference.
	ErrUnknownQuery = errors.New("policy: unknown query")
	// ErrLoad: a policy source failed to load: a module that does not
	// compile, a bundle that does not verify, a refused built-in.
	ErrLoad = errors.New("policy: load failed")
)

// Causes name why a decision denied without the policy saying so. They are
// stable, machine-friendly strings used in decision logs, events and
// problem responses.
const (
	CauseUndefined  = "undefined"
	CauseError      = "error"
	CauseTimeout    = "timeout"
	CauseNonBoolean = "non_boolean"
	CauseNotLoaded  = "not_loaded"
	CauseBadInput   = "bad_input"
	CauseUnknown    = "unknown_query"
)

// An Error is a failed decision or load. Cause is one of the Cause
// constants for decisions; for a load failure it is "load".
type Error struct {
	// Cause is the machine-friendly cause (CauseTimeout, ...).
	Cause string
	// Query names the query, for a decision.
	Query string
	// Err wraps one of the sentinel errors, and the underlying error.
	Err error
}

// Error returns "policy: query q: " and the cause's message.
func (e *Error) Error() string {
	s := "policy: "
	if e.Query != "" {
		s += "query " + e.Query + ": "
	}
	return s + strings.TrimPrefix(e.Err.Error(), "policy: ")
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }
