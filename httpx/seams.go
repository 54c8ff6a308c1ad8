package httpx

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
)

// Middleware wraps a handler. It is the plain func(http.Handler)
// http.Handler shape, so paved middleware composes with any router.
type Middleware = func(http.Handler) http.Handler

// Chain composes middleware so that Chain(a, b, c)(h) == a(b(c(h))): the
// first middleware is the outermost.
func Chain(mw ...Middleware) Middleware {
	return func(h http.Handler) http.Handler {
		for i := len(mw) - 1; i >= 0; i-- {
			if mw[i] != nil {
				h = mw[i](h)
			}
		}
		return h
	}
}

// A Check reports whether a dependency is ready to serve. /readyz runs every
// registered check; a non-nil error makes the server not ready, except an
// error that wraps [ErrDegraded]: the server still serves (200) and /readyz
// reports "degraded", as when secrets serve last good values through an
// outage of their store.
type Check interface {
	Check(ctx context.Context) error
}

// ErrDegraded marks a readiness error that leaves the server ready but
// degraded: wrap it (fmt.Errorf("vault unreachable, serving cached values: %w",
// httpx.ErrDegraded)) and /readyz answers 200 with status "degraded".
var ErrDegraded = errors.New("degraded")

// CheckFunc adapts a function to a [Check].
type CheckFunc func(ctx context.Context) error

// Check calls f(ctx).
func (f CheckFunc) Check(ctx context.Context) error { return f(ctx) }

// A CertificateSource supplies the server certificate for each TLS
// handshake. Files with hot reload ([NewFileCertificate]) and a
// development CA ([NewDevCertificate]) satisfy it; so can any other
// source, such as a client of Vault's PKI engine, through this one method.
// A source with a String method is described by it in the server's
// tls-certificate posture control (it must not reveal a secret).
type CertificateSource interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
}

// CertificateFunc adapts a function to a [CertificateSource].
type CertificateFunc func(*tls.ClientHelloInfo) (*tls.Certificate, error)

// GetCertificate calls f(hello).
func (f CertificateFunc) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f(hello)
}

var (
	_ Check             = CheckFunc(nil)
	_ CertificateSource = CertificateFunc(nil)
)

type requestIDKey struct{}

// WithRequestID returns a copy of ctx carrying the request ID id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request ID stored in ctx by [WithRequestID] or
// by the [RequestID] middleware, or "".
func RequestIDFrom(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		return id
	}
	if st := stateFrom(ctx); st != nil {
		return st.id
	}
	return ""
}
