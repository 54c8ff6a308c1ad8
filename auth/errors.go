package auth

import (
	"errors"
	"net/http"
)

// Sentinel errors. Every rejection returned by this package is an *[Error]
// that wraps exactly one of them, so callers can match the class with
// [errors.Is] and read the precise cause from [Error.Reason].
var (
	// ErrNoToken: the request carried no bearer credential.
	ErrNoToken = errors.New("auth: no bearer token")
	// ErrMalformed: the token is not a well-formed compact JWS with a JSON
	// object payload (includes the size cap, bad base64, invalid UTF-8,
	// repeated member names, nested JWTs, and exp, nbf or iat that are
	// not numbers).
	ErrMalformed = errors.New("auth: malformed token")
	// ErrHeader: the JOSE header asks for something this package refuses
	// (alg none or HMAC, jku/x5u/jwk/x5c, unknown crit, zip, a suspicious
	// kid).
	ErrHeader = errors.New("auth: forbidden token header")
	// ErrKey: no usable key verifies the token (no key with its kid, or
	// that key is not for its alg), or the key set is unavailable.
	ErrKey = errors.New("auth: no usable signing key")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("auth: invalid signature")
	// ErrClaims: a claim (iss, aud, azp, typ, sub) does not match the
	// configuration.
	ErrClaims = errors.New("auth: invalid claims")
	// ErrExpired: the token is outside its validity window (exp, nbf, iat).
	ErrExpired = errors.New("auth: token not valid at this time")
	// ErrForbidden: the caller is authenticated but lacks a scope, role,
	// group or authentication strength a route requires.
	ErrForbidden = errors.New("auth: insufficient privileges")
	// ErrNotSupported: the provider does not offer the requested feature.
	ErrNotSupported = errors.New("auth: not supported by the provider")
)

// Reasons name the precise cause of a rejection. They are stable,
// machine-friendly strings used in problem responses, security events and
// logs; they never contain token material.
const (
	ReasonNoToken    = "no_token"
	ReasonEmptyToken = "empty_token"
	ReasonTooLarge   = "token_too_large"
	ReasonMalformed  = "malformed"
	ReasonBadBase64  = "bad_base64"
	ReasonBadJSON    = "bad_json"
	ReasonNestedJWT  = "nested_jwt"
	// ReasonDuplicateMember: an object in the header or the claims has
	// two members whose names are equal or differ only in case.
	ReasonDuplicateMember = "duplicate_member"
	// ReasonBadUTF8: the header or the claims are not valid UTF-8, or
	// escape half of a UTF-16 surrogate pair.
	ReasonBadUTF8 = "bad_utf8"
	// ReasonBadExp, ReasonBadNbf, ReasonBadIat: that claim is present but
	// not a JSON number (NumericDate, RFC 7519 section 2).
	ReasonBadExp = "bad_exp"
	ReasonBadNbf = "bad_nbf"
	ReasonBadIat = "bad_iat"
	// ReasonUnsupportedZip: the header asks for a compressed payload
	// (zip), which JWS does not define and RFC 8725 section 3.6 advises
	// against.
	ReasonUnsupportedZip    = "unsupported_zip"
	ReasonAlgNotAllowed     = "alg_not_allowed"
	ReasonForbiddenHeader   = "forbidden_header"
	ReasonUnsupportedCrit   = "unsupported_crit"
	ReasonInvalidKID        = "invalid_kid"
	ReasonUnknownKID        = "unknown_kid"
	ReasonAlgKeyMismatch    = "alg_key_mismatch"
	ReasonKeysUnavailable   = "jwks_unavailable"
	ReasonBadSignature      = "bad_signature"
	ReasonUnknownIssuer     = "unknown_issuer"
	ReasonWrongAudience     = "wrong_audience"
	ReasonMissingAudience   = "missing_audience"
	ReasonWrongAZP          = "wrong_azp"
	ReasonWrongTyp          = "wrong_typ"
	ReasonIDToken           = "id_token_as_access_token"
	ReasonMissingClaim      = "missing_claim"
	ReasonExpired           = "expired"
	ReasonNotYetValid       = "not_yet_valid"
	ReasonIssuedInFuture    = "issued_in_future"
	ReasonInsufficientScope = "insufficient_scope"
	ReasonMissingRole       = "missing_role"
	ReasonMissingGroup      = "missing_group"
	ReasonMFARequired       = "mfa_required"
	// ReasonForbidden is the reason of an error that wraps [ErrForbidden]
	// (or no sentinel at all) without being an *[Error]; build one with
	// [Deny] to give your own.
	ReasonForbidden = "forbidden"
)

// Error is a rejection with a reason. Its message is built only from the
// reason and configuration values, never from the token.
type Error struct {
	// Reason is one of the Reason constants, or the reason given to
	// [NewError] or [Deny].
	Reason string
	// Issuer is the issuer the token was routed to, when known.
	Issuer string
	// Detail is a short human-readable explanation, sent to the client in
	// the problem's detail.
	Detail string
	kind   error
	scope  string // the scopes a RequireScope wanted, for the challenge
}

func newError(kind error, reason, detail string) *Error {
	return &Error{Reason: reason, Detail: detail, kind: kind}
}

// NewError returns an *Error of class kind (one of the sentinels, such as
// [ErrForbidden] or [ErrExpired]) with the given reason and detail, for a
// custom [Requirement] or authenticator. The middleware answers it as it
// answers the package's own errors of that class: [ErrForbidden] with 403
// and an insufficient_scope challenge (401 insufficient_user_authentication
// when reason is [ReasonMFARequired]), [ErrNoToken] with 401 and a bare
// challenge, any other class with 401 invalid_token.
//
// The reason is a short machine-friendly word sent in the challenge and the
// problem body: characters outside [A-Za-z0-9_.-] become '_' and it is cut
// at 64 bytes; an empty reason becomes [ReasonForbidden]. The detail is
// sent in the problem body: never put a secret in it. A kind that is not
// one of the sentinels, nor wraps one, is treated as [ErrForbidden].
func NewError(kind error, reason, detail string) *Error {
	k := ErrForbidden
	for _, s := range sentinels {
		if errors.Is(kind, s) {
			k = s
			break
		}
	}
	return newError(k, cleanReason(reason), detail)
}

// Deny returns an error wrapping [ErrForbidden] with the given reason and
// detail: the way a custom [Requirement] refuses a caller with a reason of
// its own (403, insufficient_scope challenge). See [NewError] for what the
// reason may hold.
func Deny(reason, detail string) error { return NewError(ErrForbidden, reason, detail) }

// sentinels in the order errors are classified: anything that wraps
// ErrForbidden is a 403, whatever else it wraps.
var sentinels = []error{ErrForbidden, ErrNoToken, ErrMalformed, ErrHeader, ErrKey, ErrSignature, ErrClaims, ErrExpired}

// sentinelReasons is the reason given to an error that wraps a sentinel
// without being an *Error.
var sentinelReasons = map[error]string{
	ErrNoToken: ReasonNoToken, ErrMalformed: ReasonMalformed, ErrHeader: ReasonForbiddenHeader,
	ErrKey: "unusable_key", ErrSignature: ReasonBadSignature, ErrClaims: "invalid_claims",
	ErrExpired: ReasonExpired, ErrForbidden: ReasonForbidden,
}

func cleanReason(r string) string {
	if r == "" {
		return ReasonForbidden
	}
	b := []byte(r[:min(len(r), 64)])
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// asError returns err as an *Error: the *Error in its chain, else a new
// one of the first sentinel it wraps (with that sentinel's generic
// reason), else one wrapping [ErrForbidden] with reason "forbidden": an
// error that says nothing about the token denies access without blaming
// the token. Its text is never copied into the result.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return newError(s, sentinelReasons[s], "")
		}
	}
	return newError(ErrForbidden, ReasonForbidden, "")
}

// Error implements error.
func (e *Error) Error() string {
	kind := e.kind
	if kind == nil {
		kind = ErrForbidden
	}
	if e.Detail != "" {
		return kind.Error() + ": " + e.Reason + ": " + e.Detail
	}
	return kind.Error() + ": " + e.Reason
}

// Unwrap returns the sentinel this error belongs to.
func (e *Error) Unwrap() error {
	if e.kind == nil {
		return ErrForbidden
	}
	return e.kind
}

// Status returns the HTTP status the middleware answers with: 403 for
// [ErrForbidden] (except a missing MFA, 401 as RFC 9470 step-up asks),
// 401 otherwise.
func (e *Error) Status() int {
	if errors.Is(e, ErrForbidden) && e.Reason != ReasonMFARequired {
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

// reasonOf returns the reason of err, or "error" when err is not an *Error.
func reasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return "error"
}
