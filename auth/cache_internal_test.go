package auth

import (
	"crypto/sha256"
	"hash"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/pavedroad/paved"
)

// tokenKeyUnsafe is the previous cache key: SHA-256 over the string's
// bytes in place. It lives here only so that the benchmarks below compare
// it with tokenKey (a copy to a []byte) in the same run.
func tokenKeyUnsafe(raw string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

// benchCacheHit runs the work of tokenCache.get for a typical token
// (about 800 bytes) with the given key function.
func benchCacheHit(b *testing.B, key func(string) [sha256.Size]byte) {
	raw := "eyJhbGciOiJFUzI1NiIsImtpZCI6IkFCQ0RFRkdIIiwidHlwIjoiYXQrand0In0." +
		string(make([]byte, 600)) + ".signature-signature-signature-signature-signature-signature-sig"
	for i := range []byte(raw) {
		_ = i
	}
	c := newTokenCache(10)
	now := time.Now()
	c.put(raw, &paved.Principal{Subject: "alice", Issuer: "https://idp.example", Audience: []string{"api"},
		Scopes: []string{"orders:read", "orders:write"}, AMR: []string{"pwd"},
		Claims: map[string]any{"sub": "alice", "iss": "https://idp.example", "aud": "api", "scope": "orders:read orders:write",
			"exp": 1.9e9, "iat": 1.9e9, "jti": "x", "client_id": "c", "amr": []any{"pwd"}}}, now.Add(time.Hour), now)
	b.ReportAllocs()
	for b.Loop() {
		k := key(raw)
		c.mu.RLock()
		e, ok := c.m[k]
		c.mu.RUnlock()
		if !ok {
			b.Fatal("miss")
		}
		_ = clonePrincipal(e.p)
	}
}

func BenchmarkCacheHitKeyCopy(b *testing.B)   { benchCacheHit(b, tokenKey) }
func BenchmarkCacheHitKeyUnsafe(b *testing.B) { benchCacheHit(b, tokenKeyUnsafe) }

type pooledHasher struct {
	h   hash.Hash
	buf [512]byte
}

var hasherPool = sync.Pool{New: func() any { return &pooledHasher{h: sha256.New()} }}

func tokenKeyPooled(raw string) (k [sha256.Size]byte) {
	x := hasherPool.Get().(*pooledHasher)
	x.h.Reset()
	for len(raw) > 0 {
		n := copy(x.buf[:], raw)
		x.h.Write(x.buf[:n])
		raw = raw[n:]
	}
	copy(k[:], x.h.Sum(x.buf[:0]))
	hasherPool.Put(x)
	return k
}

func BenchmarkCacheHitKeyPooled(b *testing.B) { benchCacheHit(b, tokenKeyPooled) }
