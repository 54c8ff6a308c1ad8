package auth

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrSessionNotFound is returned by a [SessionStore] for an unknown or
// expired session.
var ErrSessionNotFound = errors.New("auth: session not found")

// A SessionStore keeps browser sessions server-side, for sessions too
// large for a cookie or that must be revocable. The cookie then holds only
// a sealed random session ID, and the stored value is sealed too, so the
// store never sees tokens in clear. Implementations must be safe for
// concurrent use.
type SessionStore interface {
	Save(ctx context.Context, id string, value []byte, ttl time.Duration) error
	// Load returns ErrSessionNotFound for an unknown or expired id.
	Load(ctx context.Context, id string) ([]byte, error)
	Delete(ctx context.Context, id string) error
}

// RedisStore is a [SessionStore] in Redis (any go-redis client: single
// node, cluster, sentinel), sharing sessions across replicas.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
}

var _ SessionStore = (*RedisStore)(nil)

// NewRedisStore returns a store keeping sessions under prefix (default
// "paved:session:").
func NewRedisStore(client redis.UniversalClient, prefix string) *RedisStore {
	if prefix == "" {
		prefix = "paved:session:"
	}
	return &RedisStore{client: client, prefix: prefix}
}

// Save implements [SessionStore].
func (s *RedisStore) Save(ctx context.Context, id string, value []byte, ttl time.Duration) error {
	return s.client.Set(ctx, s.prefix+id, value, ttl).Err()
}

// Load implements [SessionStore].
func (s *RedisStore) Load(ctx context.Context, id string) ([]byte, error) {
	b, err := s.client.Get(ctx, s.prefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrSessionNotFound
	}
	return b, err
}

// Delete implements [SessionStore].
func (s *RedisStore) Delete(ctx context.Context, id string) error {
	return s.client.Del(ctx, s.prefix+id).Err()
}
