package httpx

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
)

// reqState is the per-request record the paved middleware share. It is
// allocated once per request, by whichever paved middleware runs first, and
// carries the response-writer wrapper and the body limiter inline so that
// the whole default chain costs a handful of allocations.
type reqState struct {
	rw   responseWriter
	body limitedBody

	ip       netip.Addr // resolved client address
	ipKey    string     // ip as a string, shared with the rate limiter
	ipSet    bool
	viaProxy bool // the peer is a trusted proxy
	aborted  bool // the response was aborted (panic); for the access log
	// The security fields the chain set (secFields) and their profile
	// (secHTML: ProfileHTML), for the error responses it writes in place
	// of a handler's (resetForError). Bools, so that reqState keeps its
	// 352-byte size class.
	secFields bool
	secHTML   bool

	id    string // request ID
	nonce string // CSP nonce (HTML profile only)

	// hdr backs the values of the response fields the chain sets, one
	// array per request: each field gets its own one-element slice of it,
	// with len == cap, so that no two responses share a value slice (a
	// handler may write w.Header()["Cache-Control"][0] in place, or append
	// to it, without reaching another response) and setting them costs
	// no allocation.
	hdr [hdrCount]string
}

// Indexes of reqState.hdr.
const (
	hdrHSTS = iota
	hdrCSP
	hdrNosniff
	hdrFrame
	hdrReferrer
	hdrCOOP
	hdrCORP
	hdrCache
	hdrRequestID
	hdrRateLimitPolicy
	hdrRateLimit
	hdrCount
)

// value stores v in the request's slot i and returns the one-element,
// full-capacity slice holding it, for a header map entry.
func (st *reqState) value(i int, v string) []string {
	st.hdr[i] = v
	return st.hdr[i : i+1 : i+1]
}

// resetForError readies h for an error response the chain writes in
// place of the handler's (500 after a panic, 413 for a body over the
// limit): every field but the chain's is dropped, and the chain's
// security fields and request ID are set again as the chain set them, so
// that nothing the handler did to them (a public Cache-Control, a removed
// X-Frame-Options, a Content-Encoding) reaches the error. The RateLimit
// fields stay as they are.
func (st *reqState) resetForError(h http.Header) {
	for k := range h {
		switch {
		case k == HeaderRequestID, k == "Ratelimit-Policy", k == "Ratelimit", isSecurityHeader(k):
		default:
			delete(h, k)
		}
	}
	if st.secFields {
		profile := ProfileAPI
		if st.secHTML {
			profile = ProfileHTML
		}
		setSecurityHeaders(st, h, profile)
	}
	if st.id != "" {
		h[HeaderRequestID] = st.value(hdrRequestID, st.id)
	}
}

type stateKey struct{}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// ensure returns the request's state, attaching a new one (and wrapping w)
// when no paved middleware ran before.
func ensure(w http.ResponseWriter, r *http.Request) (*reqState, http.ResponseWriter, *http.Request) {
	if st := stateFrom(r.Context()); st != nil {
		return st, w, r
	}
	st := &reqState{}
	st.rw.w = w
	st.rw.st = st
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	return st, &st.rw, r
}

// responseWriter records the status and size for the access log, strips any
// Server header, and turns the response into 413 when the handler's read
// of the body hit the limit.
type responseWriter struct {
	w           http.ResponseWriter
	st          *reqState
	status      int
	bytes       int64
	wroteHeader bool
	suppress    bool
}

func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

func (rw *responseWriter) WriteHeader(code int) {
	if rw.wroteHeader {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		rw.w.WriteHeader(code)
		return
	}
	rw.wroteHeader = true
	delete(rw.w.Header(), "Server")
	if rw.st.body.hit.Load() && code != http.StatusRequestEntityTooLarge {
		rw.suppress = true
		rw.status = http.StatusRequestEntityTooLarge
		rw.writeTooLarge()
		return
	}
	rw.status = code
	rw.w.WriteHeader(code)
}

func (rw *responseWriter) writeTooLarge() {
	p := &Problem{Status: http.StatusRequestEntityTooLarge, Detail: "request body exceeds the limit of this route"}
	if rw.st.id != "" {
		p.Instance = "urn:request:" + rw.st.id
	}
	h := rw.w.Header()
	rw.st.resetForError(h)
	h.Set("Connection", "close")
	WriteProblem(rw.w, nil, p)
}

func (rw *responseWriter) Write(p []byte) (int, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.suppress {
		return len(p), nil
	}
	n, err := rw.w.Write(p)
	rw.bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher when the underlying writer does.
func (rw *responseWriter) Flush() {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(rw.w).Flush()
}

// Hijack implements http.Hijacker when the underlying writer does.
func (rw *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, b, err := http.NewResponseController(rw.w).Hijack()
	if err == nil {
		rw.wroteHeader = true
		rw.status = http.StatusSwitchingProtocols
	}
	return c, b, err
}

// ReadFrom keeps io.Copy's sendfile path when the underlying writer has one.
func (rw *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.suppress {
		return io.Copy(io.Discard, src)
	}
	var n int64
	var err error
	if rf, ok := rw.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{rw.w}, src)
	}
	rw.bytes += n
	return n, err
}

// writerOnly hides any ReadFrom method so io.Copy does not loop.
type writerOnly struct{ io.Writer }

// Unwrap lets http.ResponseController reach the underlying writer.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }

// finish writes 413 when the handler hit the body limit and returned
// without writing anything. Otherwise, for a handler that wrote nothing,
// net/http sends the header itself, so the Server header goes here.
func (rw *responseWriter) finish() {
	switch {
	case rw.wroteHeader:
	case rw.st.body.hit.Load():
		rw.WriteHeader(http.StatusOK) // turned into 413 problem+json
	default:
		delete(rw.w.Header(), "Server")
	}
}

// limitedBody is http.MaxBytesReader without the allocation, and with a
// record of whether the limit was hit.
type limitedBody struct {
	rc    io.ReadCloser
	n     int64 // bytes left
	limit int64
	read  atomic.Bool
	hit   atomic.Bool
	cl    int64 // declared Content-Length, -1 when unknown
}

func (b *limitedBody) setLimit(n int64) {
	b.limit, b.n = n, n
}

func (b *limitedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	if b.hit.Load() || b.cl > b.limit {
		b.hit.Store(true)
		return 0, &http.MaxBytesError{Limit: b.limit}
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > b.n+1 {
		p = p[:b.n+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) <= b.n {
		b.n -= int64(n)
		return n, err
	}
	n = int(b.n)
	b.n = 0
	b.hit.Store(true)
	return n, &http.MaxBytesError{Limit: b.limit}
}

func (b *limitedBody) Close() error { return b.rc.Close() }
