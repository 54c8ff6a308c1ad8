package auth

import (
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"

	"github.com/pavedroad/paved"
)

// tokenCache remembers verified tokens by the SHA-256 of their bytes, so a
// repeated token costs a hash and a map lookup. An entry is never served at
// or after its deadline: the token's exp, capped at the key TTL so a key
// removed from the issuer's set stops being honoured within that TTL.
type tokenCache struct {
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]cacheEntry
	max int
}

type cacheEntry struct {
	p     *paved.Principal
	until int64 // unix nanoseconds
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{m: make(map[[sha256.Size]byte]cacheEntry), max: max}
}

func tokenKey(raw string) [sha256.Size]byte {
	// Hash the string's bytes in place: no copy, no allocation. The slice
	// is only read.
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

func (c *tokenCache) get(raw string, now time.Time) (*paved.Principal, bool) {
	k := tokenKey(raw)
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || now.UnixNano() >= e.until {
		return nil, false
	}
	return e.p, true
}

func (c *tokenCache) put(raw string, p *paved.Principal, until, now time.Time) {
	if !until.After(now) {
		return // never served: do not take a slot
	}
	k := tokenKey(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.evictLocked(now.UnixNano())
	}
	c.m[k] = cacheEntry{p: p, until: until.UnixNano()}
}

// evictLocked drops expired entries and, if the cache is still full, an
// arbitrary tenth of it (map order is randomised), keeping the cost of a
// full cache bounded without an LRU list on the read path.
func (c *tokenCache) evictLocked(now int64) {
	for k, e := range c.m {
		if now >= e.until {
			delete(c.m, k)
		}
	}
	if len(c.m) < c.max {
		return
	}
	n := c.max/10 + 1
	for k := range c.m {
		if n == 0 {
			break
		}
		delete(c.m, k)
		n--
	}
}

func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
