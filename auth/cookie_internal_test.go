package auth

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// TestCookieCodec: AES-GCM with a fresh random nonce per seal, the cookie
// name bound as associated data, any listed key opens, a flipped bit or
// an unlisted key does not.
func TestCookieCodec(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	c1, err := newCookieCodec([][]byte{k1})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`{"sub":"alice"}`)
	a, b := c1.seal("n", msg), c1.seal("n", msg)
	if a == b {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	ra, _ := base64.RawURLEncoding.DecodeString(a)
	rb, _ := base64.RawURLEncoding.DecodeString(b)
	if bytes.Equal(ra[:12], rb[:12]) {
		t.Fatal("nonce repeated")
	}
	if got, err := c1.open("n", a); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("open = %q %v", got, err)
	}
	if _, err := c1.open("other", a); err == nil {
		t.Fatal("opened under another cookie name")
	}
	ra[len(ra)-1] ^= 1
	if _, err := c1.open("n", base64.RawURLEncoding.EncodeToString(ra)); err == nil {
		t.Fatal("opened a tampered value")
	}
	rotated, _ := newCookieCodec([][]byte{k2, k1})
	if got, err := rotated.open("n", a); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("rotated codec cannot open an old-key value: %v", err)
	}
	if _, err := c1.open("n", rotated.seal("n", msg)); err == nil {
		t.Fatal("a new-key value opened without the new key")
	}
	for _, v := range []string{"", "AAAA", "!!", base64.RawURLEncoding.EncodeToString(make([]byte, 27))} {
		if _, err := c1.open("n", v); err == nil {
			t.Fatalf("opened %q", v)
		}
	}
}
