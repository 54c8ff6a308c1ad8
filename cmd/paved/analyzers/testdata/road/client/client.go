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
