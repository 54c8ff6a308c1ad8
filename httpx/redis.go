package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved"
)

// gcraScript is the generic cell rate algorithm in one atomic step. The
// key holds the theoretical arrival time (TAT) in microseconds of Redis's
// own clock, so replicas with skewed clocks still share one limit.
//
//	KEYS[1] the client key
//	ARGV[1] emission interval, microseconds (Window / Limit)
//	ARGV[2] burst
//
// It returns {allowed, remaining, retry_after_us, reset_us}.
const gcraScript = `
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local allow_at = tat + emission - emission * burst
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
local new_tat = tat + emission
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / emission), 0, new_tat - now}
`

var gcra = redis.NewScript(gcraScript)

// DefaultRedisTimeout bounds one Redis round trip of a [RedisStore].
const DefaultRedisTimeout = 250 * time.Millisecond

// RedisStoreConfig configures [NewRedisStore].
type RedisStoreConfig struct {
	// Client is the Redis client (*redis.Client, *redis.ClusterClient or
	// *redis.Ring). Required.
	Client redis.Scripter
	// Prefix starts every key; "paved:rl:" when empty. The policy name
	// and the client key follow it.
	Prefix string
	// Timeout bounds each Redis call; DefaultRedisTimeout (250 ms) when
	// zero. A call that runs over counts as a failure.
	Timeout time.Duration
	// LocalFallback, when set to [RedisLocalFallback](reason), makes a
	// Redis failure fall back to a per-replica in-memory limit instead of
	// denying. The zero value denies (fail closed).
	LocalFallback paved.OptOut
	// MaxLocalClients caps the fallback store; DefaultMaxClients when
	// zero.
	MaxLocalClients int
	// Logger receives failures (at most one line a second);
	// slog.Default when nil.
	Logger *slog.Logger
}

// RedisStore is a [Store] in Redis, shared by every replica: GCRA in one
// atomic Lua script, using Redis's clock. When Redis fails or is slow it
// returns an error wrapping [ErrStoreUnavailable], so the request is
// denied, unless the [RedisLocalFallback] opt-out was given, in which case
// a local [MemoryStore] decides.
type RedisStore struct {
	client   redis.Scripter
	prefix   string
	timeout  time.Duration
	fallback *MemoryStore
	optOut   paved.OptOut
	logger   *slog.Logger
	lastWarn atomic.Int64
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore validates cfg and returns the store.
func NewRedisStore(cfg RedisStoreConfig) (*RedisStore, error) {
	if cfg.Client == nil {
		return nil, fieldErr("RedisStoreConfig.Client", errors.New("httpx: RedisStoreConfig.Client is nil: pass a *redis.Client"))
	}
	if cfg.Timeout < 0 {
		return nil, fieldErr("RedisStoreConfig.Timeout", fmt.Errorf("httpx: RedisStoreConfig.Timeout %v: want a positive duration, or 0 for %v", cfg.Timeout, DefaultRedisTimeout))
	}
	s := &RedisStore{client: cfg.Client, prefix: cfg.Prefix, timeout: cfg.Timeout, logger: cfg.Logger}
	if s.prefix == "" {
		s.prefix = "paved:rl:"
	}
	if s.timeout == 0 {
		s.timeout = DefaultRedisTimeout
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if !cfg.LocalFallback.IsZero() {
		o := cfg.LocalFallback
		if err := o.Validate(); err != nil {
			return nil, fieldErr("RedisStoreConfig.LocalFallback", fmt.Errorf("httpx: RedisStoreConfig.LocalFallback: %w", err))
		}
		if o.Component != Component || o.Name != OptOutRedisLocalLimits {
			return nil, fieldErr("RedisStoreConfig.LocalFallback", fmt.Errorf("httpx: RedisStoreConfig.LocalFallback is %s/%s: want httpx.RedisLocalFallback(reason)", o.Component, o.Name))
		}
		s.optOut = o
		s.fallback = NewMemoryStore(cfg.MaxLocalClients)
	}
	return s, nil
}

// OptOuts returns the store's opt-outs, which a [Server] records in its
// posture.
func (s *RedisStore) OptOuts() []paved.OptOut {
	if s.optOut.IsZero() {
		return nil
	}
	return []paved.OptOut{s.optOut}
}

// Take implements [Store]. Zero fields of p take their defaults.
func (s *RedisStore) Take(ctx context.Context, key string, p Policy) (Decision, error) {
	p = p.withDefaults()
	d, err := s.take(ctx, key, p)
	if err == nil {
		return d, nil
	}
	err = fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	if s.fallback == nil {
		return Decision{}, err
	}
	if now := time.Now().UnixNano(); now-s.lastWarn.Load() >= int64(time.Second) {
		s.lastWarn.Store(now)
		s.logger.LogAttrs(ctx, slog.LevelWarn, "httpx: Redis rate-limit store failed; using the local limit (opt-out)",
			slog.String("error", err.Error()), slog.String("reason", s.optOut.Reason))
	}
	return s.fallback.Take(ctx, key, p)
}

func (s *RedisStore) take(ctx context.Context, key string, p Policy) (Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	emission := p.every().Microseconds()
	if emission < 1 {
		emission = 1
	}
	res, err := gcra.Run(ctx, s.client, []string{s.prefix + p.Name + ":" + key},
		strconv.FormatInt(emission, 10), strconv.Itoa(p.Burst)).Int64Slice()
	if err != nil {
		return Decision{}, err
	}
	if len(res) != 4 {
		return Decision{}, fmt.Errorf("unexpected script reply %v", res)
	}
	return Decision{
		Allowed:    res[0] == 1,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
		Reset:      time.Duration(res[3]) * time.Microsecond,
	}, nil
}
