package browsertest_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pavedroad/paved/httpx"
)

// TestHSTS: the browser keeps paved's Strict-Transport-Security and, from
// then on, upgrades an http:// URL of the host to https:// itself,
// before anything leaves the machine; a browser context that never saw
// the header does not. It also shows that the pinned dev certificate is a
// certificate without errors to the browser: Chromium ignores HSTS
// headers sent over a connection with certificate errors.
func TestHSTS(t *testing.T) {
	_, base := startPaved(t, hstsHost, httpx.Config{Headers: httpx.ProfileHTML}, func(s *httpx.Server) {
		s.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { html(w, "<p>hello</p>") })
		s.HandleFunc("GET /later", func(w http.ResponseWriter, r *http.Request) { html(w, "<p>later</p>") })
	})
	plain := "http://" + strings.TrimPrefix(base, "https://") + "/later"

	t.Run("NotYetSeen", func(t *testing.T) {
		tb := newTab(t)
		// The TLS port answers plain HTTP with Go's own 400: the browser
		// went out over http, as it must before it has seen the header.
		resp, err := tb.load(plain)
		if err != nil || resp == nil || resp.Status != http.StatusBadRequest || resp.URL != plain || resp.SecurityState != "insecure" {
			t.Fatalf("http:// before HSTS = %+v, %v; want Go's 400 for plain HTTP", resp, err)
		}
	})
	t.Run("Upgrade", func(t *testing.T) {
		tb := newTab(t)
		if resp := tb.response(base + "/"); resp.Status != http.StatusOK || resp.SecurityState != "secure" {
			t.Fatalf("https:// = %d, security state %q; want 200 over a connection the browser calls secure", resp.Status, resp.SecurityState)
		}
		// Bounded: without the internal redirect the loop below would
		// wait for the tab's whole timeout.
		ectx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
		defer cancel()
		redirects := chromedp.Events(ectx, network.RequestWillBeSent)
		resp := tb.response(plain)
		if resp.Status != http.StatusOK || resp.URL != base+"/later" {
			t.Fatalf("http:// after HSTS = %d %s, want 200 from %s/later", resp.Status, resp.URL, base)
		}
		if p := eval[string](tb, `location.protocol`); p != "https:" {
			t.Fatalf("location.protocol = %q", p)
		}
		// Chromium's internal redirect names its reason.
		seen := false
		for ev, err := range redirects {
			if err != nil {
				t.Fatalf("no redirect of %s seen: %v", plain, err)
			}
			if ev.RedirectResponse == nil || ev.RedirectResponse.URL != plain {
				continue
			}
			reason, _ := ev.RedirectResponse.Headers["Non-Authoritative-Reason"].(string)
			if ev.RedirectResponse.Status != http.StatusTemporaryRedirect || reason != "HSTS" {
				t.Fatalf("redirect of %s = %d, reason %q; want the browser's 307 for HSTS", plain, ev.RedirectResponse.Status, reason)
			}
			seen = true
			break
		}
		if !seen {
			t.Fatalf("no redirect of %s seen", plain)
		}
	})
}

// TestTLSTrustIsExplicit: the browser accepts the pinned dev certificate
// and nothing else; another certificate from another ephemeral CA, for
// the same host, fails the load as untrusted.
func TestTLSTrustIsExplicit(t *testing.T) {
	other, err := httpx.NewDevCertificate("", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { html(w, "<p>unpinned</p>") }))
	ts.TLS = httpx.TLSConfig(other, nil, 0)
	ts.TLS.NextProtos = []string{"http/1.1"}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the browser's refusal, expected
	ts.StartTLS()
	t.Cleanup(ts.Close)

	tb := newTab(t)
	_, err = tb.load("https://localhost:" + portOf(ts.Listener.Addr()) + "/")
	if err == nil || !strings.Contains(err.Error(), "net::ERR_CERT_AUTHORITY_INVALID") {
		t.Fatalf("unpinned certificate: %v, want net::ERR_CERT_AUTHORITY_INVALID", err)
	}
	_, base := startPaved(t, "localhost", httpx.Config{}, func(s *httpx.Server) {})
	// A tab of its own: leaving the certificate error page, chromedp can
	// miss the next navigation's response (see load).
	tb = newTab(t)
	if resp, err := tb.load(base + "/livez"); err != nil || resp == nil || resp.SecurityState != "secure" {
		t.Fatalf("pinned dev certificate: %+v, %v", resp, err)
	}
}
