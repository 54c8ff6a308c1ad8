package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"strings"
)

// A Token describes a token to mint with [Server.MintToken]. Defaults are
// filled in for every header and claim the caller does not set; a key set
// to nil removes that default.
type Token struct {
	// Header members; defaults alg, typ "at+jwt", kid of the current key.
	Header map[string]any
	// Claims; defaults iss, sub, aud, client_id, iat, exp, jti.
	Claims map[string]any
	// Alg chooses the signature: "ES256", "RS256" (current keys), "none"
	// (empty signature) or "HS256" with HMACKey. Default Config.Algorithm.
	Alg string
	// HMACKey is the secret for Alg "HS256" (for attacks such as HMAC
	// signed with the RSA public key).
	HMACKey []byte
}

// Mint returns an access token with the default claims overridden by
// claims (a nil value removes a default). It panics only if signing fails,
// which it does not with the built-in keys.
func (s *Server) Mint(claims map[string]any) string {
	tok, err := s.MintToken(Token{Claims: claims})
	if err != nil {
		panic(err)
	}
	return tok
}

// MintIDToken returns an ID token for the registered client (typ "JWT",
// aud client ID, nonce "n-0S6_WzA2Mj" unless overridden).
func (s *Server) MintIDToken(claims map[string]any) string {
	c := map[string]any{"aud": s.cfg.ClientID, "azp": s.cfg.ClientID, "nonce": "n-0S6_WzA2Mj", "client_id": nil}
	maps.Copy(c, claims)
	tok, err := s.MintToken(Token{Header: map[string]any{"typ": "JWT"}, Claims: c})
	if err != nil {
		panic(err)
	}
	return tok
}

// MintToken signs tok as described on [Token].
func (s *Server) MintToken(tok Token) (string, error) {
	s.mu.Lock()
	now := s.nowLocked()
	alg := tok.Alg
	if alg == "" {
		alg = s.cfg.Algorithm
	}
	key := s.keys[alg]
	ttl := s.cfg.TokenTTL
	s.mu.Unlock()

	header := map[string]any{"alg": alg, "typ": "at+jwt"}
	if key != nil {
		header["kid"] = key.kid
	}
	merge(header, tok.Header)
	claims := map[string]any{
		"iss": s.Issuer(), "sub": s.cfg.Subject, "aud": s.cfg.Audience, "client_id": s.cfg.ClientID,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": randomID(12),
	}
	merge(claims, tok.Claims)
	return sign(header, claims, alg, key, tok.HMACKey)
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
}

func sign(header, claims map[string]any, alg string, key *signingKey, hmacKey []byte) (string, error) {
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(hb) + "." + b64(cb)
	var sig []byte
	switch alg {
	case "none":
	case "HS256":
		m := hmac.New(sha256.New, hmacKey)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "ES256":
		if key == nil {
			return "", errors.New("authtest: no ES256 key")
		}
		d := sha256.Sum256([]byte(input))
		r, ss, err := ecdsa.Sign(rand.Reader, key.priv.(*ecdsa.PrivateKey), d[:])
		if err != nil {
			return "", err
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
	case "RS256":
		if key == nil {
			return "", errors.New("authtest: no RS256 key")
		}
		d := sha256.Sum256([]byte(input))
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.priv.(*rsa.PrivateKey), crypto.SHA256, d[:])
		if err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("authtest: cannot sign with alg %q", alg)
	}
	return input + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}

// WithECDSASignature returns an ES256 token with its signature replaced by
// the given r and s (each encoded in 32 bytes), for "psychic signature"
// tests (CVE-2022-21449): r = s = 0, or r = 0 and s = the curve order.
func WithECDSASignature(tok string, r, s *big.Int) string {
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	i := strings.LastIndexByte(tok, '.')
	return tok[:i+1] + b64(sig)
}
