package secrets

import "github.com/pavedroad/paved"

// Component is the name secrets uses in opt-outs, controls, events and
// configuration errors.
const Component = "secrets"

// Names of the secrets opt-outs: each is the kebab-case form of the
// constructor that returns it.
const (
	OptOutAllowPlainHTTP   = "allow-plain-http"
	OptOutAllowStaticToken = "allow-static-token"
)

// AllowPlainHTTP returns the opt-out that lets the client reach Vault over
// plain HTTP at a non-loopback address (loopback needs none), for when TLS
// ends at a sidecar on the same host. Put it in [Config.OptOuts].
func AllowPlainHTTP(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowPlainHTTP, reason)
}

// AllowStaticToken returns the opt-out that lets the client use a fixed
// Vault token ([TokenLogin]) rather than a login method: such a token
// cannot be replaced when it is revoked or reaches its max TTL, so the
// client loses access then. Put it in [Config.OptOuts].
func AllowStaticToken(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowStaticToken, reason)
}

var optOutConstructors = map[string]struct{ name, example string }{
	OptOutAllowPlainHTTP:   {"AllowPlainHTTP", "TLS ends at the sidecar on this host"},
	OptOutAllowStaticToken: {"AllowStaticToken", "local development against vault -dev"},
}
