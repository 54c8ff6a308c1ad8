package auth

import (
	"bytes"
	"encoding/json"
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
