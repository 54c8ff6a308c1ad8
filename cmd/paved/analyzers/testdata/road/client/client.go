package client

import (
	"net/http"
	"time"
)

func client() {
	c := &http.Client{} // want `PAV101: http.Client without Timeout`
	_, _ = c.Get("https://example.com")
	ok := &http.Client{Timeout: 10 * time.Second}
	_, _ = ok.Get("https://example.com")
	_, _ = http.Get("https://example.com") // want `PAV101: http.Get uses http.DefaultClient`
}

// Constructors hand the client to a caller whose Timeout or deadline governs it.
func NewClient(rt http.RoundTripper) *http.Client { return &http.Client{Transport: rt} }

func fallback() *http.Client { return http.DefaultClient }

func use() {
	c := http.DefaultClient // want `PAV101: http.DefaultClient has no timeout`
	_ = c
}
