package browsertest_test

import (
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pavedroad/paved/httpx"
)

// violationListener is the first script of a page: it records the CSP
// violations the browser reports (securitypolicyviolation events).
const violationListener = `window.violations = [];
document.addEventListener('securitypolicyviolation', e => window.violations.push({directive: e.effectiveDirective, blocked: e.blockedURI, disposition: e.disposition}));
window.nonceRan = true;`

// indexPage is a quickstart-like '/' page under the HTML profile: its one
// script carries the request's nonce. The "q" query parameter is
// reflected without escaping, as a template bug would do, so that a test
// can inject markup.
var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html><head><meta charset=utf-8><title>paved quickstart</title>
<script nonce="{{.Nonce}}">` + violationListener + `
// 'strict-dynamic': a script the nonce script adds is trusted in turn.
const s = document.createElement("script"); s.src = "/app.js"; s.dataset.how = "dynamic"; document.head.appendChild(s);</script>
<!-- A same-origin script tag without the nonce, as a template that forgot it: refused. -->
<script src="/app.js" data-how="parser"></script>
<style nonce="{{.Nonce}}">body{font-family:sans-serif;margin:2em} code{background:#eee}</style>
</head><body>
<h1>paved quickstart</h1>
<p>Served by <code>httpx</code> with the HTML header profile: a strict CSP with a per-request nonce.</p>
<p id=search>You searched for: {{.Q}}</p>
<button id=b onclick="window.handlerRan = true">inline handler</button>
</body></html>`))

func htmlRoutes(srv *httpx.Server) {
	srv.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = fmt.Fprint(w, `(window.loaded = window.loaded || []).push(document.currentScript.dataset.how);`)
	})
	srv.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = indexPage.Execute(w, map[string]any{
			"Nonce": httpx.CSPNonce(r),
			"Q":     template.HTML(r.URL.Query().Get("q")), // the injection point
		})
	})
}

// TestCSPHTMLProfile: on the HTML profile the nonce script runs, and so
// does a script it adds ('strict-dynamic'), while a same-origin script
// tag without the nonce, an injected inline script, an injected inline
// event handler and the page's own inline handler do not; the browser
// reports each violation.
func TestCSPHTMLProfile(t *testing.T) {
	tb := newTab(t)
	_, base := startPaved(t, "localhost", httpx.Config{Headers: httpx.ProfileHTML}, htmlRoutes)

	inject := `<script>window.injectedRan = true</script><img id=x src="/missing.png" onerror="window.imgHandlerRan = true">`
	resp := tb.response(base + "/?q=" + template.URLQueryEscaper(inject))
	tb.checkpoint("index")
	if resp.Status != http.StatusOK {
		t.Fatalf("GET / = %d", resp.Status)
	}
	if !eval[bool](tb, `window.nonceRan === true`) {
		t.Fatal("the script with the request's nonce did not run")
	}
	tb.do(click("#b"))
	// The injected <img> fails to load and the button was clicked: each
	// handler's violation is reported. Wait for all four reports.
	n := poll[int](tb, `window.violations.length >= 4 && window.violations.length`)
	if n != 4 {
		t.Fatalf("violations = %d, want 4", n)
	}
	if got := poll[[]string](tb, `window.loaded`); fmt.Sprint(got) != "[dynamic]" {
		t.Fatalf("scripts loaded: %q, want only the one the nonce script added", got)
	}
	for _, v := range []string{"injectedRan", "imgHandlerRan", "handlerRan"} {
		if ran := eval[bool](tb, fmt.Sprintf("window.%s === true", v)); ran {
			t.Errorf("window.%s set: a script without the nonce ran", v)
		}
	}
	type violation struct{ Directive, Blocked, Disposition string }
	got := eval[[]violation](tb, `window.violations`)
	want := []violation{
		{"script-src-elem", base + "/app.js", "enforce"},
		{"script-src-elem", "inline", "enforce"},
		{"script-src-attr", "inline", "enforce"},
		{"script-src-attr", "inline", "enforce"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("violations = %+v, want %+v", got, want)
	}
}

// TestCSPAPIProfile: on the API profile a JSON response opened as a
// document runs nothing, and neither does markup an API route serves by
// mistake as HTML: CSP default-src 'none' refuses its inline script and
// the browser logs the refusal.
func TestCSPAPIProfile(t *testing.T) {
	const payload = `<script>window.apiRan = true</script><img src=x onerror="window.apiRan = true">`
	_, base := startPaved(t, "localhost", httpx.Config{}, func(s *httpx.Server) {
		s.HandleFunc("GET /data", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"comment":%q}`, payload)
		})
		s.HandleFunc("GET /mistake", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprint(w, "<!doctype html><p>an API route that served HTML</p>"+payload)
		})
	})
	t.Run("JSONDocument", func(t *testing.T) {
		tb := newTab(t)
		resp := tb.response(base + "/data")
		tb.checkpoint("json")
		if resp.MimeType != "application/json" {
			t.Fatalf("MIME type %q", resp.MimeType)
		}
		if ran := eval[bool](tb, `window.apiRan === true`); ran {
			t.Fatal("script in a JSON document ran")
		}
		// The browser shows the JSON as text: no element was made of it.
		if n := eval[int](tb, `document.querySelectorAll("script, img").length`); n != 0 {
			t.Fatalf("%d script or img elements parsed from a JSON document", n)
		}
		// That much the browser does without paved. The CSP is paved's:
		// a script added to the JSON document (as a browser extension or
		// a DOM bug might) does not run under default-src 'none'.
		if ran := eval[bool](tb, `(() => { const s = document.createElement("script"); s.textContent = "window.apiRan = true"; document.documentElement.appendChild(s); return window.apiRan === true })()`); ran {
			t.Fatal("a script added to the JSON document ran")
		}
		tb.logged("security: ", "inline script", "default-src 'none'")
	})
	t.Run("HTMLByMistake", func(t *testing.T) {
		tb := newTab(t)
		tb.navigate(base + "/mistake")
		tb.checkpoint("mistake")
		if n := eval[int](tb, `document.querySelectorAll("script").length`); n != 1 {
			t.Fatalf("%d script elements, want the injected one parsed", n)
		}
		tb.logged("security: ", "inline script", "default-src 'none'")
		if ran := eval[bool](tb, `window.apiRan === true`); ran {
			t.Fatal("inline script ran on the API profile")
		}
	})
}

// TestIndexScreenshot: the quickstart-like '/' page renders, and the
// screenshot a failing test writes as an artefact is a PNG of it, in the
// directory $PAVED_ARTIFACTS names.
func TestIndexScreenshot(t *testing.T) {
	tb := newTab(t)
	_, base := startPaved(t, "localhost", httpx.Config{Headers: httpx.ProfileHTML}, htmlRoutes)
	tb.navigate(base + "/")
	tb.checkpoint("index")
	if h := eval[string](tb, `document.querySelector("h1").textContent`); h != "paved quickstart" {
		t.Fatalf("h1 = %q", h)
	}
	tb.mu.Lock()
	shots := slices.Clone(tb.shots)
	tb.mu.Unlock()
	if len(shots) != 1 || !isPNG(shots[0].png) {
		t.Fatalf("checkpoint kept %d shots, want one PNG", len(shots))
	}
	// Write them as a failing test would, to a directory of this test's.
	root := t.TempDir()
	t.Setenv(EnvArtifacts, root)
	st := &tab{t: t, ctx: tb.ctx, tabLog: &tabLog{shots: shots}}
	st.writeArtifacts()
	files, _ := filepath.Glob(filepath.Join(root, "TestIndexScreenshot-*", "01-index.png"))
	if len(files) != 1 {
		t.Fatalf("artefacts under %s: %q, want one 01-index.png", root, files)
	}
	if b, err := os.ReadFile(files[0]); err != nil || !isPNG(b) {
		t.Fatalf("artefact %s: not a PNG (%v)", files[0], err)
	}
}
