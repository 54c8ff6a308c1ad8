package auth

import (
	"slices"
	"strings"
	"time"

	"github.com/pavedroad/paved"
)

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
	if e := is.checkClient(claims); e != nil {
		return e
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return newError(ErrClaims, ReasonMissingClaim, "sub is missing")
	}
	rawExp, present := claims["exp"]
	exp, ok := rawExp.(float64)
	switch {
	case !present:
		return newError(ErrClaims, ReasonMissingClaim, "exp is missing")
	case !ok:
		return newError(ErrMalformed, ReasonBadExp, "exp is not a number")
	}
	if now.After(unixTime(exp).Add(skew)) {
		return newError(ErrExpired, ReasonExpired, "token expired")
	}
	if raw, present := claims["nbf"]; present {
		nbf, ok := raw.(float64)
		if !ok {
			return newError(ErrMalformed, ReasonBadNbf, "nbf is not a number")
		}
		if now.Add(skew).Before(unixTime(nbf)) {
			return newError(ErrExpired, ReasonNotYetValid, "token not valid yet (nbf)")
		}
	}
	if raw, present := claims["iat"]; present {
		iat, ok := raw.(float64)
		if !ok {
			return newError(ErrMalformed, ReasonBadIat, "iat is not a number")
		}
		if now.Add(skew).Before(unixTime(iat)) {
			return newError(ErrExpired, ReasonIssuedInFuture, "token issued in the future (iat)")
		}
	}
	return nil
}

// checkClient applies the issuer's AuthorizedParties. An access token's
// azp names the client that asked for it (Keycloak, Auth0), which is
// rarely the API's audience, so by default any client is accepted: aud is
// what says the token is meant for this API. With AuthorizedParties set,
// the client must be listed: azp when the token has one, else client_id
// (RFC 9068 section 2.2); a token naming neither is refused. An azp that
// is present is always a non-empty string.
func (is *issuer) checkClient(claims map[string]any) *Error {
	client, present := claims["azp"]
	if present {
		if s, _ := client.(string); s == "" {
			return newError(ErrClaims, ReasonWrongAZP, "azp is not a non-empty string")
		}
	}
	if len(is.azps) == 0 {
		return nil
	}
	if !present {
		client = claims["client_id"]
	}
	if s, _ := client.(string); s == "" || !slices.Contains(is.azps, s) {
		return newError(ErrClaims, ReasonWrongAZP, "the token's client (azp, else client_id) is not an authorized party")
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
