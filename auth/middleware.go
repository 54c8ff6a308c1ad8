package auth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// Middleware authenticates every request with a bearer token (RFC 6750
// Authorization header only; tokens in query strings or forms are ignored)
// and stores the caller with [paved.WithPrincipal]. A request without a
// valid token gets 401 with a WWW-Authenticate challenge and a
// problem+json body naming the reason; it is never redirected.
func (v *Verifier) Middleware() httpx.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, err := bearerToken(r)
			if err == nil {
				var p *paved.Principal
				if p, err = v.Verify(r.Context(), raw); err == nil {
					next.ServeHTTP(w, r.WithContext(paved.WithPrincipal(r.Context(), p)))
					return
				}
			} else {
				v.emitFailure(r.Context(), err, time.Now())
			}
			WriteError(w, r, err)
		})
	}
}

// Protect is v.Middleware() followed by [Require](reqs...) around h: the
// one-line way to guard a route.
func (v *Verifier) Protect(h http.Handler, reqs ...Requirement) http.Handler {
	return v.Middleware()(Require(reqs...)(h))
}

// bearerToken extracts the token of a single "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return "", newError(ErrNoToken, ReasonNoToken, "no Authorization header")
	}
	if len(vals) > 1 {
		return "", newError(ErrMalformed, ReasonMalformed, "more than one Authorization header")
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", newError(ErrNoToken, ReasonNoToken, "Authorization scheme is not Bearer")
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", newError(ErrNoToken, ReasonNoToken, "empty bearer token")
	}
	return tok, nil
}

// WriteError answers err at the HTTP edge: RFC 6750 challenge plus RFC 9457
// problem. ErrNoToken gives 401 with a bare "Bearer" challenge, other
// rejections 401 error="invalid_token", a missing scope/role/group 403
// error="insufficient_scope", missing MFA 401
// error="insufficient_user_authentication" (RFC 9470). The body names the
// reason and never echoes the token.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = newError(ErrMalformed, ReasonMalformed, "")
	}
	status := e.Status()
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	var challenge string
	switch {
	case e.kind == ErrNoToken:
		challenge = `Bearer realm="api"`
	case e.Reason == ReasonMFARequired:
		challenge = `Bearer error="insufficient_user_authentication", error_description="multi-factor authentication required"`
	case e.kind == ErrForbidden:
		challenge = `Bearer error="insufficient_scope", error_description="` + e.Reason + `"`
		if sc, ok := strings.CutPrefix(e.Detail, "requires scope "); ok && e.Reason == ReasonInsufficientScope {
			challenge += `, scope="` + sc + `"`
		}
	default:
		challenge = `Bearer error="invalid_token", error_description="` + e.Reason + `"`
	}
	h.Set("WWW-Authenticate", challenge)
	detail := e.Detail
	if detail == "" {
		detail = e.Reason
	}
	httpx.WriteProblem(w, r, &httpx.Problem{
		Status:     status,
		Detail:     detail,
		Extensions: map[string]any{"reason": e.Reason},
	})
}

// A Requirement is one condition on the authenticated caller. It returns
// nil when p satisfies it, else an *Error wrapping [ErrForbidden].
type Requirement func(p *paved.Principal) error

// Require returns middleware that checks every requirement against the
// principal stored by an authenticating middleware. A request with no
// principal gets 401; a failed requirement 403 (401 for MFA, RFC 9470).
// Compose per route: Require(RequireScope("orders:read"), RequireMFA()).
func Require(reqs ...Requirement) httpx.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := paved.PrincipalFrom(r.Context())
			if !ok {
				WriteError(w, r, newError(ErrNoToken, ReasonNoToken, "no authenticated caller"))
				return
			}
			for _, req := range reqs {
				if req == nil {
					continue
				}
				if err := req(p); err != nil {
					emitDenied(r.Context(), p, err)
					WriteError(w, r, err)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func emitDenied(ctx context.Context, p *paved.Principal, err error) {
	s := paved.DefaultSink()
	if _, nop := s.(paved.NopSink); nop {
		return
	}
	paved.Emit(ctx, s, paved.Event{Type: paved.EventAuthzDenied, Component: component, Outcome: paved.OutcomeDenied,
		Reason: reasonOf(err), Subject: p.Subject, RequestID: httpx.RequestIDFrom(ctx)})
}

// RequireScope requires every listed OAuth scope.
func RequireScope(scopes ...string) Requirement {
	return func(p *paved.Principal) error {
		for _, s := range scopes {
			if !p.HasScope(s) {
				return newError(ErrForbidden, ReasonInsufficientScope, "requires scope "+strings.Join(scopes, " "))
			}
		}
		return nil
	}
}

// RequireRole requires at least one of the listed roles.
func RequireRole(roles ...string) Requirement {
	return func(p *paved.Principal) error {
		if slices.ContainsFunc(roles, p.HasRole) {
			return nil
		}
		return newError(ErrForbidden, ReasonMissingRole, "requires one of roles "+strings.Join(roles, ", "))
	}
}

// RequireGroup requires membership of at least one of the listed groups.
func RequireGroup(groups ...string) Requirement {
	return func(p *paved.Principal) error {
		if slices.ContainsFunc(groups, p.InGroup) {
			return nil
		}
		return newError(ErrForbidden, ReasonMissingGroup, "requires one of groups "+strings.Join(groups, ", "))
	}
}

// RequireMFA requires a multi-factor login: amr containing "mfa", or two
// or more distinct authentication methods, or (when acrs are given) an acr
// among acrs. It registers the "mfa" control in paved.DefaultPosture.
func RequireMFA(acrs ...string) Requirement {
	detail := "amr mfa or two factors"
	if len(acrs) > 0 {
		detail += "; or acr in " + strings.Join(acrs, ", ")
	}
	paved.DefaultPosture().SetControl(paved.Control{Component: component, Name: "mfa-required", Enabled: true, Detail: detail})
	return func(p *paved.Principal) error {
		if MFAPresent(p) || (p.ACR != "" && slices.Contains(acrs, p.ACR)) {
			return nil
		}
		return newError(ErrForbidden, ReasonMFARequired, "requires multi-factor authentication")
	}
}

// MFAPresent reports whether p's amr shows a multi-factor login: "mfa", or
// at least two distinct methods (RFC 8176).
func MFAPresent(p *paved.Principal) bool {
	if p == nil {
		return false
	}
	if p.HasAMR("mfa") {
		return true
	}
	n := 0
	for i, m := range p.AMR {
		if m != "" && !slices.Contains(p.AMR[:i], m) {
			n++
		}
	}
	return n >= 2
}
