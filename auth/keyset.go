package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// maxJWKSBytes bounds a key-set document.
const maxJWKSBytes = 1 << 20

// keySet is an [oidc.KeySet] with the rules go-oidc's RemoteKeySet lacks:
// keys are trusted for a TTL, any fetch (TTL refresh or unknown kid) happens
// at most once per cooldown, concurrent callers share one fetch, and only
// public asymmetric signing keys are kept.
type keySet struct {
	issuer   string
	jwksURL  string
	client   *http.Client
	ttl      time.Duration
	cooldown time.Duration
	now      func() time.Time
	logger   *slog.Logger

	mu          sync.Mutex
	keys        []jose.JSONWebKey
	fetchedAt   time.Time // last successful fetch
	lastAttempt time.Time // last fetch attempt, successful or not
	lastErr     error
	inflight    chan struct{}

	fetches atomic.Int64
}

var _ oidc.KeySet = (*keySet)(nil)

// verifyState carries what the Verifier already decoded into the key set,
// so go-oidc's parse is the only JWS parse, and carries the key set's
// typed error back out (go-oidc flattens errors with %v).
type verifyState struct {
	alg, kid string
	input    string // signing input: header "." payload
	sig      []byte
	payload  []byte // decoded payload, when the Verifier has it
	err      *Error
}

type verifyStateKey struct{}

// VerifySignature implements [oidc.KeySet]. go-oidc calls it after parsing
// the token and checking its algorithm against the allow-list.
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	st, _ := ctx.Value(verifyStateKey{}).(*verifyState)
	if st == nil {
		st = &verifyState{}
		if e := splitForKeySet(jwt, st); e != nil {
			return nil, e
		}
	}
	payload, err := k.verify(ctx, st)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = newError(ErrSignature, ReasonBadSignature, "")
		}
		st.err = e
		return nil, e
	}
	return payload, nil
}

// splitForKeySet fills st from a raw token when VerifySignature is called
// without the Verifier (go-oidc used directly with this key set).
func splitForKeySet(jwt string, st *verifyState) *Error {
	jws, err := jose.ParseSignedCompact(jwt, allowedJOSE)
	if err != nil || len(jws.Signatures) != 1 {
		return newError(ErrMalformed, ReasonMalformed, "not a compact JWS")
	}
	i := strings.LastIndexByte(jwt, '.')
	h := jws.Signatures[0].Header
	st.alg, st.kid, st.input, st.sig = h.Algorithm, h.KeyID, jwt[:i], jws.Signatures[0].Signature
	return nil
}

func (k *keySet) verify(ctx context.Context, st *verifyState) ([]byte, error) {
	keys, fresh := k.current()
	if !fresh {
		var err error
		keys, err = k.refresh(ctx)
		if err != nil {
			return nil, err
		}
	}
	found, err := tryKeys(st, keys)
	if found {
		return payloadOf(st, err)
	}
	// Unknown kid: refresh, at most once per cooldown.
	keys, err = k.refresh(ctx)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Reason == ReasonKeysUnavailable {
			return nil, err
		}
		return nil, newError(ErrKey, ReasonUnknownKID, "no key with this kid in the issuer's key set")
	}
	found, err = tryKeys(st, keys)
	if !found {
		return nil, newError(ErrKey, ReasonUnknownKID, "no key with this kid in the issuer's key set")
	}
	return payloadOf(st, err)
}

func payloadOf(st *verifyState, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	if st.payload != nil {
		return st.payload, nil
	}
	_, p, _ := strings.Cut(st.input, ".")
	return b64.DecodeString(p)
}

// tryKeys verifies the signature with the keys matching kid and alg.
// found reports whether any key matched.
func tryKeys(st *verifyState, keys []jose.JSONWebKey) (found bool, err error) {
	for i := range keys {
		key := &keys[i]
		if st.kid != "" && key.KeyID != st.kid {
			continue
		}
		if key.Algorithm != "" && key.Algorithm != st.alg {
			continue
		}
		if !keyFitsAlg(key.Key, st.alg) {
			continue
		}
		found = true
		if verifySig(key.Key, st.alg, st.input, st.sig) {
			return true, nil
		}
	}
	if found {
		return true, newError(ErrSignature, ReasonBadSignature, "signature does not verify with the issuer's key")
	}
	return false, nil
}

func keyFitsAlg(key any, alg string) bool {
	switch key.(type) {
	case *rsa.PublicKey:
		return alg[0] == 'R' || alg[0] == 'P'
	case *ecdsa.PublicKey:
		return alg[0] == 'E' && alg != "EdDSA"
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// verifySig checks a JWS signature (RFC 7518) with the standard library.
func verifySig(key any, alg, input string, sig []byte) bool {
	if alg == "EdDSA" {
		pk, ok := key.(ed25519.PublicKey)
		return ok && ed25519.Verify(pk, bytesOf(input), sig)
	}
	var h crypto.Hash
	var buf [64]byte
	var digest []byte
	switch alg[len(alg)-3:] {
	case "256":
		h = crypto.SHA256
		d := sha256.Sum256(bytesOf(input))
		digest = append(buf[:0], d[:]...)
	case "384":
		h = crypto.SHA384
		d := sha512.Sum384(bytesOf(input))
		digest = append(buf[:0], d[:]...)
	case "512":
		h = crypto.SHA512
		d := sha512.Sum512(bytesOf(input))
		digest = append(buf[:0], d[:]...)
	default:
		return false
	}
	switch alg[0] {
	case 'E':
		pk, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		size := (pk.Curve.Params().BitSize + 7) / 8
		want := 66
		switch h {
		case crypto.SHA256:
			want = 32
		case crypto.SHA384:
			want = 48
		}
		if size != want || len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pk, digest, r, s)
	case 'R':
		pk, ok := key.(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(pk, h, digest, sig) == nil
	case 'P':
		pk, ok := key.(*rsa.PublicKey)
		return ok && rsa.VerifyPSS(pk, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	}
	return false
}

// current returns the cached keys and whether they are within the TTL.
func (k *keySet) current() ([]jose.JSONWebKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fresh := !k.fetchedAt.IsZero() && k.now().Sub(k.fetchedAt) < k.ttl
	return k.keys, fresh
}

// refresh fetches the key set unless a fetch happened within the cooldown.
// Concurrent callers share one fetch, which runs in its own goroutine so a
// caller whose context ends (a slow key set) returns at once while the
// fetch completes for the others.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	ch := k.inflight
	if ch == nil {
		now := k.now()
		if !k.lastAttempt.IsZero() && now.Sub(k.lastAttempt) < k.cooldown {
			return k.resultLocked()
		}
		k.lastAttempt = now
		ch = make(chan struct{})
		k.inflight = ch
		go k.fetchAndStore(context.WithoutCancel(ctx), ch)
	}
	k.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		return nil, newError(ErrKey, ReasonKeysUnavailable, "request ended while the key set was being fetched")
	}
	k.mu.Lock()
	return k.resultLocked()
}

func (k *keySet) fetchAndStore(ctx context.Context, done chan struct{}) {
	keys, err := k.fetch(ctx)
	k.mu.Lock()
	k.fetches.Add(1)
	if err == nil {
		k.keys, k.fetchedAt, k.lastErr = keys, k.now(), nil
	} else {
		k.lastErr = err
	}
	k.inflight = nil
	close(done)
	k.mu.Unlock()
	if err != nil {
		k.logger.LogAttrs(ctx, slog.LevelWarn, "auth: key set fetch failed", slog.String("issuer", k.issuer), slog.String("error", err.Error()))
	}
}

// resultLocked returns the cached keys if they are still fresh, else an
// error. It unlocks k.mu.
func (k *keySet) resultLocked() ([]jose.JSONWebKey, error) {
	defer k.mu.Unlock()
	fresh := !k.fetchedAt.IsZero() && k.now().Sub(k.fetchedAt) < k.ttl
	if fresh {
		return k.keys, nil
	}
	if k.lastErr != nil || k.fetchedAt.IsZero() {
		return nil, newError(ErrKey, ReasonKeysUnavailable, "key set unreachable and cached keys expired")
	}
	return nil, newError(ErrKey, ReasonKeysUnavailable, "cached keys expired; next fetch allowed after the refresh cooldown")
}

// status reports whether keys are loaded and fresh, fetching if allowed.
func (k *keySet) status(ctx context.Context) error {
	if _, fresh := k.current(); fresh {
		return nil
	}
	_, err := k.refresh(ctx)
	return err
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.jwksURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", k.jwksURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", k.jwksURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: status %d", k.jwksURL, resp.StatusCode)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("get %s: key set larger than %d bytes", k.jwksURL, maxJWKSBytes)
	}
	return parseJWKS(body)
}

// parseJWKS keeps the public asymmetric signing keys of a JWKS document and
// skips everything else (symmetric keys, encryption keys, unknown types,
// RSA keys under 2048 bits).
func parseJWKS(body []byte) ([]jose.JSONWebKey, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("decode key set: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, r := range raw.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(r); err != nil {
			continue
		}
		if jwk.Use != "" && jwk.Use != "sig" {
			continue
		}
		if jwk.Algorithm != "" && !asymmetricAlgs[jwk.Algorithm] {
			continue
		}
		if !jwk.IsPublic() {
			jwk = jwk.Public()
		}
		switch pk := jwk.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < 2048 {
				continue
			}
		case *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			continue
		}
		keys = append(keys, jwk)
	}
	if len(keys) == 0 {
		return nil, errors.New("key set has no usable signing key")
	}
	return keys, nil
}
