package httpx_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// discard is a logger that drops everything but is enabled, so the access
// log path is exercised.
func discard() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// plainConfig is a config that New accepts without certificates.
func plainConfig() httpx.Config {
	return httpx.Config{
		Logger:  discard(),
		Posture: new(paved.Posture),
		Events:  paved.NopSink{},
		OptOuts: []paved.OptOut{httpx.AllowPlainHTTP("tests run the handler in process")},
	}
}

func mustNew(t testing.TB, cfg httpx.Config) *httpx.Server {
	t.Helper()
	s, err := httpx.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func problemOf(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != httpx.ContentTypeProblem {
		t.Fatalf("Content-Type = %q, want %q; body %s", ct, httpx.ContentTypeProblem, w.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("problem body %q: %v", w.Body, err)
	}
	return m
}

func okHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "ok")
}
