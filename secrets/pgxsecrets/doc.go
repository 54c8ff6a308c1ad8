// Package pgxsecrets connects to PostgreSQL with dynamic credentials from
// Vault's database engine (package secrets) through a pgx pool
// (github.com/jackc/pgx/v5/pgxpool), and swaps the pool when the
// credentials rotate, without dropping requests.
//
// A [Pool] holds one pgxpool.Pool built with the current lease's username
// and password. When the lease can no longer be renewed (max TTL, a refused
// renewal, a re-login of the Client), [secrets.Dynamic] fetches fresh
// credentials and calls the Pool: it builds a new pool with them, checks
// that it logs in (Ping), and only then puts it in use. Requests that
// started on the old pool finish there; the old pool closes once they
// have, and only then is the old lease revoked (which drops the old
// database user). A new pool that cannot log in is closed, its lease
// revoked, and the old pool keeps serving while the rotation is retried
// with backoff.
//
// Use the Pool's methods (Exec, Query, QueryRow, Begin, Acquire): each
// picks the pool in use at the time of the call, and none ever waits for a
// rotation.
package pgxsecrets
