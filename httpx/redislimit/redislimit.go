package redislimit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/redisutil"
)

// Component is the name redislimit uses in its opt-out and configuration
// errors.
const Component = "redislimit"

// OptOutAllowLocalFallback is the name of the opt-out
// [AllowLocalFallback] returns.
const OptOutAllowLocalFallback = "allow-local-fallback"

// AllowLocalFallback returns the opt-out that makes a [Store] fall back to
// a per-replica in-memory limit when Redis fails, instead of denying. Put
// it in [Config.LocalFallback]; an httpx.Server that uses the store
// records it in its posture, with its rate-limit-store control disabled.
func AllowLocalFallback(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowLocalFallback, reason)
}

// gcraScript is the generic cell rate algorithm in one atomic step. The
// key holds the theoretical arrival time (TAT) in microseconds of Redis's
// own clock, so replicas with skewed clocks still share one limit.
//
//	KEYS[1] the policy and client key
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

// gcraSHA is the script's SHA-1, its name in Redis's script cache.
var gcraSHA = redis.NewScript(gcraScript).Hash()

// Client is the part of a go-redis client the store uses: the two calls
// that run a Lua script, by its cached SHA-1 and, when Redis does not
// have it yet, by its source. *redis.Client, *redis.ClusterClient and
// *redis.Ring implement it, as does anything that implements
// redis.Scripter.
type Client interface {
	EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd
	Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd
}

var (
	_ Client = (*redis.Client)(nil)
	_ Client = (*redis.ClusterClient)(nil)
	_ Client = (*redis.Ring)(nil)
	_ Client = redis.Scripter(nil)
)

// Defaults and ranges of [Config].
const (
	DefaultPrefix  = "paved:rl:"
	DefaultTimeout = 250 * time.Millisecond
	minTimeout     = 10 * time.Millisecond
	maxTimeout     = 5 * time.Second
)

// Config configures [New].
type Config struct {
	// Client is the Redis client (*redis.Client, *redis.ClusterClient or
	// *redis.Ring), built with ContextTimeoutEnabled: true so that it
	// honours Timeout; New refuses one of those three without it. Any
	// other Client must end a call when its context's deadline passes.
	// Required.
	Client Client
	// Prefix starts every key; "paved:rl:" when empty. The policy and the
	// client key follow it.
	Prefix string
	// Timeout bounds each Redis call, through its context's deadline.
	// Default 250ms; from 10ms to 5s. A call that runs over counts as a
	// failure.
	Timeout time.Duration
	// LocalFallback, when set to [AllowLocalFallback](reason), makes a
	// Redis failure fall back to a per-replica in-memory limit instead of
	// denying. The zero value denies (fail closed).
	LocalFallback paved.OptOut
	// MaxLocalClients caps the fallback store. Default 100,000; from
	// httpx.MaxClientsFloor to httpx.MaxClientsCeiling. It is an error
	// without LocalFallback.
	MaxLocalClients int
	// Logger receives failures (at most one line a second);
	// slog.Default when nil.
	Logger *slog.Logger
}

// Store is an [httpx.Store] in Redis, shared by every replica: GCRA in one
// atomic Lua script, using Redis's clock. Its keys name the whole policy
// (name, limit, window and burst) and the client key, so limiters with
// different policies sharing one Redis never share a bucket. When Redis
// fails or is slow it returns an error wrapping
// [httpx.ErrStoreUnavailable], so the request is denied, unless the
// [AllowLocalFallback] opt-out was given, in which case a local
// [httpx.MemoryStore] decides.
type Store struct {
	client   Client
	prefix   string
	timeout  time.Duration
	fallback *httpx.MemoryStore
	maxLocal int // the fallback's cap, as configured
	optOut   paved.OptOut
	logger   *slog.Logger
	lastWarn atomic.Int64
}

var _ httpx.Store = (*Store)(nil)

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
		c.Add("Timeout", fmt.Sprintf("%v is outside the allowed range %v to %v", cfg.Timeout, minTimeout, maxTimeout),
			fmt.Sprintf("set it from %v to %v, or leave it 0 for the default %v", minTimeout, maxTimeout, DefaultTimeout))
	}
	if o := cfg.LocalFallback; !o.IsZero() {
		switch err := o.Validate(); {
		case o.Component != Component || o.Name != OptOutAllowLocalFallback:
			c.Add("LocalFallback", fmt.Sprintf("is %s/%s", o.Component, o.Name), "want redislimit.AllowLocalFallback(reason)")
		case err != nil:
			c.Merge(&paved.ConfigError{Component: Component, Field: "Config.LocalFallback",
				Problem: "the reason given to redislimit.AllowLocalFallback is empty",
				Fix:     `say why a per-replica limit is acceptable here, such as redislimit.AllowLocalFallback("availability matters more than a shared limit")`,
				Err:     err})
		}
	}
	switch n := cfg.MaxLocalClients; {
	case n != 0 && cfg.LocalFallback.IsZero():
		c.Add("MaxLocalClients", fmt.Sprintf("%d is set without LocalFallback", n), "leave it 0, or add LocalFallback")
	case n == 0:
		cfg.MaxLocalClients = httpx.DefaultMaxClients
	case n < httpx.MaxClientsFloor || n > httpx.MaxClientsCeiling:
		c.Add("MaxLocalClients", fmt.Sprintf("%d is outside the allowed range %d to %d", n, httpx.MaxClientsFloor, httpx.MaxClientsCeiling),
			fmt.Sprintf("set it from %d to %d, or leave it 0 for the default %d", httpx.MaxClientsFloor, httpx.MaxClientsCeiling, httpx.DefaultMaxClients))
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	s := &Store{client: cfg.Client, prefix: cfg.Prefix, timeout: cfg.Timeout, logger: cfg.Logger}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if !cfg.LocalFallback.IsZero() {
		s.optOut = cfg.LocalFallback
		s.fallback = httpx.NewMemoryStore(cfg.MaxLocalClients)
		s.maxLocal = cfg.MaxLocalClients
	}
	return s, nil
}

// OptOuts returns the store's opt-outs, which an [httpx.Server] records
// in its posture.
func (s *Store) OptOuts() []paved.OptOut {
	if s.optOut.IsZero() {
		return nil
	}
	return []paved.OptOut{s.optOut}
}

// String describes the store for the posture report, naming a timeout
// changed from its default.
func (s *Store) String() string {
	var b strings.Builder
	b.WriteString("in Redis, timeout ")
	b.WriteString(s.timeout.String())
	if s.timeout != DefaultTimeout {
		b.WriteString(" (default " + DefaultTimeout.String() + ")")
	}
	if s.fallback != nil {
		b.WriteString(", local fallback (opt-out) of at most " + strconv.Itoa(s.maxLocal) + " keys")
		if s.maxLocal != httpx.DefaultMaxClients {
			b.WriteString(" (default " + strconv.Itoa(httpx.DefaultMaxClients) + ")")
		}
	}
	return b.String()
}

// Take implements [httpx.Store]. Zero fields of p take their defaults.
func (s *Store) Take(ctx context.Context, key string, p httpx.RatePolicy) (httpx.RateDecision, error) {
	p = p.WithDefaults()
	d, err := s.take(ctx, key, p)
	if err == nil {
		return d, nil
	}
	err = fmt.Errorf("%w: %w", httpx.ErrStoreUnavailable, err)
	if s.fallback == nil {
		return httpx.RateDecision{}, err
	}
	if now := time.Now().UnixNano(); now-s.lastWarn.Load() >= int64(time.Second) {
		s.lastWarn.Store(now)
		s.logger.LogAttrs(ctx, slog.LevelWarn, "redislimit: Redis rate-limit store failed; using the local limit (opt-out)",
			slog.String("error", err.Error()), slog.String("reason", s.optOut.Reason))
	}
	return s.fallback.Take(ctx, key, p)
}

// redisKey returns the key of key under p: the prefix, the whole policy
// ("name/limit/window/burst"; a name holds no "/") and the key. The
// window is in seconds ("60"), or, when it is not a whole number of them,
// as time.Duration prints it ("1.5s"), so that no two windows share a key.
func (s *Store) redisKey(key string, p httpx.RatePolicy) string {
	w := p.Window.String()
	if p.Window%time.Second == 0 {
		w = strconv.FormatInt(int64(p.Window/time.Second), 10)
	}
	return s.prefix + p.Name + "/" + strconv.Itoa(p.Limit) + "/" + w + "/" + strconv.Itoa(p.Burst) + ":" + key
}

func (s *Store) take(ctx context.Context, key string, p httpx.RatePolicy) (httpx.RateDecision, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	emission := (p.Window / time.Duration(p.Limit)).Microseconds()
	if emission < 1 {
		emission = 1
	}
	keys := []string{s.redisKey(key, p)}
	args := []any{strconv.FormatInt(emission, 10), strconv.Itoa(p.Burst)}
	// What redis.Script.Run does, on the narrower Client: the cached
	// script by its SHA-1, its source only when Redis lacks it.
	cmd := s.client.EvalSha(ctx, gcraSHA, keys, args...)
	if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		cmd = s.client.Eval(ctx, gcraScript, keys, args...)
	}
	res, err := cmd.Int64Slice()
	if err != nil {
		return httpx.RateDecision{}, err
	}
	if len(res) != 4 {
		return httpx.RateDecision{}, fmt.Errorf("unexpected script reply %v", res)
	}
	return httpx.RateDecision{
		Allowed:    res[0] == 1,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
		Reset:      time.Duration(res[3]) * time.Microsecond,
	}, nil
}
