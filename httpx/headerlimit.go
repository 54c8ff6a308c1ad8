package httpx

import (
	"net/http"
	"strconv"
)

// headerBackstop is how far above Config.MaxHeaderBytes net/http's own
// header limit is set. The server enforces the documented limit itself
// (headerSize), so that a request just over it gets 431 problem+json on
// both protocols; net/http's limit stays a little above, as a backstop
// against headers that are not worth reading at all. With it, net/http
// reads at most MaxHeaderBytes + 8 KiB of raw HTTP/1.1 header (it adds
// 4 KiB of its own for buffering) and advertises MaxHeaderBytes + 4 KiB +
// 320 as the HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE (it adds 10 fields' 32
// bytes of overhead). 4 KiB above leaves room for what headerSize cannot
// see (listed in Config.MaxHeaderBytes), chiefly HTTP/2 cookies sent as
// separate "crumbs", 36 bytes each beyond their joined form (38 for the
// name "cookie" and the field overhead, less the "; " that joins them).
const headerBackstop = 4 << 10

// headerFieldOverhead is the per-field overhead of an HTTP/2 header list
// size (RFC 9113, section 6.5.2).
const headerFieldOverhead = 32

// headerSize returns the size of r's header as HTTP/2 counts a header
// list (RFC 9113, section 6.5.2): for each field, the length of its name
// and value plus 32, with the request line as the four pseudo-fields
// ":method", ":scheme", ":authority" and ":path". It counts an HTTP/1.1
// request the same way, from the request as net/http parsed it (the Host
// field as ":authority", Transfer-Encoding and the names of the Trailer
// field included), so that one limit means the same on both protocols.
func headerSize(r *http.Request) int {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	n := len(":method") + len(r.Method) + len(":scheme") + len(scheme) +
		len(":authority") + len(r.Host) + len(":path") + len(r.RequestURI) + 4*headerFieldOverhead
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + headerFieldOverhead
		}
	}
	for _, te := range r.TransferEncoding {
		n += len("transfer-encoding") + len(te) + headerFieldOverhead
	}
	// net/http takes the Trailer field out of the header and keeps the
	// names it declares, deduplicated, in r.Trailer: count them as one
	// field "Trailer: A, B". (Their values arrive after the body.)
	if len(r.Trailer) > 0 {
		n += len("trailer") + headerFieldOverhead + 2*(len(r.Trailer)-1)
		for k := range r.Trailer {
			n += len(k)
		}
	}
	return n
}

// writeHeaderTooLarge answers 431 problem+json for a header of n bytes
// over limit.
func writeHeaderTooLarge(w http.ResponseWriter, r *http.Request, n, limit int) {
	WriteProblem(w, r, &Problem{Status: http.StatusRequestHeaderFieldsTooLarge,
		Detail:     "request header of " + strconv.Itoa(n) + " bytes is over the limit of " + strconv.Itoa(limit),
		Extensions: map[string]any{"limit": limit}})
}
