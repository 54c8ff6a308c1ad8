package secrets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The backend contract.
//
// A [Backend] is Vault's HTTP API at its logical level: read, write, delete
// and list of a path ("secret/data/app", "auth/approle/login",
// "sys/leases/renew"), each with the client token it runs under. Everything
// else in this package (login methods, token renewal, KV v1 and v2, leases,
// PKI, transit) is written on top of those four calls, with Vault's own
// paths and payloads, so that the in-memory fake in package secretstest
// emulates Vault path by path and the same code runs against both. The
// Vault implementation ([NewVaultBackend], [VaultBackend]) wraps an
// *api.Client of github.com/hashicorp/vault/api.
//
// The client token is never held by a Backend: the [Client] owns it (it
// logs in, renews, logs in again) and passes it with every call. An empty
// token makes an unauthenticated call, as a login is.
//
// Paths Vault defines that this package and the fake rely on:
//
//	auth/<mount>/login            write: a login; Response.Auth holds the token
//	auth/token/lookup-self        read: the token's ttl, renewable, policies
//	auth/token/renew-self         write {"increment": "<seconds>s"}: Response.Auth
//	auth/token/revoke-self        write: the token and its leases end
//	sys/wrapping/unwrap           write, with the wrapping token: the wrapped response
//	sys/internal/ui/mounts/<path> read: {"type": "kv", "path": "secret/",
//	                              "options": {"version": "2"}} (the KV preflight)
//	sys/leases/renew              write {"lease_id", "increment"}: the renewed lease
//	sys/leases/revoke             write {"lease_id"}
//	sys/leases/lookup             write {"lease_id"}: {"ttl", "expire_time", ...}
//	<kv1 mount>/<path>            read, write, delete
//	<kv2 mount>/data/<path>       read (?version=N as path suffix "?version=N"),
//	                              write {"data": {...}}
//	<kv2 mount>/metadata/<path>   read, delete
//
// Errors are classified with the sentinels below: every error a Backend
// returns wraps exactly one of them (through a [*StatusError] when Vault
// answered), so callers decide with [errors.Is] whether to retry (ErrUnavailable,
// ErrSealed), log in again (ErrPermissionDenied) or give up.
//
// What the Client offers the rest of the package (lease manager, PKI,
// transit) beyond the Backend, in client.go:
//
//   - (*Client).do(ctx, op, fn): runs fn with the current token; when fn
//     fails with ErrPermissionDenied (an expired or revoked token reads as
//     "permission denied" in Vault), it logs in again once, after a backoff
//     step, and runs fn once more with the new token.
//   - (*Client).loginGeneration(): a counter bumped by every successful
//     login; and (*Client).onLogin(func(gen uint64)), called after every
//     re-login (not the first), in its own goroutine, so that the lease
//     manager re-fetches the leases that died with the old token.
//   - (*Client).call(ctx, op, fn(b Backend, token string) error) and
//     (*Client).subscribeLogin(fn): the same two, in the shape of the lease
//     manager's leaseOps interface, which *Client satisfies as it is.
//   - (*Client).now(): the time of Config.Clock (a [Clock], with Now and
//     After), the fake's clock in tests; (*Client).sleep(ctx, d) waits on it.
//   - (*Client).emit(ctx, paved.Event): sends an event to Config.Events.
//   - (*Client).backoffPolicy(): the internal/backoff policy of Config.
type Backend interface {
	// Read reads path. A path with no value is an error wrapping
	// [ErrNotFound]. A path may end in a query ("?version=3").
	Read(ctx context.Context, token, path string) (*Response, error)
	// Write writes data to path (HTTP PUT); data may be nil. A write with
	// nothing to return returns an empty Response, not nil.
	Write(ctx context.Context, token, path string, data map[string]any) (*Response, error)
	// Delete deletes path. Deleting a path with no value is not an error.
	Delete(ctx context.Context, token, path string) (*Response, error)
	// List lists the keys under path (Response.Data["keys"], a []any of
	// strings). An empty listing is an error wrapping [ErrNotFound], as in
	// Vault.
	List(ctx context.Context, token, path string) (*Response, error)
}

// A Response is what Vault answered, with the fields of api.Secret this
// package uses.
type Response struct {
	// RequestID is Vault's request ID, for correlating with its audit log.
	RequestID string
	// Data is the payload. Secret values in it are plain: never log a
	// Response's Data.
	Data map[string]any
	// LeaseID identifies a dynamic secret's lease; empty for static ones.
	LeaseID string
	// LeaseDuration is the lease's TTL from the time of the response.
	LeaseDuration time.Duration
	// Renewable reports whether the lease can be renewed.
	Renewable bool
	// Warnings are Vault's warnings about the request.
	Warnings []string
	// Auth is set by logins and token renewals.
	Auth *Auth
	// MountType is the type of the mount that answered, when Vault says.
	MountType string
}

// Auth is the authentication part of a [Response]: the client token a login
// issued or a renewal extended.
type Auth struct {
	// ClientToken is the token. It is a [Secret], so a Response printed
	// or logged by mistake does not reveal it.
	ClientToken Secret
	// Accessor names the token without being it; safe to log.
	Accessor string
	// Policies are the token's policies.
	Policies []string
	// LeaseDuration is the token's TTL from the time of the response.
	LeaseDuration time.Duration
	// Renewable reports whether the token can be renewed.
	Renewable bool
	// EntityID is the identity entity the token belongs to, if any.
	EntityID string
}

// Sentinel errors. Every error a [Backend] returns wraps exactly one, and
// so does every error of the [Client] that comes from its backend.
var (
	// ErrNotFound: nothing at the path (HTTP 404), or no such key or
	// version of a static secret.
	ErrNotFound = errors.New("secrets: not found")
	// ErrPermissionDenied: the token may not do this, or is expired or
	// revoked (HTTP 403).
	ErrPermissionDenied = errors.New("secrets: permission denied")
	// ErrSealed: Vault is sealed (HTTP 503 "Vault is sealed").
	ErrSealed = errors.New("secrets: vault is sealed")
	// ErrUnavailable: Vault could not be reached or answered with a
	// server error (connection refused, timeout, HTTP 5xx, 429).
	ErrUnavailable = errors.New("secrets: vault unavailable")
	// ErrInvalidRequest: Vault refused the request as malformed (HTTP 400,
	// 405, other 4xx).
	ErrInvalidRequest = errors.New("secrets: invalid request")
)

// A StatusError is an error answer from Vault. Its message holds the
// operation, the path, the status and Vault's own messages, which never
// carry secret values.
type StatusError struct {
	// Op is "read", "write", "delete" or "list".
	Op string
	// Path is the logical path, without "/v1/".
	Path string
	// Status is the HTTP status code.
	Status int
	// Messages are Vault's error messages.
	Messages []string
	kind     error
}

// NewStatusError returns the error of an answer with status to op on path,
// classified by status (and, for 503, by whether Vault says it is sealed).
// Backends other than Vault's (the fake) use it so that errors read alike.
func NewStatusError(op, path string, status int, messages ...string) *StatusError {
	e := &StatusError{Op: op, Path: path, Status: status, Messages: messages}
	switch {
	case status == 404:
		e.kind = ErrNotFound
	case status == 403:
		e.kind = ErrPermissionDenied
	case status == 503 && mentions(messages, "sealed"):
		e.kind = ErrSealed
	case status >= 500 || status == 429:
		e.kind = ErrUnavailable
	default:
		e.kind = ErrInvalidRequest
	}
	return e
}

func mentions(msgs []string, word string) bool {
	for _, m := range msgs {
		if strings.Contains(strings.ToLower(m), word) {
			return true
		}
	}
	return false
}

// Error returns "secrets: vault: <op> <path>: <status>: <messages>".
func (e *StatusError) Error() string {
	msg := strings.Join(e.Messages, "; ")
	if msg == "" {
		msg = e.kind.Error()
	}
	return fmt.Sprintf("secrets: vault: %s %s: %d: %s", e.Op, e.Path, e.Status, msg)
}

// Unwrap returns the sentinel that classifies e.
func (e *StatusError) Unwrap() error { return e.kind }

// unavailable wraps a transport error (no answer from Vault) in
// ErrUnavailable, keeping the cause.
func unavailable(op, path string, err error) error {
	return fmt.Errorf("%w: %s %s: %w", ErrUnavailable, op, path, err)
}

// retryable reports whether err is worth another try later: Vault was
// unreachable, overloaded or sealed.
func retryable(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrSealed)
}

// Token-level helpers over a Backend, shared by the login methods, the
// token renewer and the lease manager.

// renewSelf renews token by increment (0: Vault's default) and returns its
// new Auth.
func renewSelf(ctx context.Context, b Backend, token string, increment time.Duration) (*Auth, error) {
	var data map[string]any
	if increment > 0 {
		data = map[string]any{"increment": durationString(increment)}
	}
	r, err := b.Write(ctx, token, "auth/token/renew-self", data)
	if err != nil {
		return nil, err
	}
	if r == nil || r.Auth == nil {
		return nil, fmt.Errorf("%w: auth/token/renew-self answered without auth", ErrInvalidRequest)
	}
	return r.Auth, nil
}

// revokeSelf revokes token (and every lease it created).
func revokeSelf(ctx context.Context, b Backend, token string) error {
	_, err := b.Write(ctx, token, "auth/token/revoke-self", nil)
	return err
}

// RenewLease renews the lease leaseID by increment (0: the lease's own
// TTL) under token and returns Vault's answer (LeaseID, LeaseDuration,
// Renewable set).
func RenewLease(ctx context.Context, b Backend, token, leaseID string, increment time.Duration) (*Response, error) {
	data := map[string]any{"lease_id": leaseID}
	if increment > 0 {
		data["increment"] = int64(increment / time.Second)
	}
	return b.Write(ctx, token, "sys/leases/renew", data)
}

// RevokeLease revokes the lease leaseID under token.
func RevokeLease(ctx context.Context, b Backend, token, leaseID string) error {
	_, err := b.Write(ctx, token, "sys/leases/revoke", map[string]any{"lease_id": leaseID})
	return err
}

func durationString(d time.Duration) string {
	return fmt.Sprintf("%ds", int64(d/time.Second))
}
