package auth

import (
	"crypto/sha256"
	"testing"
	"time"
	"unsafe"

	"github.com/pavedroad/paved"
)

// tokenKeyUnsafe is the previous cache key: SHA-256 over the string's
// bytes in place, without the copy tokenKey makes. It lives here only so
// that the benchmarks below compare the two in the same run; cache.go
// keeps the copy (see tokenKey).
func tokenKeyUnsafe(raw string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

// benchCacheHit runs the work of tokenCache.get for a typical token
// (about 800 bytes) with the given key function.
func benchCacheHit(b *testing.B, key func(string) [sha256.Size]byte) {
	raw := "eyJhbGciOiJFUzI1NiIsImtpZCI6IkFCQ0RFRkdIIiwidHlwIjoiYXQrand0In0." +
		string(make([]byte, 600)) + ".signature-signature-signature-signature-signature-signature-sig"
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
