package secrets

import "strings"

// Reasons name the precise cause of an *[Error]. They are stable,
// machine-friendly strings for events and logs.
const (
	// ReasonStartup: New could not log in within its bounded retries.
	ReasonStartup = "startup"
	// ReasonBadReference: a secret reference does not parse.
	ReasonBadReference = "bad_reference"
	// ReasonMissingKey: the secret exists but has no such key.
	ReasonMissingKey = "missing_key"
	// ReasonNotFound: no secret (or no such version) at the path.
	ReasonNotFound = "not_found"
	// ReasonWrongMount: the path is not on a KV mount (KV v1 or v2), or a
	// version was asked of KV v1.
	ReasonWrongMount = "wrong_mount"
	// ReasonPermissionDenied: Vault refused the token.
	ReasonPermissionDenied = "permission_denied"
	// ReasonUnavailable: Vault is unreachable or sealed and there is no
	// good value to serve.
	ReasonUnavailable = "unavailable"
	// ReasonStale: Vault has been unreachable for longer than
	// Config.MaxStale since the last good read; the cached value is no
	// longer served.
	ReasonStale = "stale"
	// ReasonBadTarget: Inject was given something other than a pointer
	// to a struct, or a tagged field of a type it cannot fill.
	ReasonBadTarget = "bad_target"
	// ReasonClosed: the client was closed.
	ReasonClosed = "closed"
)

// Error is a failure of the [Client]: an operation, the reference or field
// it concerned, a reason, and the cause (which wraps a backend sentinel
// such as [ErrNotFound] when there is one). Its message never holds a
// secret value.
type Error struct {
	// Op is the operation: "start", "read", "inject", "renew"...
	Op string
	// Reason is one of the Reason constants.
	Reason string
	// Ref is the secret reference, when there is one.
	Ref string
	// Field is the struct field Inject was filling, when there is one.
	Field string
	// Target is what was unreachable (Vault's address), for start-up.
	Target string
	// Err is the cause; may be nil.
	Err error
}

// Error returns "secrets: <op> [field F] [ref R] [target T]: <reason>: <cause>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("secrets: ")
	b.WriteString(e.Op)
	if e.Field != "" {
		b.WriteString(" field ")
		b.WriteString(e.Field)
	}
	if e.Ref != "" {
		b.WriteString(" ")
		b.WriteString(e.Ref)
	}
	if e.Target != "" {
		b.WriteString(" (")
		b.WriteString(e.Target)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }
