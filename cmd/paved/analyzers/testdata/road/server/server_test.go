package server

import "net/http"

// Test files may start bare servers and clients.
func helper(h http.Handler) {
	_ = http.ListenAndServe(":0", h)
	_ = &http.Client{}
}
