package browsertest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/pavedroad/paved/httpx"
)

// TestNosniff: X-Content-Type-Options nosniff makes the browser refuse a
// script served as text/plain, although the CSP trusts it (the nonce
// script adds it: 'strict-dynamic'); the same script served as
// JavaScript runs, which shows the page can see a script run.
func TestNosniff(t *testing.T) {
	_, base := startPaved(t, "localhost", httpx.Config{Headers: httpx.ProfileHTML}, func(s *httpx.Server) {
		script := func(ctype string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ctype)
				_, _ = fmt.Fprint(w, `(window.ran = window.ran || []).push(document.currentScript.dataset.name);`)
			}
		}
		s.HandleFunc("GET /plain.js", script("text/plain; charset=utf-8"))
		s.HandleFunc("GET /real.js", script("text/javascript"))
		s.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			html(w, `<script nonce="`+httpx.CSPNonce(r)+`">
window.done = [];
for (const name of ["plain", "real"]) {
  const s = document.createElement("script");
  s.src = "/" + name + ".js"; s.dataset.name = name;
  s.onload = s.onerror = e => window.done.push(name + ":" + e.type);
  document.head.appendChild(s);
}
</script>`)
		})
	})
	tb := newTab(t)
	tb.navigate(base + "/")
	poll[bool](tb, `window.done.length === 2`)
	if ran := eval[[]string](tb, `window.ran || []`); fmt.Sprint(ran) != "[real]" {
		t.Fatalf("scripts that ran: %q, want only the one served as JavaScript", ran)
	}
	if done := eval[[]string](tb, `window.done.slice().sort()`); fmt.Sprint(done) != "[plain:error real:load]" {
		t.Fatalf("script events %q, want the text/plain one refused", done)
	}
	tb.logged("security: ", "/plain.js", "strict MIME type checking")
}
