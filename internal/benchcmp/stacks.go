package benchcmp

import (
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/unrolled/secure"
)

// HugeLimit is the rate limit, per client and per second, of every
// limiter under comparison: high enough never to deny the benchmark's one
// client, so each limiter does its full bookkeeping on every request and
// answers 200.
const HugeLimit = 100_000_000

// LogSink is where the access logs under comparison go: an io.Writer
// that keeps nothing and counts the lines and bytes it was given. It is
// deliberately not io.Discard: log.Logger skips its own formatting when
// its writer is io.Discard, which slog's handlers do not, so a logger on
// io.Discard would charge one side less than the other. Both sides format
// their whole line and hand it to a Write that only counts; neither pays
// for a system call. A LogSink is safe for concurrent use.
type LogSink struct {
	lines atomic.Int64
	bytes atomic.Int64
}

// Write counts p and drops it.
func (s *LogSink) Write(p []byte) (int, error) {
	s.lines.Add(1)
	s.bytes.Add(int64(len(p)))
	return len(p), nil
}

// Lines is the number of writes so far: one per access-log line.
func (s *LogSink) Lines() int64 { return s.lines.Load() }

// Bytes is the number of bytes written so far.
func (s *LogSink) Bytes() int64 { return s.bytes.Load() }

// PavedLogger is the access logger of the paved side when its log is on:
// slog's text handler at info level, as the quickstart configures it,
// writing to sink.
func PavedLogger(sink *LogSink) *slog.Logger {
	return slog.New(slog.NewTextHandler(sink, nil))
}

// SecureHeaders is unrolled/secure configured for the same headers as
// httpx's API profile (Cache-Control aside; see [NoStore]).
func SecureHeaders() func(http.Handler) http.Handler {
	return secure.New(secure.Options{
		STSSeconds:                63072000,
		STSIncludeSubdomains:      true,
		ForceSTSHeader:            true,
		FrameDeny:                 true,
		ContentTypeNosniff:        true,
		ContentSecurityPolicy:     "default-src 'none'; frame-ancestors 'none'",
		ReferrerPolicy:            "no-referrer",
		CrossOriginOpenerPolicy:   "same-origin",
		CrossOriginResourcePolicy: "same-origin",
	}).Handler
}

// NoStore sets Cache-Control: no-store, which unrolled/secure does not.
func NoStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// EchoRequestID sends the request ID chi's RequestID stored in the
// context as the X-Request-Id response field, as httpx does; chi's
// middleware only stores it.
func EchoRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(middleware.RequestIDHeader, middleware.GetReqID(r.Context()))
		next.ServeHTTP(w, r)
	})
}

// BodyLimit is the conventional http.MaxBytesReader middleware, with
// httpx's default limit of 1 MiB.
func BodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		next.ServeHTTP(w, r)
	})
}

// KeyByPeer is httprate's key on the TCP peer, IPv6 grouped by /64: the
// same trust model as httpx's default, which ignores forwarding headers.
func KeyByPeer(r *http.Request) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return httprate.CanonicalizeIP(host), nil
}

// Chain wraps h in mw, the first outermost.
func Chain(h http.Handler, mw ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// PopularStack is the popular stack doing the work of httpx's default
// chain, in the same order: chi's RequestID (and [EchoRequestID]), chi's
// Logger (its DefaultLogFormatter without colour, on a log.Logger with
// the standard date and time prefix, writing to sink), chi's Recoverer,
// unrolled/secure and [NoStore] for the security headers, net/http's
// CrossOriginProtection, go-chi/httprate keyed by [KeyByPeer] with
// [HugeLimit] a second, and [BodyLimit]. What it does not do that httpx
// does: validate an inbound X-Request-Id (chi keeps any), redact the query
// in the log, answer a panic with problem+json, serve /livez and
// /readyz. A nil sink leaves chi's Logger out, for comparison with
// httpx's access log turned off (chi's Logger has no level to turn it
// off with).
func PopularStack(h http.Handler, sink *LogSink) http.Handler {
	mw := []func(http.Handler) http.Handler{middleware.RequestID, EchoRequestID}
	if sink != nil {
		mw = append(mw, middleware.RequestLogger(&middleware.DefaultLogFormatter{
			Logger:  log.New(sink, "", log.LstdFlags),
			NoColor: true,
		}))
	}
	co := http.NewCrossOriginProtection()
	mw = append(mw, middleware.Recoverer, SecureHeaders(), NoStore, co.Handler,
		httprate.LimitBy(HugeLimit, time.Second, KeyByPeer), BodyLimit)
	return Chain(h, mw...)
}
