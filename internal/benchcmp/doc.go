// Package benchcmp compares the cost of paved's httpx default chain with
// the popular stack doing the same work ([PopularStack]): chi's RequestID,
// Logger and Recoverer (github.com/go-chi/chi/v5/middleware),
// github.com/unrolled/secure for the security headers,
// github.com/go-chi/httprate for the per-IP rate limit, and the standard
// library's cross-origin protection and http.MaxBytesReader.
//
// It is a module of its own so that the competitors never enter paved's
// go.mod. Run it with
//
//	cd internal/benchcmp && go test -run '^$' -bench . -benchmem -count 6 ./ > /tmp/benchcmp.txt
//	benchstat /tmp/benchcmp.txt
//
// Every benchmark drives the same handler behind the same ServeMux through
// the same harness (internal/benchharness), so the differences are what
// each chain adds. Access logs are compared like for like: with httpx's
// log on, both sides format a whole line per request into a [LogSink],
// which counts and drops it; with it off, httpx formats nothing and the
// popular stack leaves chi's Logger out, since it cannot be turned off.
//
// cmd/tlsload runs the same stacks over real TLS on loopback under wrk,
// beside the floor server that sends the same fields with no middleware.
package benchcmp
