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
	// object payload (includes the size cap, bad base64 and nested JWTs).
	ErrMalformed = errors.New("auth: malformed token")
	// ErrHeader: the JOSE header asks for something this package refuses
	// (alg none or HMAC, jku/x5u/jwk/x5c, unknown crit, a suspicious kid).
	ErrHeader = errors.New("auth: forbidden token header")
	// ErrKey: no usable key verifies the token, or the key set is
	// unavailable.
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
	ReasonNoToken           = "no_token"
	ReasonTooLarge          = "token_too_large"
	ReasonMalformed         = "malformed"
	ReasonBadBase64         = "bad_base64"
	ReasonBadJSON           = "bad_json"
	ReasonNestedJWT         = "nested_jwt"
	ReasonAlgNotAllowed     = "alg_not_allowed"
	ReasonForbiddenHeader   = "forbidden_header"
	ReasonUnsupportedCrit   = "unsupported_crit"
	ReasonInvalidKID        = "invalid_kid"
	ReasonUnknownKID        = "unknown_kid"
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
)

// Error is a rejection with a reason. Its message is built only from the
// reason and configuration values, never from the token.
type Error struct {
	// Reason is one of the Reason constants.
	Reason string
	// Issuer is the issuer the token was routed to, when known.
	Issuer string
	// Detail is a short human-readable explanation.
	Detail string
	kind   error
}

func newError(kind error, reason, detail string) *Error {
	return &Error{Reason: reason, Detail: detail, kind: kind}
}

// Error implements error.
func (e *Error) Error() string {
	if e.Detail != "" {
		return e.kind.Error() + ": " + e.Reason + ": " + e.Detail
	}
	return e.kind.Error() + ": " + e.Reason
}

// Unwrap returns the sentinel this error belongs to.
func (e *Error) Unwrap() error { return e.kind }

// Status returns the HTTP status the middleware answers with: 403 for
// [ErrForbidden] (except a missing MFA, 401 as RFC 9470 step-up asks),
// 401 otherwise.
func (e *Error) Status() int {
	if e.kind == ErrForbidden && e.Reason != ReasonMFARequired {
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
