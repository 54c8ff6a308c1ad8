package paved

import (
	"context"
	"slices"
)

// A Principal is the authenticated caller of a request. auth fills it from a
// verified token; policy and handlers read it. Treat it as read-only once
// stored in a context.
type Principal struct {
	// Subject is the caller's stable identifier (the sub claim).
	Subject string `json:"sub"`
	// Issuer is who vouched for the subject (the iss claim).
	Issuer string `json:"iss"`
	// Audience lists the audiences the credential was issued for.
	Audience []string `json:"aud,omitempty"`
	// Scopes are OAuth scopes granted to the credential.
	Scopes []string `json:"scopes,omitempty"`
	// Roles and Groups come from the issuer's claim mapping.
	Roles  []string `json:"roles,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// AMR lists the authentication methods used (RFC 8176), such as "mfa",
	// "otp" or "hwk"; ACR is the authentication context class.
	AMR []string `json:"amr,omitempty"`
	ACR string   `json:"acr,omitempty"`
	// Claims holds every claim of the credential as decoded JSON.
	Claims map[string]any `json:"claims,omitempty"`
}

// HasScope reports whether p was granted scope s.
func (p *Principal) HasScope(s string) bool { return p != nil && slices.Contains(p.Scopes, s) }

// HasRole reports whether p holds role r.
func (p *Principal) HasRole(r string) bool { return p != nil && slices.Contains(p.Roles, r) }

// InGroup reports whether p belongs to group g.
func (p *Principal) InGroup(g string) bool { return p != nil && slices.Contains(p.Groups, g) }

// HasAMR reports whether method m is among p's authentication methods.
func (p *Principal) HasAMR(m string) bool { return p != nil && slices.Contains(p.AMR, m) }

type principalKey struct{}

// WithPrincipal returns a copy of ctx that carries p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal stored in ctx by [WithPrincipal], and
// whether there was a non-nil one.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p, p != nil
}
