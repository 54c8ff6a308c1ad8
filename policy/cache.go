package policy

import (
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// decisionCache holds the results of pure queries, keyed by the query and
// the hash of the input, and checked against the input itself so that a
// hash collision never returns another input's decision. It is bounded:
// when full, an arbitrary entry makes room (Go's map iteration order), a
// plain policy that needs no bookkeeping on a hit. Each loaded policy gets
// a new, empty cache, so a swap clears it.
type decisionCache struct {
	mu      sync.RWMutex
	max     int
	n       int
	entries map[cacheKey][]cacheEntry
}

type cacheKey struct {
	query int
	hash  int
}

type cacheEntry struct {
	input ast.Value
	r     result
}

func newDecisionCache(max int) *decisionCache {
	return &decisionCache{max: max, entries: make(map[cacheKey][]cacheEntry)}
}

func hashInput(v ast.Value) int {
	if v == nil {
		return 0
	}
	return v.Hash()
}

func (c *decisionCache) get(query int, input ast.Value) (result, bool) {
	k := cacheKey{query, hashInput(input)}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, e := range c.entries[k] {
		if sameInput(e.input, input) {
			return e.r, true
		}
	}
	return result{}, false
}

func sameInput(a, b ast.Value) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return ast.ValueEqual(a, b)
}

func (c *decisionCache) put(query int, input ast.Value, r result) {
	k := cacheKey{query, hashInput(input)}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries[k] {
		if sameInput(e.input, input) {
			return
		}
	}
	for c.n >= c.max {
		for victim, es := range c.entries {
			c.n -= len(es)
			delete(c.entries, victim)
			break
		}
	}
	c.entries[k] = append(c.entries[k], cacheEntry{input: input, r: r})
	c.n++
}

// Len returns the number of cached decisions.
func (c *decisionCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.n
}
