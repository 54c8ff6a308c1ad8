package httpx

import (
	"crypto/x509"
	"log/slog"
	"net/http"
	"time"

	"github.com/pavedroad/paved"
)

// Defaults applied by [New] to zero fields of [Config].
const (
	DefaultAddr              = "127.0.0.1:8443"
	DefaultPlainAddr         = "127.0.0.1:8080"
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultDrainTimeout      = 20 * time.Second
	DefaultCheckTimeout      = 5 * time.Second
)

// Config configures a [Server]. The zero value is the most secure setting;
// every zero field takes the default its comment states, and a weaker
// setting takes a named opt-out in OptOuts rather than a flag. [New]
// validates it and names the offending field in its error.
type Config struct {
	// Addr is the TCP address to listen on. Default "127.0.0.1:8443"
	// (loopback only; "127.0.0.1:8080" with AllowPlainHTTP). Set ":8443"
	// to listen on every interface, as a container usually must.
	Addr string

	// Handler, when set, serves every request other than /livez and
	// /readyz, and the server's own mux ([Server.Handle]) is not used.
	Handler http.Handler

	// Logger receives the access log, panics, startup and shutdown;
	// slog.Default when nil. Give it a handler that discards to silence
	// the access log.
	Logger *slog.Logger
	// Posture records the server's controls and opt-outs;
	// paved.DefaultPosture when nil.
	Posture *paved.Posture
	// Events receives security events (rate-limit denials, panics,
	// rejected cross-origin requests); paved.DefaultSink when nil.
	Events paved.Sink

	// Certificates supplies the TLS certificate: [NewFileCertificate],
	// [NewDevCertificate] (with the AllowDevCertificate opt-out) or Vault
	// PKI from package secrets. Required unless OptOuts holds
	// AllowPlainHTTP.
	Certificates CertificateSource
	// ClientCAs, when set, turns on mutual TLS: every client must present
	// a certificate that verifies against this pool; handlers read it
	// with [ClientCertificate]. Default: no client certificates.
	ClientCAs *x509.CertPool
	// MinTLSVersion is tls.VersionTLS12 (the default) or
	// tls.VersionTLS13. Lower versions are refused.
	MinTLSVersion uint16

	// ReadHeaderTimeout (default 10s), ReadTimeout (30s), WriteTimeout
	// (60s) and IdleTimeout (120s) bound each connection; see
	// http.Server. They cannot be switched off.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// MaxHeaderBytes bounds the request header (default 16 KiB); larger
	// headers get 431.
	MaxHeaderBytes int
	// MaxBodyBytes bounds request bodies (default 1 MiB); larger bodies
	// get 413. Override it per route with [BodyLimit].
	MaxBodyBytes int64
	// DrainTimeout is how long ListenAndServe waits for in-flight requests
	// after its context ends (default 20s) before closing connections.
	DrainTimeout time.Duration
	// CheckTimeout bounds each readiness check run by /readyz (default
	// 5s).
	CheckTimeout time.Duration

	// Headers selects the security-header profile: [ProfileAPI] (the
	// default) or [ProfileHTML] with a per-request CSP nonce.
	Headers HeaderProfile
	// TrustedOrigins are origins ("https://app.example.com") allowed to
	// make cross-origin state-changing requests. Default: none.
	TrustedOrigins []string
	// ClientIP says which proxies' forwarded headers to believe. Default:
	// none; the client is the TCP peer.
	ClientIP ClientIPConfig
	// RateLimit configures the per-client rate limit, on by default at
	// 600 requests a minute per client address, in memory. /livez and
	// /readyz are not limited.
	RateLimit RateLimitConfig
	// AccessLogHeaders names request headers to include in the access
	// log; credentials among them are logged as "REDACTED".
	AccessLogHeaders []string

	// OptOuts lists the secure defaults this server leaves, each with its
	// reason: [AllowPlainHTTP], [AllowDevCertificate], [DisableRateLimit],
	// [DisableCrossOriginProtection]. They are recorded in Posture and
	// logged once at startup.
	OptOuts []paved.OptOut
}
