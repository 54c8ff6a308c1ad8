package authtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestSlowJWKSGivesNoResponseToAGoneClient: when the client of a delayed
// key set has gone, the handler aborts (no response at all) instead of
// returning, which net/http would answer with 200 and an empty body.
func TestSlowJWKSGivesNoResponseToAGoneClient(t *testing.T) {
	s := NewServer(t, Config{})
	s.SetJWKSDelay(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("handler ended with %v, want panic(http.ErrAbortHandler)", v)
		}
		if w.Body.Len() != 0 || len(w.Header()) != 0 {
			t.Fatalf("handler wrote %d bytes and headers %v before aborting", w.Body.Len(), w.Header())
		}
	}()
	s.handleJWKS(w, httptest.NewRequestWithContext(ctx, "GET", "/jwks", nil))
	t.Fatalf("handler returned normally: net/http would send %d with %d bytes", w.Code, w.Body.Len())
}
