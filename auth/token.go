package auth

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

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

// forbiddenHeaders are the members that would let the token choose its
// own key. Names are matched exactly, as go-jose matches them: "JKU" is
// an unknown member, ignored by both (and "jku" beside "JKU" is refused
// as a repeated name).
var forbiddenHeaders = [...]string{"jku", "x5u", "jwk", "x5c", "b64"}

// parseHeader decodes the protected header (see decodeObject for the
// JSON rules) and applies the header rules that do not depend on the
// issuer. The alg and kid read here are the ones the key set verifies
// with.
func (v *Verifier) parseHeader(seg string) (joseHeader, *Error) {
	var h joseHeader
	b, e := decodeSegment(seg)
	if e != nil {
		return h, e
	}
	m, e := decodeHeader(b)
	if e != nil {
		return h, e
	}
	if h, e = headerRules(m); e != nil {
		return h, e
	}
	if !slices.Contains(v.cfg.Algorithms, h.alg) {
		return h, newError(ErrHeader, ReasonAlgNotAllowed, fmt.Sprintf("alg %q is not in the allow-list", truncate(h.alg, 16)))
	}
	return h, nil
}

// headerRules applies the header rules every token meets, bearer or ID
// token (whose alg go-oidc checks against its own list): no member that
// picks a key, no crit, no zip, string alg/typ/kid/cty, a valid kid, no
// nested JWT.
func headerRules(m map[string]any) (joseHeader, *Error) {
	var h joseHeader
	for _, name := range forbiddenHeaders {
		if _, ok := m[name]; ok {
			return h, newError(ErrHeader, ReasonForbiddenHeader, "header "+name+" is not accepted: keys come only from the issuer's discovered key set")
		}
	}
	if _, ok := m["crit"]; ok {
		return h, newError(ErrHeader, ReasonUnsupportedCrit, "critical header extensions are not supported")
	}
	if _, ok := m["zip"]; ok {
		return h, newError(ErrHeader, ReasonUnsupportedZip, "compressed payloads (zip) are not accepted")
	}
	var ok [4]bool
	h.alg, ok[0] = headerString(m, "alg")
	h.typ, ok[1] = headerString(m, "typ")
	h.kid, ok[2] = headerString(m, "kid")
	h.cty, ok[3] = headerString(m, "cty")
	if ok != [4]bool{true, true, true, true} {
		return h, newError(ErrMalformed, ReasonBadJSON, "header alg, typ, kid and cty must be strings")
	}
	if !validKID(h.kid) {
		return h, newError(ErrHeader, ReasonInvalidKID, "kid has a character outside printable ASCII, a quote or backslash, \"..\", or more than 128 bytes")
	}
	if strings.EqualFold(h.cty, "JWT") {
		return h, newError(ErrMalformed, ReasonNestedJWT, "nested JWTs are not accepted")
	}
	return h, nil
}

// decodeHeader decodes a JOSE header: a JSON object under decodeObject's
// rules.
func decodeHeader(b []byte) (map[string]any, *Error) {
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return nil, newError(ErrMalformed, ReasonBadJSON, "header is not a JSON object")
	}
	return decodeObject(b, "header")
}

// headerString returns the member name of m when it is a string; ok is
// false when it is present with another type.
func headerString(m map[string]any, name string) (s string, ok bool) {
	v, present := m[name]
	if !present {
		return "", true
	}
	s, ok = v.(string)
	return s, ok
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// validKID accepts the key IDs real providers use (UUIDs, base64url and
// standard base64 thumbprints such as Cognito's, dotted names): at most
// 128 printable ASCII characters other than '"' and backslash, without "..".
// A kid is only ever compared with == against the key set's, never used
// as a path or in a query.
func validKID(kid string) bool {
	if len(kid) > 128 || strings.Contains(kid, "..") {
		return false
	}
	for i := 0; i < len(kid); i++ {
		if c := kid[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// decodeClaims decodes a JWT claims set: a JSON object under
// decodeObject's rules, not itself a JWT.
func decodeClaims(payload []byte) (map[string]any, *Error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if bytes.Count(trimmed, []byte(".")) == 2 {
			return nil, newError(ErrMalformed, ReasonNestedJWT, "payload is itself a JWT")
		}
		return nil, newError(ErrMalformed, ReasonBadJSON, "payload is not a JSON object")
	}
	return decodeObject(payload, "payload")
}
