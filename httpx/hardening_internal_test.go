package httpx

import (
	"crypto/rand"
	"io"
	"testing"
)

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// The CSP nonce is a security token: it must come from crypto/rand, not
// from math/rand, whose output the Go documentation calls predictable.
func TestNonceFromCryptoRand(t *testing.T) {
	old := rand.Reader
	rand.Reader = io.Reader(zeroReader{})
	defer func() { rand.Reader = old }()
	if got, want := newNonce(), "AAAAAAAAAAAAAAAAAAAAAA"; got != want {
		t.Fatalf("nonce with crypto/rand.Reader replaced = %q, want %q: nonce not drawn from crypto/rand", got, want)
	}
}
