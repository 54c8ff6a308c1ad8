package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// allowedJOSE lists every algorithm go-jose may parse; the per-issuer
// allow-list is enforced before and by go-oidc.
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
}

type issuer struct {
	url        string
	audiences  []string
	azps       []string
	algs       []string
	claims     ClaimMapping
	untyped    bool
	keys       *keySet
	oidc       *oidc.IDTokenVerifier
	provider   *oidc.Provider
	discovered discovery
}

// discovery holds the provider metadata paved reads beyond go-oidc's.
type discovery struct {
	Issuer                 string   `json:"issuer"`
	JWKSURI                string   `json:"jwks_uri"`
	EndSessionEndpoint     string   `json:"end_session_endpoint"`
	GrantTypesSupported    []string `json:"grant_types_supported"`
	IssParameterSupported  bool     `json:"authorization_response_iss_parameter_supported"`
	CodeChallengeMethods   []string `json:"code_challenge_methods_supported"`
	IDTokenSigningAlgs     []string `json:"id_token_signing_alg_values_supported"`
	RevocationEndpoint     string   `json:"revocation_endpoint"`
	IntrospectionEndpoint  string   `json:"introspection_endpoint"`
	TokenEndpointAuthMeths []string `json:"token_endpoint_auth_methods_supported"`
}

var _ httpx.Check = (*Verifier)(nil)

// New validates cfg, runs OpenID discovery for every issuer and returns a
// Verifier. It fails when a field is invalid or an issuer's discovery
// document cannot be fetched or names a different issuer. Keys are fetched
// on first use (or by [Verifier.Check]).
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
		is, err := discover(ctx, c, ic)
		if err != nil {
			return nil, err
		}
		v.issuers[is.url] = is
		v.order = append(v.order, is)
	}
	v.registerPosture()
	return v, nil
}

func discover(ctx context.Context, c Config, ic Issuer) (*issuer, error) {
	client := noDowngrade(c.HTTPClient, hasOptOut(ic.OptOuts, OptOutHTTPIssuer))
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), ic.URL)
	if err != nil {
		return nil, fmt.Errorf("auth: discovery for issuer %q: %w", ic.URL, err)
	}
	var d discovery
	if err := p.Claims(&d); err != nil {
		return nil, fmt.Errorf("auth: discovery for issuer %q: %w", ic.URL, err)
	}
	if err := checkEndpointURL(ic.URL, "jwks_uri", d.JWKSURI, ic.OptOuts); err != nil {
		return nil, err
	}
	ks := &keySet{
		issuer: ic.URL, jwksURL: d.JWKSURI, client: client,
		ttl: c.KeyTTL, cooldown: c.RefreshCooldown, now: c.Now, logger: c.Logger,
	}
	roles, groups, scopes := ic.Claims.Roles, ic.Claims.Groups, ic.Claims.Scopes
	if len(roles) == 0 {
		roles = []string{"roles"}
	}
	if len(groups) == 0 {
		groups = []string{"groups"}
	}
	if len(scopes) == 0 {
		scopes = []string{"scope", "scp"}
	}
	is := &issuer{
		url:        ic.URL,
		audiences:  slices.Clone(ic.Audiences),
		azps:       slices.Clone(ic.AuthorizedParties),
		algs:       slices.Clone(ic.Algorithms),
		claims:     ClaimMapping{Roles: roles, Groups: groups, Scopes: scopes},
		untyped:    hasOptOut(ic.OptOuts, OptOutUntypedTokens),
		keys:       ks,
		provider:   p,
		discovered: d,
	}
	is.oidc = oidc.NewVerifier(ic.URL, ks, &oidc.Config{
		// Audiences (several), expiry, nbf and iat with skew are checked
		// by paved after go-oidc has checked the signature and issuer.
		SkipClientIDCheck:    true,
		SkipExpiryCheck:      true,
		SupportedSigningAlgs: is.algs,
		Now:                  c.Now,
	})
	return is, nil
}

func (v *Verifier) registerPosture() {
	p := v.cfg.Posture
	var iss, auds, untyped []string
	for _, is := range v.order {
		iss = append(iss, is.url)
		auds = append(auds, is.audiences...)
		if is.untyped {
			untyped = append(untyped, is.url)
		}
	}
	slices.Sort(auds)
	auds = slices.Compact(auds)
	p.SetControl(paved.Control{Component: component, Name: "bearer-verification", Enabled: true,
		Detail: fmt.Sprintf("issuers %s; audiences %s; algs %s; skew %v; max token %d B",
			strings.Join(iss, ", "), strings.Join(auds, ", "), strings.Join(v.cfg.Algorithms, ","), v.cfg.Skew, v.cfg.MaxTokenSize)})
	typ := paved.Control{Component: component, Name: "access-token-typ", Enabled: len(untyped) == 0, Detail: "RFC 9068 typ at+jwt required"}
	if len(untyped) > 0 {
		typ.Detail = "typ not required for " + strings.Join(untyped, ", ")
	}
	p.SetControl(typ)
	p.SetControl(paved.Control{Component: component, Name: "key-refresh-rate-limit", Enabled: true,
		Detail: fmt.Sprintf("key TTL %v; at most one fetch per issuer per %v", v.cfg.KeyTTL, v.cfg.RefreshCooldown)})
	p.SetControl(paved.Control{Component: component, Name: "forbidden-jose-headers", Enabled: true, Detail: "jku, x5u, jwk, x5c, crit rejected"})
	for _, ic := range v.cfg.Issuers {
		for _, o := range ic.OptOuts {
			_ = p.AddOptOut(o)
		}
	}
	p.LogOptOuts(context.Background(), v.cfg.Logger)
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
// the token. The returned principal is shared with the token cache and
// must be treated as read-only.
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

type joseHeader struct {
	alg, typ, kid, cty string
}

func decodeSegment(seg string) ([]byte, *Error) {
	b, err := b64.DecodeString(seg)
	if err != nil {
		return nil, newError(ErrMalformed, ReasonBadBase64, "segment is not canonical base64url")
	}
	return b, nil
}

// rawHeader is the protected header as decoded for the policy checks.
// encoding/json matches names case-insensitively, so "JKU" counts as jku:
// stricter than go-jose, never looser. The alg and kid read here are the
// ones the key set verifies with.
type rawHeader struct {
	Alg  string          `json:"alg"`
	Typ  string          `json:"typ"`
	Kid  string          `json:"kid"`
	Cty  string          `json:"cty"`
	Jku  json.RawMessage `json:"jku"`
	X5u  json.RawMessage `json:"x5u"`
	Jwk  json.RawMessage `json:"jwk"`
	X5c  json.RawMessage `json:"x5c"`
	B64  json.RawMessage `json:"b64"`
	Crit json.RawMessage `json:"crit"`
}

// parseHeader decodes the protected header and applies the header rules
// that do not depend on the issuer.
func (v *Verifier) parseHeader(seg string) (joseHeader, *Error) {
	var h joseHeader
	b, e := decodeSegment(seg)
	if e != nil {
		return h, e
	}
	b = bytes.TrimSpace(b)
	var r rawHeader
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &r) != nil {
		return h, newError(ErrMalformed, ReasonBadJSON, "header is not a JSON object with string members")
	}
	for _, f := range [...]struct {
		name string
		raw  json.RawMessage
	}{{"jku", r.Jku}, {"x5u", r.X5u}, {"jwk", r.Jwk}, {"x5c", r.X5c}, {"b64", r.B64}} {
		if len(f.raw) > 0 {
			return h, newError(ErrHeader, ReasonForbiddenHeader, "header "+f.name+" is not accepted: keys come only from the issuer's discovered key set")
		}
	}
	if len(r.Crit) > 0 {
		return h, newError(ErrHeader, ReasonUnsupportedCrit, "critical header extensions are not supported")
	}
	h.alg, h.typ, h.kid, h.cty = r.Alg, r.Typ, r.Kid, r.Cty
	if !slices.Contains(v.cfg.Algorithms, h.alg) {
		return h, newError(ErrHeader, ReasonAlgNotAllowed, fmt.Sprintf("alg %q is not in the allow-list", truncate(h.alg, 16)))
	}
	if !validKID(h.kid) {
		return h, newError(ErrHeader, ReasonInvalidKID, "kid has characters outside [A-Za-z0-9._:+=-] or is too long")
	}
	if strings.EqualFold(h.cty, "JWT") {
		return h, newError(ErrMalformed, ReasonNestedJWT, "nested JWTs are not accepted")
	}
	return h, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// validKID accepts the key IDs real providers use (UUIDs, base64url
// thumbprints, dotted names) and rejects path, quote, SQL and control
// characters.
func validKID(kid string) bool {
	if len(kid) > 128 || strings.Contains(kid, "..") {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '+', c == '=':
		default:
			return false
		}
	}
	return true
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

	// Signature and issuer: go-oidc, with paved's key set.
	st := &verifyState{alg: h.alg, kid: h.kid, input: raw[:len(hseg)+1+len(pseg)], sig: sig, payload: payload}
	if _, err := is.oidc.Verify(context.WithValue(ctx, verifyStateKey{}, st), raw); err != nil {
		if st.err != nil {
			return fail(st.err)
		}
		return fail(newError(ErrMalformed, ReasonMalformed, "rejected by the OpenID verifier"))
	}

	// Claims, from the same bytes the signature covers.
	if e := v.checkClaims(is, claims, now); e != nil {
		return fail(e)
	}
	p := is.principal(claims)
	until := unixTime(claims["exp"].(float64))
	if ttl := now.Add(v.cfg.KeyTTL); ttl.Before(until) {
		until = ttl
	}
	return p, until, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func decodeClaims(payload []byte) (map[string]any, *Error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if bytes.Count(trimmed, []byte(".")) == 2 {
			return nil, newError(ErrMalformed, ReasonNestedJWT, "payload is itself a JWT")
		}
		return nil, newError(ErrMalformed, ReasonBadJSON, "payload is not a JSON object")
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil || claims == nil {
		return nil, newError(ErrMalformed, ReasonBadJSON, "payload is not a JSON object")
	}
	return claims, nil
}

// checkType applies RFC 9068: access tokens carry typ at+jwt. With the
// AllowUntypedTokens opt-out, a missing or generic typ is accepted, but a
// token that looks like an ID token still is not.
func (is *issuer) checkType(typ string, claims map[string]any) *Error {
	t := strings.ToLower(typ)
	if t == "at+jwt" || t == "application/at+jwt" {
		return nil
	}
	_, nonce := claims["nonce"]
	_, atHash := claims["at_hash"]
	if nonce || atHash {
		return newError(ErrClaims, ReasonIDToken, "an ID token is not an access token")
	}
	if is.untyped && (t == "" || t == "jwt" || t == "application/jwt") {
		return nil
	}
	return newError(ErrClaims, ReasonWrongTyp, "header typ must be at+jwt (RFC 9068)")
}

func (v *Verifier) checkClaims(is *issuer, claims map[string]any, now time.Time) *Error {
	skew := v.cfg.Skew
	aud, ok := stringList(claims["aud"])
	if !ok || len(aud) == 0 {
		return newError(ErrClaims, ReasonMissingAudience, "aud is missing")
	}
	if !intersects(aud, is.audiences) {
		return newError(ErrClaims, ReasonWrongAudience, "aud names none of the accepted audiences")
	}
	if azpRaw, present := claims["azp"]; present {
		azp, _ := azpRaw.(string)
		allowed := is.azps
		if len(allowed) == 0 {
			allowed = is.audiences
		}
		if !slices.Contains(allowed, azp) {
			return newError(ErrClaims, ReasonWrongAZP, "azp is not an accepted client")
		}
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return newError(ErrClaims, ReasonMissingClaim, "sub is missing")
	}
	exp, ok := claims["exp"].(float64)
	if !ok {
		return newError(ErrClaims, ReasonMissingClaim, "exp is missing or not a number")
	}
	if now.After(unixTime(exp).Add(skew)) {
		return newError(ErrExpired, ReasonExpired, "token expired")
	}
	if raw, present := claims["nbf"]; present {
		nbf, ok := raw.(float64)
		if !ok {
			return newError(ErrMalformed, ReasonBadJSON, "nbf is not a number")
		}
		if now.Add(skew).Before(unixTime(nbf)) {
			return newError(ErrExpired, ReasonNotYetValid, "token not valid yet (nbf)")
		}
	}
	if raw, present := claims["iat"]; present {
		iat, ok := raw.(float64)
		if !ok {
			return newError(ErrMalformed, ReasonBadJSON, "iat is not a number")
		}
		if now.Add(skew).Before(unixTime(iat)) {
			return newError(ErrExpired, ReasonIssuedInFuture, "token issued in the future (iat)")
		}
	}
	return nil
}

// unixTime converts a NumericDate, clamping it to ±1e12 s so that huge
// values keep their sign: a far-past exp stays expired.
func unixTime(f float64) time.Time {
	f = max(min(f, 1e12), -1e12)
	return time.Unix(int64(f), 0)
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// stringList reads a claim that is a string or an array of strings.
func stringList(v any) ([]string, bool) {
	switch t := v.(type) {
	case string:
		return []string{t}, true
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// spaceList reads a claim that is a space-separated string or an array.
func spaceList(v any) []string {
	if s, ok := v.(string); ok {
		return strings.Fields(s)
	}
	l, _ := stringList(v)
	return l
}

func lookupPath(claims map[string]any, path string) any {
	var cur any = claims
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func collect(claims map[string]any, paths []string) []string {
	var out []string
	for _, p := range paths {
		for _, s := range spaceList(lookupPath(claims, p)) {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func (is *issuer) principal(claims map[string]any) *paved.Principal {
	aud, _ := stringList(claims["aud"])
	amr, _ := stringList(claims["amr"])
	sub, _ := claims["sub"].(string)
	acr, _ := claims["acr"].(string)
	return &paved.Principal{
		Subject:  sub,
		Issuer:   is.url,
		Audience: aud,
		Scopes:   collect(claims, is.claims.Scopes),
		Roles:    collect(claims, is.claims.Roles),
		Groups:   collect(claims, is.claims.Groups),
		AMR:      amr,
		ACR:      acr,
		Claims:   claims,
	}
}

func (v *Verifier) sink() paved.Sink {
	if v.cfg.Sink != nil {
		return v.cfg.Sink
	}
	return paved.DefaultSink()
}

func (v *Verifier) emitSuccess(ctx context.Context, p *paved.Principal, start time.Time) {
	s := v.sink()
	if _, nop := s.(paved.NopSink); nop {
		return
	}
	paved.Emit(ctx, s, paved.Event{
		Type: paved.EventAuthnSuccess, Component: component, Outcome: paved.OutcomeSuccess,
		Subject: p.Subject, RequestID: httpx.RequestIDFrom(ctx), Duration: time.Since(start),
		Attrs: []slog.Attr{slog.String("issuer", p.Issuer), slog.Bool("mfa", MFAPresent(p))},
	})
}

func (v *Verifier) emitFailure(ctx context.Context, err error, start time.Time) {
	s := v.sink()
	if _, nop := s.(paved.NopSink); nop {
		return
	}
	var attrs []slog.Attr
	var e *Error
	if errors.As(err, &e) && e.Issuer != "" {
		attrs = append(attrs, slog.String("issuer", e.Issuer))
	}
	paved.Emit(ctx, s, paved.Event{
		Type: paved.EventAuthnFailure, Component: component, Outcome: paved.OutcomeFailure,
		Reason: reasonOf(err), RequestID: httpx.RequestIDFrom(ctx), Duration: time.Since(start), Attrs: attrs,
	})
}
