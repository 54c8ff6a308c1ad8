package httpx

import "github.com/pavedroad/paved"

// Component is the name httpx uses in opt-outs, controls and events.
const Component = "httpx"

// Names of the httpx opt-outs.
const (
	OptOutPlainHTTP        = "allow-plain-http"
	OptOutDevCertificate   = "dev-certificate"
	OptOutNoRateLimit      = "no-rate-limit"
	OptOutNoCrossOrigin    = "no-cross-origin-protection"
	OptOutRedisLocalLimits = "ratelimit-local-fallback"
)

// AllowPlainHTTP returns the opt-out that lets a server speak plain HTTP,
// for when TLS ends before the process (a mesh sidecar, a TLS-terminating
// load balancer on the same host). Put it in [Config.OptOuts].
func AllowPlainHTTP(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutPlainHTTP, reason)
}

// AllowDevCertificate returns the opt-out that lets a server use a
// [DevCertificate]. Put it in [Config.OptOuts].
func AllowDevCertificate(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutDevCertificate, reason)
}

// DisableRateLimit returns the opt-out that turns the server's rate limit
// off, for when a gateway in front already limits. Put it in
// [Config.OptOuts].
func DisableRateLimit(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutNoRateLimit, reason)
}

// DisableCrossOriginProtection returns the opt-out that turns the
// cross-origin check off. Prefer [Config.TrustedOrigins]. Put it in
// [Config.OptOuts].
func DisableCrossOriginProtection(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutNoCrossOrigin, reason)
}

// RedisLocalFallback returns the opt-out that makes a [RedisStore] fall
// back to a per-replica in-memory limit when Redis fails, instead of
// denying. Put it in [RedisStoreConfig.LocalFallback].
func RedisLocalFallback(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutRedisLocalLimits, reason)
}
