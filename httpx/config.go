package httpx

import (
	"crypto/x509"
	"log/slog"
	"net/http"
	"time"

	"github.com/pavedroad/paved"
)

// Defaults applied by [New] to zero fields of [Config]. The range each
// field accepts is stated in its comment.
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
// setting takes a named opt-out in OptOuts rather than a flag. Every
// duration and size has a floor and a ceiling, so that no value switches a
// control off by accident: a timeout too short to serve anyone, or so long
// that it no longer bounds anything. [New] validates all of it and returns
// a [paved.ConfigError] for every faulty field at once.
type Config struct {
	// Name names this server in the posture report, such as "public" or
	// "admin"; empty means numbered in order of creation ("1", "2", ...).
	// Two servers sharing one Posture each report their own controls.
	Name string

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
	// Posture records the server's controls and opt-outs, under the
	// instance Name; paved.DefaultPosture when nil.
	Posture *paved.Posture
	// Events receives security events (rate-limit denials, panics,
	// rejected cross-origin requests); paved.DefaultSink when nil.
	Events paved.Sink

	// Certificates supplies the TLS certificate: [NewFileCertificate], or
	// [NewDevCertificate] with the AllowDevCertificate opt-out; any other
	// source (a Vault PKI client, for one) can implement
	// [CertificateSource]. Required unless OptOuts holds AllowPlainHTTP.
	Certificates CertificateSource
	// ClientCAs, when set, turns on mutual TLS: every client must present
	// a certificate that verifies against this pool; handlers read it
	// with [ClientCertificate]. Default: no client certificates.
	ClientCAs *x509.CertPool
	// MinTLSVersion is tls.VersionTLS12 (the default) or
	// tls.VersionTLS13. Lower versions are refused, and so is any with
	// AllowPlainHTTP.
	MinTLSVersion uint16

	// ReadHeaderTimeout bounds reading a request's header (see
	// http.Server). Default 10s, or ReadTimeout when that is set lower;
	// from 1s to 1m, and not above ReadTimeout.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	// Default 30s; from 1s to 10m.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response, from the end of the
	// request's header. Default 60s; from 1s to 10m.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request. Default 120s; from 1s to 10m.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request header. Default 16 KiB; from
	// 4 KiB to 1 MiB. The size is counted alike on HTTP/1.1 and HTTP/2,
	// as HTTP/2 counts a header list (RFC 9113, section 6.5.2): for each
	// field, the length of its name and its value plus 32, with the
	// request line counted as HTTP/2's four pseudo-fields (":method",
	// ":scheme", ":authority", ":path"). A request over the limit gets
	// 431 problem+json from the server. The count is made on the request
	// as net/http parsed it, which lacks a few bytes of what was sent:
	// HTTP/1.1 padding whitespace; the Host field beside an absolute-form
	// target ("GET https://host/ HTTP/1.1"), which net/http drops for the
	// target's host; Content-Length fields repeating the first, which
	// net/http folds into one; a repeated name in the Trailer field; over
	// HTTP/2,
	// an Expect field asking for 100-continue, and each cookie sent as a
	// separate field (browsers and Go's client send one per cookie),
	// counted as joined into one Cookie field, 36 bytes less per cookie
	// after the first. Only the backstop below bounds those.
	//
	// net/http is given a limit 4 KiB higher, as a backstop, and a
	// request past its limits never reaches the server's chain: over HTTP/1.1
	// net/http counts raw bytes (request line and header lines, with
	// their line ends and any padding whitespace) up to MaxHeaderBytes +
	// 8 KiB, and answers past it with its own plain-text 431 and closes
	// the connection. Over HTTP/2 it advertises MaxHeaderBytes + 4 KiB +
	// 320 in SETTINGS_MAX_HEADER_LIST_SIZE (Go's client then refuses to
	// send a larger header at all); a client that sends one anyway gets
	// net/http's 431 with a short HTML body, or no response at all: when
	// one HEADERS or CONTINUATION frame holds more than twice what is
	// left of the allowance (any frame, once it is spent), net/http
	// closes the whole connection with GOAWAY PROTOCOL_ERROR.
	MaxHeaderBytes int
	// MaxBodyBytes bounds request bodies. Default 1 MiB; from 1 byte to
	// 1 GiB. Larger bodies get 413. Override it per route with
	// [BodyLimit].
	MaxBodyBytes int64
	// DrainTimeout is how long ListenAndServe waits for in-flight requests
	// after its context ends before closing connections. Default 20s;
	// from 100ms to 10m.
	DrainTimeout time.Duration
	// CheckTimeout bounds each readiness check run by /readyz. Default
	// 5s; from 10ms to 1m.
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
	// /readyz are not limited. Setting it beside DisableRateLimit is an
	// error.
	RateLimit RateLimitConfig
	// AccessLogHeaders names request headers to include in the access
	// log; credentials among them are logged as "REDACTED".
	AccessLogHeaders []string

	// OptOuts lists the secure defaults this server leaves, each with its
	// reason: [AllowPlainHTTP], [AllowDevCertificate], [DisableRateLimit],
	// [DisableCrossOriginProtection]. They are recorded in Posture and
	// logged once, by New. A rate-limit store's own opt-outs (such as
	// redislimit.AllowLocalFallback) go in that store's configuration.
	OptOuts []paved.OptOut
}
