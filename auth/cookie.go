package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// cookieCodec seals cookie values with AES-256-GCM. The first key seals;
// every key opens, so keys rotate by prepending a new one and dropping the
// oldest once its cookies have expired. The cookie name is authenticated
// data, so one cookie's value cannot be replayed under another name.
type cookieCodec struct {
	aeads []cipher.AEAD
}

func newCookieCodec(keys [][]byte) (*cookieCodec, error) {
	if len(keys) == 0 {
		return nil, errors.New("auth: LoginConfig.CookieKeys is empty: give at least one random 32-byte key")
	}
	c := &cookieCodec{}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("auth: LoginConfig.CookieKeys[%d] has %d bytes: want 32 (AES-256)", i, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		c.aeads = append(c.aeads, aead)
	}
	return c, nil
}

func (c *cookieCodec) seal(name string, plaintext []byte) string {
	a := c.aeads[0]
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(a.Seal(nonce, nonce, plaintext, []byte(name)))
}

var errCookie = errors.New("auth: cookie does not open with any key")

func (c *cookieCodec) open(name, value string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return nil, errCookie
	}
	for _, a := range c.aeads {
		if len(b) < a.NonceSize()+a.Overhead() {
			return nil, errCookie
		}
		if p, err := a.Open(nil, b[:a.NonceSize()], b[a.NonceSize():], []byte(name)); err == nil {
			return p, nil
		}
	}
	return nil, errCookie
}
