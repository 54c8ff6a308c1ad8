// Package redislimit is an httpx.Store in Redis, so that every replica of
// a service counts against one rate limit.
//
// It lives apart from httpx so that a service which never uses Redis does
// not link go-redis. Each request is one atomic Lua script (GCRA, on
// Redis's own clock, so replicas with skewed clocks still agree); keys
// name the whole policy and the client key, so limiters with different
// policies may share one Redis. It accepts the narrowest client that
// works ([Client]: Eval and EvalSha), which *redis.Client,
// *redis.ClusterClient and *redis.Ring all satisfy.
//
// When Redis fails or is slower than Config.Timeout, the request is
// denied (fail closed), unless the [AllowLocalFallback] opt-out is given:
// then a per-replica httpx.MemoryStore decides, the opt-out is logged and
// an httpx.Server using the store lists it in its posture. go-redis
// honours that timeout only in a client built with ContextTimeoutEnabled:
// true (otherwise it waits its own ReadTimeout, 3s by default, for a
// Redis that does not answer), so New refuses a client without it.
//
// The store passes httpxtest's conformance suite against a real Redis in
// the integration run (PAVED_INTEGRATION=1).
package redislimit
