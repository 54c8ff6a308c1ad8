package auth

import (
	"context"
	"errors"
	"time"
)

// ErrSessionNotFound is returned by a [SessionStore] for an unknown or
// expired session.
var ErrSessionNotFound = errors.New("auth: session not found")

// A SessionStore keeps browser sessions server-side, for sessions too
// large for a cookie or that must be revocable. The cookie then holds only
// a sealed random session ID, and the stored value is sealed too, so the
// store never sees tokens in clear. Implementations must be safe for
// concurrent use; package auth/redissession keeps sessions in Redis, and
// authtest.RunStoreConformance checks an implementation.
type SessionStore interface {
	// Save stores value under id for ttl, replacing any value there. The
	// login calls it only for a new session, under a fresh random id.
	Save(ctx context.Context, id string, value []byte, ttl time.Duration) error
	// Replace stores value under id for ttl only if id is there, and
	// returns ErrSessionNotFound otherwise, atomically: a renewal calls
	// it, so that a session deleted meanwhile (a logout on another
	// replica) is never created again. In Redis it is SET with XX.
	Replace(ctx context.Context, id string, value []byte, ttl time.Duration) error
	// Load returns ErrSessionNotFound for an unknown or expired id.
	Load(ctx context.Context, id string) ([]byte, error)
	// Delete removes id; deleting an unknown id is not an error.
	Delete(ctx context.Context, id string) error
}
