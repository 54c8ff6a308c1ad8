package httpx_test

import (
	"encoding/json"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/pavedroad/paved/httpx"
)

// writeWithID writes p for a request whose ID is id and returns the
// decoded body.
func writeWithID(t *testing.T, p *httpx.Problem, id string) map[string]any {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(httpx.WithRequestID(r.Context(), id))
	w := httptest.NewRecorder()
	httpx.WriteProblem(w, r, p)
	if w.Code != 409 {
		t.Fatalf("status %d, want 409", w.Code)
	}
	return problemOf(t, w)
}

// One Problem value, defined once and written for two requests, carries
// each request's own ID, and is left as the caller defined it.
func TestWriteProblemLeavesProblemAlone(t *testing.T) {
	p := &httpx.Problem{Status: 409, Detail: "order already placed", Extensions: map[string]any{"reason": "duplicate"}}
	for _, id := range []string{"first", "second"} {
		m := writeWithID(t, p, id)
		if m["instance"] != "urn:request:"+id || m["title"] != "Conflict" || m["reason"] != "duplicate" {
			t.Fatalf("request %s: problem %v, want instance urn:request:%s", id, m, id)
		}
	}
	if p.Instance != "" || p.Title != "" || p.Status != 409 {
		t.Fatalf("WriteProblem changed the caller's problem: %#v", p)
	}
	// A zero status is filled in the response only.
	q := &httpx.Problem{}
	w := httptest.NewRecorder()
	httpx.WriteProblem(w, httptest.NewRequest("GET", "/", nil), q)
	if w.Code != 500 || q.Status != 0 || q.Title != "" || q.Instance != "" {
		t.Fatalf("zero problem: status %d, problem after %#v", w.Code, q)
	}
}

// Concurrent writes of one Problem value neither race (run with -race)
// nor mix up request IDs.
func TestWriteProblemConcurrent(t *testing.T) {
	p := &httpx.Problem{Status: 409, Detail: "order already placed"}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := string(rune('a' + i))
			r := httptest.NewRequest("GET", "/", nil)
			r = r.WithContext(httpx.WithRequestID(r.Context(), id))
			w := httptest.NewRecorder()
			httpx.WriteProblem(w, r, p)
			var m map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || m["instance"] != "urn:request:"+id {
				t.Errorf("request %s: %s (%v)", id, w.Body, err)
			}
		}()
	}
	wg.Wait()
}
