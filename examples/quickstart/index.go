package main

import (
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/pavedroad/paved/httpx"
)

// A route is one line of the index: what to call and what it does.
type route struct{ Method, Path, What string }

var indexRoutes = []route{
	{"GET", "/hello", "a JSON greeting with the request ID"},
	{"GET", "/livez", "liveness"},
	{"GET", "/readyz", "readiness: the issuer's keys, the secrets and the policy are loaded"},
	{"GET", "/posture", "the posture report: every control, every opt-out, the score; needs a token"},
	{"GET", "/config", "secrets injected at start-up (in memory; Vault when VAULT_ADDR is set); the key is REDACTED"},
	{"POST", "/echo", "echoes a JSON body (1 MiB at most: 413 beyond); cross-site: 403"},
	{"GET", "/panic", "a deliberate panic: 500 problem+json, the stack only in the log"},
	{"GET", "/limited", "2 requests a minute: the 3rd gets 429 with RateLimit and Retry-After"},
	{"GET", "/me", "the caller's identity; needs a bearer token (401 without)"},
	{"GET", "/orders", "needs a token with the orders:read scope (403 without it)"},
	{"GET", "/.well-known/sbom", "the server's own SBOM (SPDX or CycloneDX by Accept, ?format=provenance); needs a token"},
	{"GET", "/docs/{id}", "decided by the embedded policy: a reader may read the documents they own (1), not others (2: 403 with a decision_id)"},
	{"DELETE", "/docs/{id}", "needs the admin role (403 for the printed token)"},
}

// indexText renders the index as plain text, for curl.
func indexText() string {
	var b strings.Builder
	b.WriteString("paved quickstart: what to try (the commands it printed at start-up work as they are)\n\n")
	for _, r := range indexRoutes {
		fmt.Fprintf(&b, "%-4s %-9s %s\n", r.Method, r.Path, r.What)
	}
	b.WriteString("\nEvery response carries the security headers and an X-Request-Id; every answer\nthe rate limiter gave (all but /livez, /readyz and refusals before it, such as a\ncross-site POST) carries the RateLimit fields. In a browser this is a page.\n")
	return b.String()
}

// indexPage is the index as HTML, served under the HTML header profile:
// its CSP allows only the <style> and <script> that carry the request's
// nonce, so nothing injected into the page could run. The script adds a
// copy button to each command.
var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>paved quickstart</title>
<style nonce="{{.Nonce}}">
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
code, pre { font: 0.85rem/1.4 ui-monospace, monospace; }
pre { background: #f4f4f4; padding: 0.5rem 0.75rem; overflow-x: auto; margin: 0.25rem 0; }
.claim { color: #555; margin: 0 0 0.75rem; }
button { font-size: 0.8rem; margin-left: 0.5rem; }
table { border-collapse: collapse; } td { padding: 0.15rem 0.75rem 0.15rem 0; vertical-align: top; }
</style>
</head>
<body>
<h1>paved quickstart</h1>
<p>A secure paved server on loopback. In a shell, trust its development CA and set a token first:</p>
<pre>export PAVED_CA={{.CAFile}}</pre>
{{if .StandIn}}<p class="claim">and the two <code>export TOKEN...</code> lines the quickstart printed at start-up (tokens from its in-process OpenID provider).</p>
{{else}}<pre>export TOKEN='&lt;an access token from {{.Issuer}} for the audience {{.Audience}}&gt;'</pre>
{{end}}
{{range .Sections}}<h2>{{.Title}}</h2>
{{range .Commands}}<pre data-cmd>{{.Line}}</pre>
<p class="claim">{{.Claim}}</p>
{{end}}{{end}}
<h2>Routes</h2>
<table>
{{range .Routes}}<tr><td><code>{{.Method}}</code></td><td><code>{{.Path}}</code></td><td>{{.What}}</td></tr>
{{end}}</table>
<p>This page is served with the HTML security-header profile: a Content-Security-Policy whose
nonce is new on every request. Every other route keeps the API profile (default-src 'none').</p>
<script nonce="{{.Nonce}}">
for (const pre of document.querySelectorAll("pre[data-cmd]")) {
  const b = document.createElement("button");
  b.textContent = "copy";
  b.addEventListener("click", () => navigator.clipboard.writeText(pre.firstChild.textContent).then(() => { b.textContent = "copied"; }));
  pre.after(b);
}
</script>
</body>
</html>
`))

// indexData is what indexPage renders.
type indexData struct {
	Nonce, CAFile    string
	StandIn          bool
	Issuer, Audience string
	Sections         []section
	Routes           []route
}

// indexHandler answers GET / with the index: an HTML page when the
// request's Accept prefers text/html (a browser), plain text otherwise
// (curl). baseURL returns the server's URL. It must run inside
// httpx.SecurityHeaders(httpx.ProfileHTML), which sets the nonce the page
// puts on its <style> and <script>.
func indexHandler(baseURL func() string, caFile string, iss *tokenIssuer) http.Handler {
	text := indexText()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept")
		if !prefersHTML(r.Header.Values("Accept")) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte(text))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = indexPage.Execute(w, indexData{
			Nonce: httpx.CSPNonce(r), CAFile: shellQuote(caFile), StandIn: iss.mint != nil,
			Issuer: iss.url, Audience: iss.audience,
			Sections: trySections(baseURL(), iss.mint != nil), Routes: indexRoutes,
		})
	})
}

// prefersHTML reports whether the Accept fields name text/html (or
// application/xhtml+xml) with a quality above zero and at least that of
// text/plain (a tie goes to text/plain when it is named too). A bare */*
// (curl's default) or no Accept at all gets plain text: HTML only when the
// client asks for it by name.
func prefersHTML(accept []string) bool {
	html, plain := -1.0, -1.0 // -1: not matched
	plainExact := false
	for _, field := range accept {
		for _, part := range strings.Split(field, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
					q = f
				} else {
					continue
				}
			}
			switch mt {
			case "text/html", "application/xhtml+xml":
				html = max(html, q)
			case "text/plain":
				plain, plainExact = q, true
			case "text/*", "*/*":
				if !plainExact {
					plain = max(plain, q)
				}
			}
		}
	}
	return html > 0 && (html > plain || html == plain && !plainExact)
}
