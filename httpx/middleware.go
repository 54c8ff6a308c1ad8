package httpx

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/pavedroad/paved"
)

// HeaderRequestID is the header that carries the request ID.
const HeaderRequestID = "X-Request-Id"

// RequestID is middleware that gives every request an ID, available through
// [RequestIDFrom] and echoed in the X-Request-Id response header. An inbound
// X-Request-Id is kept only when the peer is a trusted proxy (see
// [ResolveClientIP]) and the ID is 1 to 64 characters of [A-Za-z0-9._:-];
// otherwise a fresh random 128-bit ID is generated.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, w, r := ensure(w, r)
		assignRequestID(st, w, r)
		next.ServeHTTP(w, r)
	})
}

func assignRequestID(st *reqState, w http.ResponseWriter, r *http.Request) {
	if st.id == "" {
		if st.viaProxy {
			if v := r.Header.Get(HeaderRequestID); validRequestID(v) {
				st.id = v
			}
		}
		if st.id == "" {
			st.id = newRequestID()
		}
	}
	w.Header()[HeaderRequestID] = st.value(hdrRequestID, st.id)
}

// newRequestID returns a random 128-bit ID in hex. math/rand/v2's global
// generator is ChaCha8 seeded from the OS; IDs need to be unique, not
// secret.
func newRequestID() string {
	var b [16]byte
	u, v := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		//paved:allow G115 truncating to the low byte is the point: the loop splits the uint64 into its 8 bytes
		b[i] = byte(u >> (8 * i))
		//paved:allow G115 truncating to the low byte is the point: the loop splits the uint64 into its 8 bytes
		b[8+i] = byte(v >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// Recover is middleware that turns a panic into a 500 problem+json response
// carrying the request ID (and none of the fields the handler set; the
// security fields are the chain's, as [SecurityHeaders] set them), logs the panic value and stack at error level on
// logger (slog.Default when nil), and emits a paved.EventPanicRecovered
// event to sink (paved.DefaultSink when nil). Nothing of the panic reaches
// the client. http.ErrAbortHandler is re-raised, as net/http expects; a
// panic after the response has started cannot become a 500, so it is
// logged and the response aborted with http.ErrAbortHandler, never
// finished as if complete.
func Recover(logger *slog.Logger, sink paved.Sink) Middleware {
	if logger == nil {
		logger = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st, w, r := ensure(w, r)
			defer func() {
				if v := recover(); v != nil && handlePanic(logger, sink, st, w, r, v) {
					panic(http.ErrAbortHandler)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// handlePanic logs a recovered panic and answers 500 problem+json. It
// reports whether the response must be aborted instead, by re-raising
// http.ErrAbortHandler once the caller's bookkeeping is done: when v is
// http.ErrAbortHandler itself (not logged: the handler chose to abort), or
// when the response had already started, since a clean error is then
// impossible and finishing the response normally would pass a truncated
// body off as complete.
func handlePanic(logger *slog.Logger, sink paved.Sink, st *reqState, w http.ResponseWriter, r *http.Request, v any) (abort bool) {
	if v == http.ErrAbortHandler {
		st.aborted = true
		return true
	}
	logger.LogAttrs(r.Context(), slog.LevelError, "httpx: panic recovered",
		slog.String("request_id", st.id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("panic", fmt.Sprint(v)),
		slog.String("stack", string(debug.Stack())))
	paved.Emit(r.Context(), sink, paved.Event{
		Type: paved.EventPanicRecovered, Component: Component, Outcome: paved.OutcomeFailure,
		Reason: "panic", RequestID: st.id,
	})
	if st.rw.wroteHeader {
		st.aborted = true
		return true // too late for a clean response: abort the stream
	}
	st.resetForError(w.Header())
	WriteProblem(w, r, &Problem{Status: http.StatusInternalServerError, Detail: "the server could not complete the request"})
	return false
}

// AccessLog is middleware that logs one line per request at info level on
// logger (slog.Default when nil): method, path, query (secret-looking values
// redacted), route pattern, status, bytes, duration, client IP and request
// ID. The headers named in logHeaders are logged too, except that
// Authorization, Proxy-Authorization, Cookie, Set-Cookie, and headers whose
// names speak of tokens, keys, secrets, sessions, passwords, credentials or
// signatures are always logged as "REDACTED". Nothing is formatted when the
// logger's handler is not enabled at info level.
func AccessLog(logger *slog.Logger, logHeaders ...string) Middleware {
	if logger == nil {
		logger = slog.Default()
	}
	hdrs := make([]string, 0, len(logHeaders))
	for _, h := range logHeaders {
		if h = http.CanonicalHeaderKey(strings.TrimSpace(h)); h != "" {
			hdrs = append(hdrs, h)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			st, w, r := ensure(w, r)
			done := false
			defer func() {
				// Runs on return and while a panic unwinds (which it does
				// not stop), so an aborted request is logged too.
				if done {
					st.rw.finish()
				} else {
					st.aborted = true
				}
				if ctx := r.Context(); logger.Enabled(ctx, slog.LevelInfo) {
					logAccess(ctx, logger, st, r, hdrs, time.Since(start))
				}
			}()
			next.ServeHTTP(w, r)
			done = true
		})
	}
}

func logAccess(ctx context.Context, logger *slog.Logger, st *reqState, r *http.Request, hdrs []string, d time.Duration) {
	status := st.rw.status
	if status == 0 && !st.aborted {
		status = http.StatusOK
	}
	if !st.ipSet {
		(*clientIPResolver)(nil).resolve(st, r)
	}
	attrs := make([]slog.Attr, 0, 11+len(hdrs))
	attrs = append(attrs,
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
	)
	if q := r.URL.RawQuery; q != "" {
		attrs = append(attrs, slog.String("query", RedactQuery(q)))
	}
	if r.Pattern != "" {
		attrs = append(attrs, slog.String("route", r.Pattern))
	}
	attrs = append(attrs,
		slog.Int("status", status),
		slog.Int64("bytes", st.rw.bytes),
		slog.Duration("duration", d),
		slog.String("client_ip", clientIPText(st)),
		slog.String("request_id", st.id),
		slog.String("proto", r.Proto),
	)
	if st.aborted {
		attrs = append(attrs, slog.Bool("aborted", true))
	}
	for _, h := range hdrs {
		v := r.Header.Get(h)
		if v == "" {
			continue
		}
		if IsCredentialHeader(h) {
			v = "REDACTED"
		}
		attrs = append(attrs, slog.String("header."+strings.ToLower(h), v))
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "http request", attrs...)
}

// clientIPText is the full client address for the log (the rate-limit key
// groups IPv6 by /64), reusing the key's string for IPv4.
func clientIPText(st *reqState) string {
	switch {
	case !st.ip.IsValid():
		return "unknown"
	case st.ip.Is4():
		return st.ipKey
	}
	return st.ip.String()
}

// IsCredentialHeader reports whether the canonical header name h carries a
// credential (a bearer token, API key, session, password or signature): the
// access log redacts such headers, and packages that copy headers elsewhere
// (policy's input, for one) refuse them by the same rule.
func IsCredentialHeader(h string) bool {
	switch h {
	case "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Auth-Token", "X-Csrf-Token", "X-Xsrf-Token":
		return true
	}
	l := strings.ToLower(h)
	for _, w := range secretHeaderWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// secretHeaderWords mark a header as a credential: bearer tokens, API keys,
// session identifiers, passwords, request signatures.
var secretHeaderWords = []string{"token", "secret", "key", "auth", "cookie", "session", "passw", "credential", "signature"}

// RedactQuery returns the raw query q with the values of secret-looking
// parameters (token, access_token, code, password, secret, key, api_key,
// signature, session, jwt, ...) replaced by "REDACTED". It returns q itself,
// without allocating, when nothing needs redacting.
func RedactQuery(q string) string {
	if !eachParam(q, nil) {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	eachParam(q, &b)
	return b.String()
}

// eachParam walks the parameters of q, reporting whether any is secret;
// with a non-nil b it writes the redacted query to b.
func eachParam(q string, b *strings.Builder) bool {
	found := false
	for q != "" {
		part, sep := q, ""
		if i := strings.IndexAny(q, "&;"); i >= 0 {
			part, sep, q = q[:i], q[i:i+1], q[i+1:]
		} else {
			q = ""
		}
		k, _, hasVal := strings.Cut(part, "=")
		secret := hasVal && secretParam(k)
		found = found || secret
		if b == nil {
			if found {
				return true
			}
			continue
		}
		if secret {
			b.WriteString(k)
			b.WriteString("=REDACTED")
		} else {
			b.WriteString(part)
		}
		b.WriteString(sep)
	}
	return found
}

var secretWords = []string{"token", "secret", "password", "passwd", "pwd", "key", "signature", "sig", "session", "jwt", "credential", "auth", "code", "otp", "assertion"}

func secretParam(k string) bool {
	k = strings.ToLower(k)
	if strings.ContainsRune(k, '%') {
		return true // encoded names are not worth guessing at
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// DefaultMaxBodyBytes is the default request body limit: 1 MiB.
const DefaultMaxBodyBytes int64 = 1 << 20

// BodyLimit is middleware that limits request bodies to n bytes (n <= 0
// means [DefaultMaxBodyBytes]). A body over the limit makes the response 413
// problem+json, whatever the handler writes after its read failed with
// *http.MaxBytesError, and whatever fields it set (the security fields are
// the chain's, as [SecurityHeaders] set them). Applied to one route inside a server, it replaces the
// server-wide limit for that route, larger or smaller, as long as the body
// has not been read yet.
func BodyLimit(n int64) Middleware {
	if n <= 0 {
		n = DefaultMaxBodyBytes
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st, w, r := ensure(w, r)
			limitBody(st, w, r, n)
			next.ServeHTTP(w, r)
			st.rw.finish()
		})
	}
}

func limitBody(st *reqState, w http.ResponseWriter, r *http.Request, n int64) {
	switch {
	case r.Body == nil || r.Body == http.NoBody:
		st.body.setLimit(n)
	case r.Body == &st.body:
		if !st.body.read.Load() {
			st.body.setLimit(n)
		}
	case st.body.rc == nil:
		st.body.rc = r.Body
		st.body.cl = r.ContentLength
		st.body.setLimit(n)
		r.Body = &st.body
	default:
		// Someone replaced the body after the first limit was set: limit
		// theirs, and still turn the response into 413 when it overflows.
		r.Body = &hitBody{ReadCloser: http.MaxBytesReader(w, r.Body, n), st: st}
	}
}

// hitBody records in the request's state that a body limit was exceeded,
// for a body the state's own limiter does not wrap.
type hitBody struct {
	io.ReadCloser
	st *reqState
}

func (b *hitBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	if err != nil && errors.As(err, &tooLarge) {
		b.st.body.hit.Store(true)
	}
	return n, err
}

// HeaderProfile selects the set of security headers [SecurityHeaders]
// writes.
type HeaderProfile int

const (
	// ProfileAPI, the default, suits JSON APIs: nothing may be loaded or
	// framed (CSP default-src 'none'), nothing cached.
	ProfileAPI HeaderProfile = iota
	// ProfileHTML suits server-rendered pages: a strict CSP with a
	// per-request nonce and 'strict-dynamic'; read the nonce with
	// [CSPNonce] and put it on every <script nonce="..."> tag.
	ProfileHTML
)

func (p HeaderProfile) String() string {
	switch p {
	case ProfileAPI:
		return "api"
	case ProfileHTML:
		return "html"
	}
	return fmt.Sprintf("HeaderProfile(%d)", int(p))
}

// The values of the security fields, in the order of reqState.hdr.
const (
	valHSTS    = "max-age=63072000; includeSubDomains"
	valCSPAPI  = "default-src 'none'; frame-ancestors 'none'"
	valNosniff = "nosniff"
	valDeny    = "DENY"
	valNoRef   = "no-referrer"
	valSame    = "same-origin"
	valNoStore = "no-store"
)

var securityHdr = map[string]bool{
	"Strict-Transport-Security": true, "Content-Security-Policy": true, "X-Content-Type-Options": true,
	"X-Frame-Options": true, "Referrer-Policy": true, "Cross-Origin-Opener-Policy": true,
	"Cross-Origin-Resource-Policy": true, "Cache-Control": true,
}

func isSecurityHeader(k string) bool { return securityHdr[k] }

// SecurityHeaders is middleware that sets the security headers of profile
// on every response: Strict-Transport-Security "max-age=63072000;
// includeSubDomains", a Content-Security-Policy, X-Content-Type-Options
// nosniff, X-Frame-Options DENY, Referrer-Policy no-referrer,
// Cross-Origin-Opener-Policy and Cross-Origin-Resource-Policy same-origin,
// and Cache-Control no-store. The response carries no Server header. A
// handler may still override a header it has a reason to change.
func SecurityHeaders(profile HeaderProfile) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st, w, r := ensure(w, r)
			setSecurityHeaders(st, w.Header(), profile)
			next.ServeHTTP(w, r)
			st.rw.finish()
		})
	}
}

// setSecurityHeaders sets the profile's fields on h. Each value slice is
// the request's own (see reqState.hdr), so a handler that writes
// h["Cache-Control"][0] in place changes its own response and no other.
func setSecurityHeaders(st *reqState, h http.Header, profile HeaderProfile) {
	st.secFields, st.secHTML = true, profile == ProfileHTML
	h["Strict-Transport-Security"] = st.value(hdrHSTS, valHSTS)
	if profile == ProfileHTML {
		if st.nonce == "" {
			st.nonce = newNonce()
		}
		h["Content-Security-Policy"] = st.value(hdrCSP, "default-src 'self'; script-src 'nonce-"+st.nonce+
			"' 'strict-dynamic'; style-src 'self' 'nonce-"+st.nonce+
			"'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	} else {
		h["Content-Security-Policy"] = st.value(hdrCSP, valCSPAPI)
	}
	h["X-Content-Type-Options"] = st.value(hdrNosniff, valNosniff)
	h["X-Frame-Options"] = st.value(hdrFrame, valDeny)
	h["Referrer-Policy"] = st.value(hdrReferrer, valNoRef)
	h["Cross-Origin-Opener-Policy"] = st.value(hdrCOOP, valSame)
	h["Cross-Origin-Resource-Policy"] = st.value(hdrCORP, valSame)
	h["Cache-Control"] = st.value(hdrCache, valNoStore)
}

// newNonce returns a 128-bit CSP nonce. Unlike a request ID it must be
// unpredictable, so it comes from crypto/rand.
func newNonce() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // never fails; see crypto/rand.Read
	return base64.RawStdEncoding.EncodeToString(b[:])
}

// CSPNonce returns the Content-Security-Policy nonce of r under
// [ProfileHTML], or "" under the API profile.
func CSPNonce(r *http.Request) string {
	if st := stateFrom(r.Context()); st != nil {
		return st.nonce
	}
	return ""
}

// CrossOrigin returns middleware that rejects cross-origin state-changing
// browser requests (Go's http.CrossOriginProtection) with 403
// problem+json, emitting paved.EventOriginRejected to sink (the default
// sink when nil). Requests from trustedOrigins ("https://app.example.com")
// are allowed. Its error holds a [paved.ConfigError] for every faulty
// origin.
func CrossOrigin(trustedOrigins []string, sink paved.Sink) (Middleware, error) {
	c, _, err := newCrossOrigin(trustedOrigins, sink, "")
	if err != nil {
		return nil, err
	}
	return c.Handler, nil
}

func newCrossOrigin(trustedOrigins []string, sink paved.Sink, prefix string) (*http.CrossOriginProtection, http.Handler, error) {
	ck := paved.ConfigCheck{Component: Component, Prefix: prefix}
	c := http.NewCrossOriginProtection()
	for i, o := range trustedOrigins {
		if err := c.AddTrustedOrigin(o); err != nil {
			ck.AddErr(fmt.Sprintf("TrustedOrigins[%d]", i), fmt.Errorf("%q: %w", o, err),
				`want scheme://host[:port], such as "https://app.example.com"`)
		}
	}
	if err := ck.Err(); err != nil {
		return nil, nil, err
	}
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paved.Emit(r.Context(), sink, paved.Event{
			Type: paved.EventOriginRejected, Component: Component, Outcome: paved.OutcomeDenied,
			Reason: "cross_origin", RequestID: RequestIDFrom(r.Context()),
		})
		WriteProblem(w, r, &Problem{Status: http.StatusForbidden, Detail: "cross-origin request rejected",
			Extensions: map[string]any{"reason": "cross_origin"}})
	})
	c.SetDenyHandler(deny)
	return c, deny, nil
}
