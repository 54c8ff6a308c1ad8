package browsertest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// framedPage is a paved page that tells its parent, by postMessage, that
// it loaded and ran: the browser's own word that the frame rendered.
const framedPage = `<p>paved page</p><script nonce="%s">parent.postMessage("loaded:" + location.pathname, "*")</script>`

// otherSite serves "another site" on 127.0.0.1: a page framing ?src and
// collecting its messages, and a page posting to ?target.
func otherSite() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /frame", func(w http.ResponseWriter, r *http.Request) {
		src, _ := json.Marshal(r.URL.Query().Get("src"))
		html(w, `<script>
window.messages = [];
window.addEventListener("message", e => window.messages.push(e.data));
const f = document.createElement("iframe");
f.onload = () => { window.frameLoadEvent = true };
f.src = `+string(src)+`;
document.body.appendChild(f);
</script>`)
	})
	mux.HandleFunc("GET /post", func(w http.ResponseWriter, r *http.Request) {
		target, _ := json.Marshal(r.URL.Query().Get("target"))
		// mode no-cors: the most an attacking page can do without CORS;
		// the request is sent, its answer is opaque to the page.
		html(w, `<script>
fetch(`+string(target)+`, {method: "POST", mode: "no-cors", credentials: "include", body: "name=mallory"})
  .then(r => { window.result = "sent:" + r.type }, e => { window.result = "error:" + e });
</script>`)
	})
	return mux
}

// TestFraming: another loopback site cannot frame paved's pages, on the
// HTML profile (frame-ancestors 'none' and X-Frame-Options DENY, each
// enforced alone) or the API profile; a route that drops both headers is
// framed, which shows the frame test itself can see a frame load.
func TestFraming(t *testing.T) {
	_, htmlBase := startPaved(t, "localhost", httpx.Config{Headers: httpx.ProfileHTML}, func(s *httpx.Server) {
		page := func(drop ...string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				for _, h := range drop {
					w.Header().Del(h)
				}
				html(w, fmt.Sprintf(framedPage, httpx.CSPNonce(r)))
			}
		}
		s.HandleFunc("GET /page", page())
		s.HandleFunc("GET /xfo-only", page("Content-Security-Policy"))
		s.HandleFunc("GET /csp-only", page("X-Frame-Options"))
		// A control: framing allowed, as no paved route should do.
		s.HandleFunc("GET /frameable", page("Content-Security-Policy", "X-Frame-Options"))
	})
	_, apiBase := startPaved(t, "localhost", httpx.Config{}, func(s *httpx.Server) {
		s.HandleFunc("GET /data", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"ok":true}`))
		})
	})
	other := startOther(t, otherSite())

	for _, tc := range []struct {
		name, src string
		refusal   string // what the browser logs when it refuses, "" for a frame that loads
	}{
		{"HTML", htmlBase + "/page", `"frame-ancestors 'none'"`},
		// Chromium logs an X-Frame-Options refusal in the frame's own
		// console, not the page's: the error document is the verdict.
		{"HTML/XFrameOptionsAlone", htmlBase + "/xfo-only", "-"},
		{"HTML/FrameAncestorsAlone", htmlBase + "/csp-only", `"frame-ancestors 'none'"`},
		{"API", apiBase + "/data", `"frame-ancestors 'none'"`},
		{"Control/NoHeaders", htmlBase + "/frameable", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTab(t)
			tb.navigate(other + "/frame?src=" + url.QueryEscape(tc.src))
			poll[bool](tb, `window.frameLoadEvent === true`)
			tb.checkpoint("framing-page")
			doc := tb.frameDocument(tc.src)
			if tc.refusal == "" {
				u, _ := url.Parse(tc.src)
				if doc != tc.src {
					t.Fatalf("frame shows %s, want %s", doc, tc.src)
				}
				if msgs := poll[[]string](tb, `window.messages.length > 0 && window.messages`); len(msgs) != 1 || msgs[0] != "loaded:"+u.Path {
					t.Fatalf("messages = %q, want the framed page's", msgs)
				}
				return
			}
			if doc != "chrome-error://chromewebdata/" {
				t.Fatalf("frame shows %s, want the browser's error page", doc)
			}
			if tc.refusal != "-" {
				u, _ := url.Parse(tc.src)
				tb.logged("security: ", tc.refusal, u.Host)
			}
			if msgs := eval[[]string](tb, `window.messages`); len(msgs) != 0 {
				t.Fatalf("messages = %q: the framed page ran", msgs)
			}
		})
	}
}

// TestCrossOriginFetch: a page on another loopback site cannot make paved
// run a state-changing route (POST), even with a request the browser
// sends without CORS; a page of paved's own origin can.
func TestCrossOriginFetch(t *testing.T) {
	var created atomic.Int64
	events := &recordingSink{}
	_, base := startPaved(t, "localhost", httpx.Config{Headers: httpx.ProfileHTML, Events: events}, func(s *httpx.Server) {
		s.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
			created.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"created":true}`))
		})
		s.HandleFunc("GET /same", func(w http.ResponseWriter, r *http.Request) {
			html(w, `<script nonce="`+httpx.CSPNonce(r)+`">
fetch("/items", {method: "POST", body: "name=alice"}).then(r => { window.result = "status:" + r.status }, e => { window.result = "error:" + e });
</script>`)
		})
	})
	other := startOther(t, otherSite())

	t.Run("CrossSite", func(t *testing.T) {
		tb := newTab(t)
		reqs := watchRequests(tb, base+"/items")
		tb.navigate(other + "/post?target=" + url.QueryEscape(base+"/items"))
		// The 403 carries Cross-Origin-Resource-Policy same-origin, so
		// the browser does not even hand the page an opaque response.
		if got := poll[string](tb, `window.result`); got != "error:TypeError: Failed to fetch" {
			t.Fatalf("fetch = %q, want the browser to fail it", got)
		}
		if st, bl := reqs.get(true); fmt.Sprint(st, bl) != "[403] [corp-not-same-origin]" {
			t.Fatalf("browser saw statuses %v, blocked %v for POST /items; want [403] [corp-not-same-origin]", st, bl)
		}
		if n := created.Load(); n != 0 {
			t.Fatalf("the handler ran %d times for a cross-site POST", n)
		}
		if got := events.types(); fmt.Sprint(got) != "["+string(paved.EventOriginRejected)+"]" {
			t.Fatalf("events = %v, want one %s", got, paved.EventOriginRejected)
		}
	})
	t.Run("SameOrigin", func(t *testing.T) {
		tb := newTab(t)
		before := created.Load() // CrossSite's count is its own
		tb.navigate(base + "/same")
		if got := poll[string](tb, `window.result`); got != "status:201" {
			t.Fatalf("fetch = %q, want status:201", got)
		}
		if n := created.Load() - before; n != 1 {
			t.Fatalf("handler ran %d times, want 1", n)
		}
	})
}
