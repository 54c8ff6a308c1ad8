package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// allowedJOSE lists every algorithm go-jose may parse; the per-issuer
// allow-list is enforced before parsing and by go-jose.
var allowedJOSE = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512, jose.EdDSA,
}

var b64 = base64.RawURLEncoding.Strict()

// A Verifier checks bearer access tokens from one or more issuers. It is
// safe for concurrent use; create one per process with [New].
type Verifier struct {
	cfg     Config
	issuers map[string]*issuer
	order   []*issuer
	cache   *tokenCache
	authz   *authorizer
}

type issuer struct {
	url        string
	audiences  []string
	azps       []string
	algs       []string
	joseAlgs   []jose.SignatureAlgorithm
	claims     ClaimMapping
	untyped    bool
	keys       *keySet
	provider   *oidc.Provider
	discovered discovery
}

var _ httpx.Check = (*Verifier)(nil)

// New validates cfg, runs OpenID discovery for every issuer and returns a
// Verifier. An invalid configuration returns every faulty field at once,
// each a [paved.ConfigError] (see [paved.ConfigErrors]); New also fails when
// an issuer's discovery document cannot be fetched or names a different
// issuer. Keys are fetched on first use (or by [Verifier.Check]). The
// verifier registers one instance, named cfg.Name, in cfg.Posture.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	v := &Verifier{cfg: c, issuers: make(map[string]*issuer, len(c.Issuers))}
	if c.CacheSize > 0 {
		v.cache = newTokenCache(c.CacheSize)
	}
	for _, ic := range c.Issuers {
		is, err := discover(ctx, c, "Config.HTTPClient", ic)
		if err != nil {
			return nil, err
		}
		v.issuers[is.url] = is
		v.order = append(v.order, is)
	}
	v.authz = &authorizer{events: c.Events, reg: c.Posture.Register(Component, c.Name)}
	v.registerPosture()
	return v, nil
}

func (v *Verifier) registerPosture() {
	reg := v.authz.reg
	var iss, auds, untyped, clients []string
	for _, is := range v.order {
		iss = append(iss, is.url)
		if len(is.azps) == 0 {
			clients = append(clients, is.url+": any")
		} else {
			clients = append(clients, is.url+": "+strings.Join(is.azps, ", "))
		}
		auds = append(auds, is.audiences...)
		if is.untyped {
			untyped = append(untyped, is.url)
		}
	}
	slices.Sort(auds)
	auds = slices.Compact(auds)
	cache := "token cache off"
	if v.cfg.CacheSize > 0 {
		cache = setting("token cache", v.cfg.CacheSize, DefaultCacheSize, countText)
	}
	reg.SetControl("bearer-verification", true, fmt.Sprintf("issuers %s; audiences %s; clients %s; algs %s; %s; %s; %s",
		strings.Join(iss, ", "), strings.Join(auds, ", "), strings.Join(clients, " | "), strings.Join(v.cfg.Algorithms, ","),
		setting("skew", v.cfg.Skew, DefaultSkew, fmtDuration),
		setting("max token", v.cfg.MaxTokenSize, DefaultMaxTokenSize, bytesText), cache))
	typ := "RFC 9068 typ at+jwt required"
	if len(untyped) > 0 {
		typ = "typ not required for " + strings.Join(untyped, ", ")
	}
	reg.SetControl("access-token-typ", len(untyped) == 0, typ)
	reg.SetControl("key-refresh-rate-limit", true, fmt.Sprintf("%s; %s; %s",
		setting("key TTL", v.cfg.KeyTTL, DefaultKeyTTL, fmtDuration),
		setting("at most one fetch per issuer per", v.cfg.RefreshCooldown, DefaultRefreshCooldown, fmtDuration),
		setting("fetch timeout", v.cfg.Timeout, DefaultTimeout, fmtDuration)))
	reg.SetControl("forbidden-jose-headers", true, "jku, x5u, jwk, x5c, b64, crit rejected")
	for _, ic := range v.cfg.Issuers {
		for _, o := range ic.OptOuts {
			_ = reg.AddOptOut(o)
		}
	}
	v.cfg.Posture.LogOptOuts(context.Background(), v.cfg.Logger)
}

// Check implements [httpx.Check]: every issuer's keys are loaded and within
// their TTL, fetching them when they are not (within the refresh
// cooldown). The error names the first issuer that is not ready.
func (v *Verifier) Check(ctx context.Context) error {
	for _, is := range v.order {
		if err := is.keys.status(ctx); err != nil {
			return fmt.Errorf("auth: issuer %s not ready: %w", is.url, err)
		}
	}
	return nil
}

// Issuers returns the configured issuer URLs, in configuration order.
func (v *Verifier) Issuers() []string {
	out := make([]string, len(v.order))
	for i, is := range v.order {
		out[i] = is.url
	}
	return out
}

// KeyFetches returns how many key-set fetches were made for issuer, for
// tests and metrics.
func (v *Verifier) KeyFetches(issuerURL string) int64 {
	if is := v.issuers[issuerURL]; is != nil {
		return is.keys.fetches.Load()
	}
	return 0
}

// Verify checks a raw bearer access token and returns the caller. Every
// failure is an *[Error] wrapping one of the sentinels; it never contains
// the token. The principal is the caller's own copy: changing it changes
// nothing the verifier returns later.
func (v *Verifier) Verify(ctx context.Context, raw string) (*paved.Principal, error) {
	start := time.Now() // latency, on the monotonic clock
	now := v.cfg.Now()  // validity checks, on the configured clock
	if len(raw) > v.cfg.MaxTokenSize {
		err := newError(ErrMalformed, ReasonTooLarge, fmt.Sprintf("token longer than %d bytes", v.cfg.MaxTokenSize))
		v.emitFailure(ctx, err, start)
		return nil, err
	}
	if v.cache != nil {
		if p, ok := v.cache.get(raw, now); ok {
			v.emitSuccess(ctx, p, start)
			return p, nil
		}
	}
	p, until, err := v.verifyCold(ctx, raw, now)
	if err != nil {
		v.emitFailure(ctx, err, start)
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(raw, p, until, now)
	}
	v.emitSuccess(ctx, p, start)
	return p, nil
}

func (v *Verifier) verifyCold(ctx context.Context, raw string, now time.Time) (*paved.Principal, time.Time, error) {
	// Shape: three non-empty base64url segments, nothing else.
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, time.Time{}, newError(ErrMalformed, ReasonBadBase64, "token has characters outside base64url")
		}
	}
	hseg, rest, ok1 := strings.Cut(raw, ".")
	pseg, sseg, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(sseg, '.') >= 0 || hseg == "" || pseg == "" {
		if raw == "" {
			return nil, time.Time{}, newError(ErrNoToken, ReasonNoToken, "empty token")
		}
		return nil, time.Time{}, newError(ErrMalformed, ReasonMalformed, "want three dot-separated segments")
	}
	h, e := v.parseHeader(hseg)
	if e != nil {
		return nil, time.Time{}, e
	}
	payload, e := decodeSegment(pseg)
	if e != nil {
		return nil, time.Time{}, e
	}
	sig, e := decodeSegment(sseg)
	if e != nil {
		return nil, time.Time{}, e
	}
	if len(sig) == 0 {
		return nil, time.Time{}, newError(ErrSignature, ReasonBadSignature, "empty signature")
	}
	if allZero(sig) {
		return nil, time.Time{}, newError(ErrSignature, ReasonBadSignature, "zeroed signature")
	}
	claims, e := decodeClaims(payload)
	if e != nil {
		return nil, time.Time{}, e
	}
	issClaim, _ := claims["iss"].(string)
	if issClaim == "" {
		return nil, time.Time{}, newError(ErrClaims, ReasonMissingClaim, "iss is missing")
	}
	is := v.issuers[issClaim]
	if is == nil {
		return nil, time.Time{}, newError(ErrClaims, ReasonUnknownIssuer, "iss is not a configured issuer")
	}
	fail := func(e *Error) (*paved.Principal, time.Time, error) {
		e.Issuer = is.url
		return nil, time.Time{}, e
	}
	if !slices.Contains(is.algs, h.alg) {
		return fail(newError(ErrHeader, ReasonAlgNotAllowed, fmt.Sprintf("alg %q is not allowed for this issuer", h.alg)))
	}
	if e := is.checkType(h.typ, claims); e != nil {
		return fail(e)
	}

	// Signature: go-jose, with the key the issuer's key set holds for this
	// kid and alg. go-jose parses the header on its own; it must read the
	// same alg and kid as the checks above.
	jws, err := jose.ParseSignedCompact(raw, is.joseAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return fail(newError(ErrMalformed, ReasonMalformed, "not a compact JWS"))
	}
	if jh := jws.Signatures[0].Header; jh.Algorithm != h.alg || jh.KeyID != h.kid {
		return fail(newError(ErrMalformed, ReasonMalformed, "header members are ambiguous (repeated or differently cased names)"))
	}
	verified, fetchedAt, err := is.keys.verify(ctx, jws, h.alg, h.kid)
	if err != nil {
		return fail(asError(err))
	}
	// Claims, from the same bytes the signature covers.
	if !bytes.Equal(verified, payload) {
		return fail(newError(ErrMalformed, ReasonMalformed, "payload differs from the signed one"))
	}
	if e := v.checkClaims(is, claims, now); e != nil {
		return fail(e)
	}
	p := is.principal(claims)
	// Cached until exp, and no longer than the keys that verified it are
	// trusted: KeyTTL from their fetch.
	until := unixTime(claims["exp"].(float64))
	if ttl := fetchedAt.Add(v.cfg.KeyTTL); ttl.Before(until) {
		until = ttl
	}
	return p, until, nil
}
