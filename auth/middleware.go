package auth

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
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

// Protect is v.Middleware() followed by v.Require(reqs...) around h: the
// one-line way to guard a route.
func (v *Verifier) Protect(h http.Handler, reqs ...Requirement) http.Handler {
	return v.Middleware()(v.Require(reqs...)(h))
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
	// net/http drops the trailing space of "Bearer ", so a scheme with
	// nothing after it arrives as "Bearer".
	scheme, tok, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", newError(ErrNoToken, ReasonNoToken, "Authorization scheme is not Bearer")
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", newError(ErrNoToken, ReasonEmptyToken, "the bearer token is empty")
	}
	return tok, nil
}

// WriteError answers err at the HTTP edge: RFC 6750 challenge plus RFC 9457
// problem. ErrNoToken gives 401 with a bare "Bearer" challenge, other
// rejections 401 error="invalid_token", anything that wraps [ErrForbidden]
// 403 error="insufficient_scope", missing MFA 401
// error="insufficient_user_authentication" (RFC 9470). An error that is not
// an *[Error] is classed by the sentinel it wraps (errors.Is), with that
// class's generic reason; one that wraps none is a 403 with reason
// "forbidden". The body names the reason and never echoes the token nor
// the text of an error that is not an *Error.
func WriteError(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, err, true) }

// writeError is WriteError, with the RFC 6750 challenge only when bearer
// is true: a browser session (Login.Require) has no bearer token to send.
func writeError(w http.ResponseWriter, r *http.Request, err error, bearer bool) {
	e := asError(err)
	status := e.Status()
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	var challenge string
	switch {
	case errors.Is(e, ErrNoToken):
		challenge = `Bearer realm="api"`
	case e.Reason == ReasonMFARequired:
		challenge = `Bearer error="insufficient_user_authentication", error_description="multi-factor authentication required"`
	case errors.Is(e, ErrForbidden):
		challenge = `Bearer error="insufficient_scope", error_description="` + cleanReason(e.Reason) + `"`
		if e.scope != "" {
			challenge += `, scope="` + e.scope + `"`
		}
	default:
		challenge = `Bearer error="invalid_token", error_description="` + cleanReason(e.Reason) + `"`
	}
	if bearer {
		h.Set("WWW-Authenticate", challenge)
	}
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

// A Requirement is one condition on the authenticated caller. Check
// returns nil when p satisfies it, else an error: an *[Error] from
// [RequireScope], [Deny] or [NewError], or any error wrapping a sentinel
// (fmt.Errorf("%w: wrong tenant", auth.ErrForbidden) is a 403). An error
// that wraps no sentinel denies with 403 too. Attach requirements with
// [Verifier.Require], [Verifier.Protect], [Login.Require] or
// [Login.Protect], which report denials to that verifier's or login's
// Events and Posture.
type Requirement interface {
	Check(p *paved.Principal) error
}

// RequirementFunc adapts a function to a [Requirement].
type RequirementFunc func(p *paved.Principal) error

// Check returns f(p).
func (f RequirementFunc) Check(p *paved.Principal) error { return f(p) }

// A postureRequirement is a Requirement that enforces a posture control,
// registered in the posture of the verifier or login it is attached to.
type postureRequirement interface {
	Requirement
	control() (name, detail string)
}

// authorizer checks requirements for one Verifier or Login, reporting to
// its sink and posture instance.
type authorizer struct {
	events paved.Sink
	reg    *paved.Registration
	// browser: a Login's, whose denials carry no Bearer challenge.
	browser bool

	mu       sync.Mutex
	controls map[string][]string // control name -> details of each attachment
}

// Require returns middleware that checks every requirement against the
// principal stored by an authenticating middleware (this verifier's, a
// [Login]'s or your own). A request with no principal gets 401; a failed
// requirement 403 (401 for MFA, RFC 9470). Denials are reported to this
// verifier's Events as [paved.EventAuthzDenied]; a requirement that
// enforces a posture control ([RequireMFA]) registers it in this
// verifier's Posture instance when attached. Compose per route:
// v.Require(auth.RequireScope("orders:read"), auth.RequireMFA()).
func (v *Verifier) Require(reqs ...Requirement) httpx.Middleware { return v.authz.require(reqs) }

func (a *authorizer) require(reqs []Requirement) httpx.Middleware {
	reqs = slices.DeleteFunc(slices.Clone(reqs), func(r Requirement) bool {
		f, isFunc := r.(RequirementFunc)
		return r == nil || isFunc && f == nil
	})
	for _, r := range reqs {
		if pr, ok := r.(postureRequirement); ok {
			a.addControl(pr.control())
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := paved.PrincipalFrom(r.Context())
			if !ok {
				writeError(w, r, newError(ErrNoToken, ReasonNoToken, "no authenticated caller"), !a.browser)
				return
			}
			for _, req := range reqs {
				if err := req.Check(p); err != nil {
					e := asError(err)
					paved.Emit(r.Context(), a.events, paved.Event{Type: paved.EventAuthzDenied, Component: Component, Outcome: paved.OutcomeDenied,
						Reason: e.Reason, Subject: p.Subject, RequestID: httpx.RequestIDFrom(r.Context())})
					writeError(w, r, e, !a.browser)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// addControl records one attachment of a control; the control's Detail
// lists every distinct setting it is attached with.
func (a *authorizer) addControl(name, detail string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.controls == nil {
		a.controls = map[string][]string{}
	}
	ds := a.controls[name]
	if !slices.Contains(ds, detail) {
		ds = append(ds, detail)
		slices.Sort(ds)
		a.controls[name] = ds
	}
	a.reg.SetControl(name, true, strings.Join(ds, " | "))
}

// RequireScope requires every listed OAuth scope.
func RequireScope(scopes ...string) Requirement {
	return RequirementFunc(func(p *paved.Principal) error {
		for _, s := range scopes {
			if !p.HasScope(s) {
				e := newError(ErrForbidden, ReasonInsufficientScope, "requires scope "+strings.Join(scopes, " "))
				e.scope = scopeParam(scopes)
				return e
			}
		}
		return nil
	})
}

// scopeParam joins scopes for the challenge's scope parameter, keeping
// only the characters RFC 6750 allows in a scope token.
func scopeParam(scopes []string) string {
	var b strings.Builder
	for _, s := range scopes {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == 0x21 || c >= 0x23 && c <= 0x5b || c >= 0x5d && c <= 0x7e {
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// RequireRole requires at least one of the listed roles.
func RequireRole(roles ...string) Requirement {
	return RequirementFunc(func(p *paved.Principal) error {
		if slices.ContainsFunc(roles, p.HasRole) {
			return nil
		}
		return newError(ErrForbidden, ReasonMissingRole, "requires one of roles "+strings.Join(roles, ", "))
	})
}

// RequireGroup requires membership of at least one of the listed groups.
func RequireGroup(groups ...string) Requirement {
	return RequirementFunc(func(p *paved.Principal) error {
		if slices.ContainsFunc(groups, p.InGroup) {
			return nil
		}
		return newError(ErrForbidden, ReasonMissingGroup, "requires one of groups "+strings.Join(groups, ", "))
	})
}

// RequireMFA requires a multi-factor login: amr containing "mfa", or two
// or more distinct authentication methods, or (when acrs are given) an acr
// among acrs. Attached with [Verifier.Require] (or Protect, or the
// [Login] equivalents), it registers the "mfa-required" control in that
// verifier's or login's posture instance.
func RequireMFA(acrs ...string) Requirement {
	return mfaRequirement{acrs: slices.Clone(acrs)}
}

type mfaRequirement struct{ acrs []string }

func (m mfaRequirement) Check(p *paved.Principal) error {
	if MFAPresent(p) || (p.ACR != "" && slices.Contains(m.acrs, p.ACR)) {
		return nil
	}
	return newError(ErrForbidden, ReasonMFARequired, "requires multi-factor authentication")
}

func (m mfaRequirement) control() (string, string) {
	detail := "amr mfa or two factors"
	if len(m.acrs) > 0 {
		detail += "; or acr in " + strings.Join(m.acrs, ", ")
	}
	return "mfa-required", detail
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
