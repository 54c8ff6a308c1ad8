// Package redisutil holds what paved's two Redis-backed stores
// (httpx/redislimit and auth/redissession) share. Only those packages
// import it, so go-redis stays out of a service that uses neither.
package redisutil

import "github.com/redis/go-redis/v9"

// IgnoresDeadlines reports whether c is a go-redis client built without
// ContextTimeoutEnabled, which ignores a context's deadline while it waits
// for a reply (it waits its own ReadTimeout, 3 s by default, instead).
// Other values, including wrappers and fakes, report false: they must end a
// call when its context's deadline passes.
func IgnoresDeadlines(c any) bool {
	switch c := c.(type) {
	case *redis.Client:
		return c != nil && !c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c != nil && !c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c != nil && !c.Options().ContextTimeoutEnabled
	}
	return false
}
