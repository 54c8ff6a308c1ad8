package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"maps"
	"slices"
	"time"
)

type signingKey struct {
	kid  string
	alg  string
	priv crypto.Signer
}

// authCode is what an authorization code stands for: the sign-in (grant)
// and what the token request must repeat.
type authCode struct {
	grant
	clientID, redirectURI, challenge, nonce string
	expires                                 time.Time
}

// grant is one sign-in of a user: what its tokens carry, and what its
// refresh tokens stand for. Every refresh token rotated from one sign-in
// shares its family and its sign-in time.
type grant struct {
	sub    string
	scope  string    // granted, which may be less than requested
	family string    // shared by every refresh token of the sign-in
	auth   time.Time // when the user signed in (auth_time)
}

// Now returns the provider's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time {
	if !s.fixed.IsZero() {
		return s.fixed.Add(s.offset)
	}
	return time.Now().Add(s.offset)
}

// SetNow freezes the provider's clock at t.
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fixed, s.offset = t, 0
}

// Advance moves the provider's clock forward by d.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// SetUser sets who the authorize endpoint logs in and the extra claims
// (amr, acr, groups, email...) put in that user's tokens and userinfo.
func (s *Server) SetUser(sub string, claims map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userSub, s.userClaims = sub, maps.Clone(claims)
}

// RotateKeys makes fresh ES256 and RS256 keys current. The previous keys
// stay published (as real providers keep them until their tokens expire)
// until RetireKeys.
func (s *Server) RotateKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.rotateLocked(); err != nil {
		panic(err) // key generation does not fail with crypto/rand
	}
}

// RetireKeys removes every non-current key from the JWKS.
func (s *Server) RetireKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = slices.DeleteFunc(s.published, func(k *signingKey) bool { return s.keys[k.alg] != k })
}

// KeyIDs returns the kid of the current ES256 and RS256 keys.
func (s *Server) KeyIDs() (es256, rs256 string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys["ES256"].kid, s.keys["RS256"].kid
}

// SetKeyID renames the current key for alg ("ES256" or "RS256") to kid,
// in the JWKS and in the tokens minted from now on, to test the key IDs
// real providers use (Cognito's are standard base64, with '/', '+' and
// '=').
func (s *Server) SetKeyID(alg, kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[alg]; k != nil {
		k.kid = kid
	}
}

// PublicKey returns the current public key for alg ("ES256" or "RS256").
func (s *Server) PublicKey(alg string) crypto.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[alg]; k != nil {
		return k.priv.Public()
	}
	return nil
}

func (s *Server) rotateLocked() error {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	if s.keys == nil {
		s.keys = map[string]*signingKey{}
	}
	for _, k := range []*signingKey{{kid: randomID(8), alg: "ES256", priv: ec}, {kid: randomID(8), alg: "RS256", priv: rk}} {
		s.keys[k.alg] = k
		s.published = append(s.published, k)
	}
	return nil
}

// SetJWKSBroken makes the JWKS endpoint answer 503 (true) or work again.
func (s *Server) SetJWKSBroken(broken bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jwksBroken = broken
}

// SetJWKSDelay makes the JWKS endpoint wait d before answering. A client
// that gives up first gets no response at all: the connection is dropped
// (net/http's ErrAbortHandler), never a 200 with an empty body.
func (s *Server) SetJWKSDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jwksDelay = d
}

// JWKSRequests returns how many times the JWKS endpoint was requested.
func (s *Server) JWKSRequests() int64 { return s.jwksRequests.Load() }

// RefreshRequests returns how many refresh_token grants the token endpoint
// was asked for, refused ones included.
func (s *Server) RefreshRequests() int64 { return s.refreshRequests.Load() }

// RefreshReuses returns how many times a refresh token was presented again
// after it had been rotated. Each reuse revoked every refresh token of
// that sign-in, as a strict provider does (RFC 9700 section 4.14.2).
func (s *Server) RefreshReuses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reuses
}

// Logouts returns how many end-session requests were served.
func (s *Server) Logouts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logouts
}
