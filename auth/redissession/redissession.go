package redissession

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/internal/redisutil"
)

// Component is the name redissession uses in its configuration errors.
const Component = "redissession"

// Client is the part of a go-redis client the store uses: GET, SET with
// an expiry, SET XX (replace only an existing key) and DEL.
// *redis.Client, *redis.ClusterClient, *redis.Ring and every
// redis.UniversalClient implement it.
type Client interface {
	Get(ctx context.Context, key string) *redis.StringCmd
	Set(ctx context.Context, key string, value any, expiration time.Duration) *redis.StatusCmd
	SetXX(ctx context.Context, key string, value any, expiration time.Duration) *redis.BoolCmd
	Del(ctx context.Context, keys ...string) *redis.IntCmd
}

var (
	_ Client = (*redis.Client)(nil)
	_ Client = (*redis.ClusterClient)(nil)
	_ Client = (*redis.Ring)(nil)
	_ Client = redis.UniversalClient(nil)
)

// Defaults and ranges of [Config].
const (
	DefaultPrefix  = "paved:session:"
	DefaultTimeout = 250 * time.Millisecond
	minTimeout     = 10 * time.Millisecond
	maxTimeout     = 5 * time.Second
)

// Config configures [New].
type Config struct {
	// Client is the Redis client (*redis.Client, *redis.ClusterClient,
	// *redis.Ring or any redis.UniversalClient). Required. A
	// *redis.Client, *redis.ClusterClient or *redis.Ring must be built
	// with ContextTimeoutEnabled: true, without which go-redis ignores
	// Timeout and waits its own ReadTimeout (3 s by default); New
	// refuses one without it.
	Client Client
	// Prefix starts every key; "paved:session:" when empty. The session
	// ID follows it.
	Prefix string
	// Timeout bounds each Redis call: default 250 ms, at least 10 ms, at
	// most 5 s. A call that runs over fails, and the login treats it as
	// no session (fail closed).
	Timeout time.Duration
}

// Store is an [auth.SessionStore] in Redis, sharing browser sessions
// across replicas. It stores what the login gives it, a value already
// sealed with the login's cookie keys, so Redis never holds tokens in
// clear; each key expires with its session.
type Store struct {
	client  Client
	prefix  string
	timeout time.Duration
}

var _ auth.SessionStore = (*Store)(nil)

// New validates cfg and returns the store. Its error holds a
// [paved.ConfigError] for every faulty field.
func New(cfg Config) (*Store, error) {
	c := paved.ConfigCheck{Component: Component, Prefix: "Config."}
	if cfg.Client == nil {
		c.Add("Client", "nil", "pass a go-redis client, such as redis.NewClient(&redis.Options{Addr: \"127.0.0.1:6379\", ContextTimeoutEnabled: true})")
	} else if redisutil.IgnoresDeadlines(cfg.Client) {
		c.Add("Client", fmt.Sprintf("a %T without ContextTimeoutEnabled ignores Config.Timeout: go-redis then waits its own ReadTimeout (3s by default) for a Redis that does not answer", cfg.Client),
			"set ContextTimeoutEnabled: true in the client's options")
	}
	switch {
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	case cfg.Timeout < minTimeout || cfg.Timeout > maxTimeout:
		c.Add("Timeout", fmt.Sprintf("%v is out of range", cfg.Timeout),
			fmt.Sprintf("want %v to %v, or 0 for the default %v", minTimeout, maxTimeout, DefaultTimeout))
	}
	if strings.ContainsAny(cfg.Prefix, "*?[]") {
		c.Add("Prefix", fmt.Sprintf("%q holds a glob character", cfg.Prefix), "use a plain prefix, such as \"myapp:session:\"")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	return &Store{client: cfg.Client, prefix: cfg.Prefix, timeout: cfg.Timeout}, nil
}

// String describes the store, naming a timeout changed from its default.
func (s *Store) String() string {
	d := "in Redis under " + s.prefix + ", timeout " + s.timeout.String()
	if s.timeout != DefaultTimeout {
		d += " (default " + DefaultTimeout.String() + ")"
	}
	return d
}

// Save implements [auth.SessionStore].
func (s *Store) Save(ctx context.Context, id string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("redissession: a session needs a positive TTL")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.client.Set(ctx, s.prefix+id, value, ttl).Err()
}

// Replace implements [auth.SessionStore] with SET XX: it stores value
// only over an existing key, and returns [auth.ErrSessionNotFound] when
// the key is gone (deleted by a logout, or expired), so a renewal never
// creates a session again.
func (s *Store) Replace(ctx context.Context, id string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("redissession: a session needs a positive TTL")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ok, err := s.client.SetXX(ctx, s.prefix+id, value, ttl).Result()
	if err != nil {
		return err
	}
	if !ok {
		return auth.ErrSessionNotFound
	}
	return nil
}

// Load implements [auth.SessionStore]: an unknown or expired id is
// [auth.ErrSessionNotFound].
func (s *Store) Load(ctx context.Context, id string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	b, err := s.client.Get(ctx, s.prefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, auth.ErrSessionNotFound
	}
	return b, err
}

// Delete implements [auth.SessionStore].
func (s *Store) Delete(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.client.Del(ctx, s.prefix+id).Err()
}
