package main

import (
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

const apiCSP = "default-src 'none'; frame-ancestors 'none'"

var (
	cspNonce  = regexp.MustCompile(`'nonce-([A-Za-z0-9+/]+)'`)
	nonceAttr = regexp.MustCompile(`<(\w+)[^>]*\snonce="([^"]*)"`)
)

// GET / is plain text for curl and a page for a browser, served on the HTML
// header profile: its CSP carries the nonce the page's <style> and
// <script> use, new on every request. Every other route keeps the API
// profile.
func TestQuickstartIndex(t *testing.T) {
	qs := startQuickstart(t)
	get := func(path, accept string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, qs.url+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := qs.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

	// curl: plain text.
	resp, body := get("/", "*/*")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("Vary") != "Accept" {
		t.Fatalf("GET / for curl = %d %q Vary %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Vary"))
	}
	for _, route := range []string{"GET  /hello", "GET  /limited", "POST /echo", "GET  /orders", "GET  /posture"} {
		if !strings.Contains(body, route) {
			t.Errorf("index lacks %q:\n%s", route, body)
		}
	}

	// A browser: the page, with the nonce of its own CSP.
	var nonces []string
	for range 2 {
		resp, body = get("/", browser)
		csp := resp.Header.Get("Content-Security-Policy")
		m := cspNonce.FindAllStringSubmatch(csp, -1)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || len(m) != 2 || m[0][1] != m[1][1] {
			t.Fatalf("GET / for a browser = %d %q CSP %q", resp.StatusCode, resp.Header.Get("Content-Type"), csp)
		}
		nonce := m[0][1]
		want := "default-src 'self'; script-src 'nonce-" + nonce + "' 'strict-dynamic'; style-src 'self' 'nonce-" + nonce +
			"'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
		if csp != want {
			t.Errorf("CSP %q, want %q", csp, want)
		}
		// html/template writes a + in the nonce as &#43;, which the
		// browser reads as +.
		tags := nonceAttr.FindAllStringSubmatch(body, -1)
		if len(tags) != 2 || tags[0][1] != "style" || tags[1][1] != "script" ||
			html.UnescapeString(tags[0][2]) != nonce || html.UnescapeString(tags[1][2]) != nonce {
			t.Errorf("page does not carry its CSP nonce %q on its <style> and <script> (and nothing else): %q", nonce, tags)
		}
		for _, want := range []string{"/docs/2", "/limited", "export PAVED_CA=" + qs.caFile, "/.well-known/sbom?format=provenance"} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if strings.Contains(body, qs.token) {
			t.Error("page holds a token")
		}
		nonces = append(nonces, nonce)
	}
	if nonces[0] == nonces[1] {
		t.Errorf("the nonce %q was used twice", nonces[0])
	}

	// Every other route keeps the API profile, for a browser too.
	for _, path := range []string{"/hello", "/livez", "/nope", "/panic"} {
		resp, _ := get(path, browser)
		if csp := resp.Header.Get("Content-Security-Policy"); csp != apiCSP {
			t.Errorf("%s: CSP %q, want the API profile's %q", path, csp, apiCSP)
		}
	}
}

func TestPrefersHTML(t *testing.T) {
	for _, tt := range []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{"*/*"}, false}, // curl
		{[]string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, true}, // Firefox, Chrome
		{[]string{"text/html"}, true},
		{[]string{"application/xhtml+xml"}, true},
		{[]string{"text/plain"}, false},
		{[]string{"text/plain, text/html"}, false},
		{[]string{"text/html, text/plain;q=0.5"}, true},
		{[]string{"text/html;q=0.5, text/plain"}, false},
		{[]string{"text/html, */*"}, true},
		{[]string{"text/html;q=0"}, false},
		{[]string{"text/html;q=2"}, false}, // invalid q: ignored
		{[]string{"text/plain", "text/html;q=0.4"}, false},
		{[]string{"application/json"}, false},
		{[]string{"garbage;;;", "text/html"}, true},
	} {
		if got := prefersHTML(tt.accept); got != tt.want {
			t.Errorf("prefersHTML(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}

// FuzzPrefersHTML: any Accept field (untrusted input) gets an answer
// without panicking, and HTML only when it names an HTML type.
func FuzzPrefersHTML(f *testing.F) {
	for _, s := range []string{"*/*", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/plain;q=0.5, text/html", "text/html;q=abc", ";;,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		if prefersHTML([]string{accept}) && !strings.Contains(strings.ToLower(accept), "html") {
			t.Errorf("prefersHTML(%q) = true without an HTML type", accept)
		}
	})
}
