package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/httpx/redislimit"
)

// redisPrefix starts the quickstart's rate-limit keys in Redis.
const redisPrefix = "paved:quickstart:rl:"

// rateLimitStore returns the store of both rate limits (the server's 600
// a minute per client and /limited's 2 a minute): nil, which means each
// limiter's own in-memory store, or, with REDIS_ADDR (host:port) set, one
// Redis store (package redislimit) shared by every instance that uses
// that Redis. Redis failing denies (503), as in production: no fallback.
// It logs the choice and records it in reg.
//
// With Redis it also returns a readiness check: while Redis is down every
// request is denied, and /readyz says so.
func rateLimitStore(ctx context.Context, getenv func(string) string, logger *slog.Logger, reg *paved.Registration) (httpx.Store, httpx.Check, func(), error) {
	addr := getenv(envRedis)
	if addr == "" {
		logger.Info("rate limits: in memory, per process; set " + envRedis + " to share them through Redis")
		reg.SetControl("shared-rate-limit", false, "in memory, per process; set "+envRedis+" to share the limits through Redis")
		return nil, nil, func() {}, nil
	}
	// host:port only: a redis:// URL may carry a password, which this
	// error (and the log and posture report below) must not echo.
	if _, _, err := net.SplitHostPort(addr); err != nil || strings.ContainsAny(addr, "@/") {
		return nil, nil, nil, fmt.Errorf("%s: want host:port, such as 127.0.0.1:6379 (a redis:// URL is not read)", envRedis)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	closeRedis := func() { _ = rdb.Close() }
	store, err := redislimit.New(redislimit.Config{Client: rdb, Prefix: redisPrefix, Logger: logger})
	if err != nil {
		closeRedis()
		return nil, nil, nil, fmt.Errorf("rate limits in Redis: %w", err)
	}
	// Say at start-up that Redis does not answer, rather than with a 503
	// on the first request.
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		closeRedis()
		return nil, nil, nil, fmt.Errorf("%s %s: %w", envRedis, addr, err)
	}
	logger.Info("rate limits: in Redis (redislimit), shared by every instance using it", "redis", addr)
	reg.SetControl("shared-rate-limit", true, "Redis at "+addr+" ("+envRedis+")")
	check := httpx.CheckFunc(func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	return store, check, closeRedis, nil
}
