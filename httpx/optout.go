package httpx

import "github.com/pavedroad/paved"

// Component is the name httpx uses in opt-outs, controls, events and
// configuration errors.
const Component = "httpx"

// Names of the httpx opt-outs: each is the kebab-case form of the
// constructor that returns it.
const (
	OptOutAllowPlainHTTP               = "allow-plain-http"
	OptOutAllowDevCertificate          = "allow-dev-certificate"
	OptOutDisableRateLimit             = "disable-rate-limit"
	OptOutDisableCrossOriginProtection = "disable-cross-origin-protection"
)

// optOutConstructors maps each httpx opt-out to the constructor that
// returns it and an example reason, for messages that tell the reader
// what to write.
var optOutConstructors = map[string]struct{ name, example string }{
	OptOutAllowPlainHTTP:               {"AllowPlainHTTP", "TLS ends at the mesh sidecar"},
	OptOutAllowDevCertificate:          {"AllowDevCertificate", "local development on loopback"},
	OptOutDisableRateLimit:             {"DisableRateLimit", "the gateway in front limits every client"},
	OptOutDisableCrossOriginProtection: {"DisableCrossOriginProtection", "no browser ever calls this API"},
}

// AllowPlainHTTP returns the opt-out that lets a server speak plain HTTP,
// for when TLS ends before the process (a mesh sidecar, a TLS-terminating
// load balancer on the same host). Put it in [Config.OptOuts].
func AllowPlainHTTP(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowPlainHTTP, reason)
}

// AllowDevCertificate returns the opt-out that lets a server use a
// [DevCertificate]. Put it in [Config.OptOuts].
func AllowDevCertificate(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowDevCertificate, reason)
}

// DisableRateLimit returns the opt-out that turns the server's rate limit
// off, for when a gateway in front already limits. Put it in
// [Config.OptOuts].
func DisableRateLimit(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutDisableRateLimit, reason)
}

// DisableCrossOriginProtection returns the opt-out that turns the
// cross-origin check off. Prefer [Config.TrustedOrigins]. Put it in
// [Config.OptOuts].
func DisableCrossOriginProtection(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutDisableCrossOriginProtection, reason)
}
