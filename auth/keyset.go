package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// maxJWKSBytes bounds a key-set document.
const maxJWKSBytes = 1 << 20

// keySet holds one issuer's signing keys with the rules go-oidc's
// RemoteKeySet lacks: keys are trusted for a TTL, any fetch (TTL refresh
// or unknown kid) happens at most once per cooldown, concurrent callers
// share one fetch, and only public asymmetric signing keys are kept.
// Signatures are verified by go-jose with the key the token's kid and alg
// select; this package has no signature code of its own.
type keySet struct {
	issuer   string
	jwksURL  string
	client   *http.Client
	ttl      time.Duration
	cooldown time.Duration
	timeout  time.Duration
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

// keySet is go-oidc's key set for ID tokens in browser login.
var _ oidc.KeySet = (*keySet)(nil)

// VerifySignature implements [oidc.KeySet]: go-oidc calls it for ID
// tokens after checking their algorithm against its allow-list. The
// header must pass the JSON rules (see decodeObject) and header rules
// (no jku, x5u, jwk, x5c, b64, crit or zip; a valid kid; no nested JWT)
// bearer tokens pass, and the verified payload the JSON rules, so go-oidc's case-insensitive reading of the
// claims cannot see other values than this package does. The error is an
// *[Error].
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	hseg, _, _ := strings.Cut(jwt, ".")
	hb, e := decodeSegment(hseg)
	if e != nil {
		return nil, e
	}
	m, e := decodeHeader(hb)
	if e != nil {
		return nil, e
	}
	if _, e := headerRules(m); e != nil {
		return nil, e
	}
	jws, err := jose.ParseSignedCompact(jwt, allowedJOSE)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, newError(ErrMalformed, ReasonMalformed, "not a compact JWS")
	}
	h := jws.Signatures[0].Header
	if alg, _ := m["alg"].(string); alg != h.Algorithm || !sameKID(m, h.KeyID) {
		return nil, newError(ErrMalformed, ReasonMalformed, "go-jose reads another alg or kid than the header holds")
	}
	payload, _, err := k.verify(ctx, jws, h.Algorithm, h.KeyID)
	if err != nil {
		return nil, err
	}
	if _, e := decodeClaims(payload); e != nil {
		return nil, e
	}
	return payload, nil
}

// sameKID reports whether header member kid is kid (absent when kid is
// empty).
func sameKID(m map[string]any, kid string) bool {
	v, present := m["kid"]
	s, _ := v.(string)
	return s == kid && (present || kid == "")
}

// verify checks the signature of jws (whose header says alg and kid) with
// the issuer's keys, and returns the verified payload and when the keys
// that verified it were fetched. A kid that is not
// in the set triggers a fetch (at most once per cooldown); a kid that is
// in the set with a key of another type or curve than alg does not: no
// fetch could make that token valid.
func (k *keySet) verify(ctx context.Context, jws *jose.JSONWebSignature, alg, kid string) ([]byte, time.Time, error) {
	keys, at, fresh := k.current()
	if !fresh {
		var err error
		keys, at, err = k.refresh(ctx)
		if err != nil {
			return nil, time.Time{}, err
		}
	}
	payload, err := tryKeys(jws, alg, kid, keys)
	if !errors.Is(err, errNoKey) {
		return payload, at, err
	}
	// Unknown kid: refresh, at most once per cooldown.
	keys, at, err = k.refresh(ctx)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Reason == ReasonKeysUnavailable {
			return nil, time.Time{}, err
		}
		return nil, time.Time{}, unknownKID()
	}
	payload, err = tryKeys(jws, alg, kid, keys)
	if errors.Is(err, errNoKey) {
		return nil, time.Time{}, unknownKID()
	}
	return payload, at, err
}

// errNoKey: no key in the set has the token's kid (or, for a token
// without kid, fits its alg).
var errNoKey = errors.New("no key")

func unknownKID() *Error {
	return newError(ErrKey, ReasonUnknownKID, "no key with this kid in the issuer's key set")
}

// tryKeys verifies jws with the keys that have its kid (every key when it
// has none) and fit alg. It returns errNoKey when no key has the kid, an
// alg_key_mismatch *Error when keys have it but none fits alg, and a
// bad_signature *Error when fitting keys do not verify.
func tryKeys(jws *jose.JSONWebSignature, alg, kid string, keys []jose.JSONWebKey) ([]byte, error) {
	named, fitting := false, false
	for i := range keys {
		key := &keys[i]
		if kid != "" && key.KeyID != kid {
			continue
		}
		named = true
		if (key.Algorithm != "" && key.Algorithm != alg) || !keyFitsAlg(key.Key, alg) {
			continue
		}
		fitting = true
		if payload, err := jws.Verify(key); err == nil {
			return payload, nil
		}
	}
	switch {
	case fitting:
		return nil, newError(ErrSignature, ReasonBadSignature, "signature does not verify with the issuer's key")
	case named && kid != "":
		return nil, newError(ErrKey, ReasonAlgKeyMismatch, "the key with this kid is not a key for this alg")
	}
	return nil, errNoKey
}

// keyFitsAlg reports whether key is of the type (and curve) alg signs
// with (RFC 7518 section 3.1).
func keyFitsAlg(key any, alg string) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// current returns the cached keys, when they were fetched, and whether
// they are within the TTL.
func (k *keySet) current() ([]jose.JSONWebKey, time.Time, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fresh := !k.fetchedAt.IsZero() && k.now().Sub(k.fetchedAt) < k.ttl
	return k.keys, k.fetchedAt, fresh
}

// refresh fetches the key set unless a fetch happened within the cooldown.
// Concurrent callers share one fetch, which runs in its own goroutine so a
// caller whose context ends (a slow key set) returns at once while the
// fetch completes for the others.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, time.Time, error) {
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
		return nil, time.Time{}, newError(ErrKey, ReasonKeysUnavailable, "request ended while the key set was being fetched")
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

// resultLocked returns the cached keys and when they were fetched if they
// are still fresh, else an error. It unlocks k.mu.
func (k *keySet) resultLocked() ([]jose.JSONWebKey, time.Time, error) {
	defer k.mu.Unlock()
	fresh := !k.fetchedAt.IsZero() && k.now().Sub(k.fetchedAt) < k.ttl
	if fresh {
		return k.keys, k.fetchedAt, nil
	}
	if k.lastErr != nil || k.fetchedAt.IsZero() {
		return nil, time.Time{}, newError(ErrKey, ReasonKeysUnavailable, "key set unreachable and cached keys expired")
	}
	return nil, time.Time{}, newError(ErrKey, ReasonKeysUnavailable, "cached keys expired; next fetch allowed after the refresh cooldown")
}

// status reports whether keys are loaded and fresh, fetching if allowed.
func (k *keySet) status(ctx context.Context) error {
	if _, _, fresh := k.current(); fresh {
		return nil
	}
	_, _, err := k.refresh(ctx)
	return err
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
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
