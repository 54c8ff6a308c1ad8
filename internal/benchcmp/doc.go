// Package benchcmp compares the cost of paved's httpx default chain with
// the popular stack doing the same work: github.com/unrolled/secure for the
// security headers, github.com/go-chi/httprate for the per-IP rate limit,
// and conventional hand-written middleware for the rest (request ID,
// recovery, access log, body limit, cross-origin protection).
//
// It is a module of its own so that the competitors never enter paved's
// go.mod. Run it with
//
//	cd internal/benchcmp && go test -run '^$' -bench . -benchtime 200000x -count 6
//
// and compare with benchstat. Every benchmark drives the same handler
// behind the same ServeMux through the same harness, so the differences
// are what each chain adds.
package benchcmp
