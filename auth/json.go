package auth

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// JSON of JOSE headers and JWT claims sets, read under stricter rules than
// encoding/json's:
//
//   - Member names are case-sensitive (RFC 7515 section 4, RFC 7519
//     section 4): values are read from the decoded map by exact name,
//     never through encoding/json's case-insensitive struct matching.
//   - No object, at any depth, has two members whose names are equal or
//     differ only in case. RFC 7515 section 5.2 and RFC 7519 section 4
//     let a parser reject duplicates or keep the last one; encoding/json
//     keeps the last, matches struct fields without case, and other
//     parsers keep the first. A token read one way here and another way
//     by a neighbour (go-jose, a proxy, the handler re-decoding the
//     claims) is the attack, so such a token is refused outright.
//   - The bytes are valid UTF-8 (RFC 7519 section 7.2) and no \u escape
//     names half of a UTF-16 surrogate pair: encoding/json would turn
//     either into U+FFFD and read a different string than the signer
//     wrote.

// decodeObject decodes b, which must be a JSON object, under the rules
// above. what names it in error details ("header", "payload").
func decodeObject(b []byte, what string) (map[string]any, *Error) {
	if !utf8.Valid(b) || loneSurrogate(b) {
		return nil, newError(ErrMalformed, ReasonBadUTF8, what+" is not valid UTF-8")
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, newError(ErrMalformed, ReasonBadJSON, what+" is not a JSON object")
	}
	// encoding/json keeps one entry per distinct name, so the decoded
	// maps hold fewer entries than b has members exactly when some
	// object repeats a name.
	if n, foldDup := entries(m); foldDup || n != countMembers(b) {
		return nil, newError(ErrMalformed, ReasonDuplicateMember, what+" repeats a member name (or repeats it in another case)")
	}
	return m, nil
}

// countMembers counts the members of every object in b, valid JSON: the
// colons outside strings.
func countMembers(b []byte) int {
	n := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case ':':
			n++
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++ // the escaped byte cannot end the string
				}
			}
		}
	}
	return n
}

// entries returns how many members the objects in v (a value decoded by
// encoding/json) hold in all, and whether any object has two names that
// differ only in case.
func entries(v any) (n int, foldDup bool) {
	switch t := v.(type) {
	case map[string]any:
		n = len(t)
		mixed := false
		for k, x := range t {
			mixed = mixed || !lowerASCII(k)
			c, d := entries(x)
			n, foldDup = n+c, foldDup || d
		}
		foldDup = foldDup || mixed && hasFoldTwins(t)
	case []any:
		for _, x := range t {
			c, d := entries(x)
			n, foldDup = n+c, foldDup || d
		}
	}
	return n, foldDup
}

// lowerASCII reports whether s has no upper-case ASCII letter and no
// non-ASCII byte. Two different such names never differ only in case, so
// an object whose names are all of this kind (nearly every header and
// claims set) needs no further look.
func lowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || c >= 'A' && c <= 'Z' {
			return false
		}
	}
	return true
}

// hasFoldTwins reports whether two names of m are equal under Unicode
// case folding (strings.EqualFold, at least as broad as encoding/json's
// matching). A small object is compared pair by pair; a large one through
// a set of folded names, so a token made of many upper-case names costs
// linear time, not quadratic.
func hasFoldTwins(m map[string]any) bool {
	if len(m) <= 16 {
		for k := range m {
			if lowerASCII(k) {
				continue
			}
			for other := range m {
				if other != k && strings.EqualFold(other, k) {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[string]struct{}, len(m))
	for k := range m {
		f := foldName(k)
		if _, dup := seen[f]; dup {
			return true
		}
		seen[f] = struct{}{}
	}
	return false
}

// foldName maps every rune of s to the smallest rune of its case-folding
// orbit, so foldName(a) == foldName(b) exactly when strings.EqualFold(a, b)
// (for valid UTF-8).
func foldName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		for {
			f := unicode.SimpleFold(r)
			if f <= r {
				r = f
				break
			}
			r = f
		}
		b.WriteRune(r)
	}
	return b.String()
}

// loneSurrogate reports whether b escapes half of a UTF-16 surrogate pair
// (\ud800 without a following \udc00-\udfff, or a low half alone).
// Backslashes occur only in strings, so every one starts an escape.
func loneSurrogate(b []byte) bool {
	i := bytes.IndexByte(b, '\\')
	for i >= 0 && i+1 < len(b) {
		step := 2
		if b[i+1] == 'u' {
			step = 6
			switch r := hex4(b[i+2:]); {
			case r >= 0xdc00 && r <= 0xdfff:
				return true
			case r >= 0xd800 && r <= 0xdbff:
				if len(b) < i+12 || b[i+6] != '\\' || b[i+7] != 'u' {
					return true
				}
				if lo := hex4(b[i+8:]); lo < 0xdc00 || lo > 0xdfff {
					return true
				}
				step = 12
			}
		}
		i += step
		if i >= len(b) {
			break
		}
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 {
			break
		}
		i += j
	}
	return false
}

// hex4 reads four hex digits, or returns -1.
func hex4(b []byte) int {
	if len(b) < 4 {
		return -1
	}
	r := 0
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | int(c)
	}
	return r
}
