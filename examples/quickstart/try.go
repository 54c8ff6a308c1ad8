package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/pavedroad/paved/sbom"
)

// A command is one ready curl command and what it shows. Claim starts
// with the HTTP status (or statuses, for a loop) the command gets, which
// the tests check by running each command with the real curl.
type command struct{ Line, Claim string }

// A section is a titled group of commands.
type section struct {
	Title    string
	Commands []command
}

// trySections returns the commands the quickstart prints and its / page
// lists, for the server at url: first the walkthrough (allowed, denied by
// auth, denied by policy, rate-limited), then the supply chain and
// posture, then the rest. standIn says the tokens come from the in-process
// provider (so $TOKEN has the reader role and the orders:read scope, and
// $TOKEN_NO_SCOPE lacks that scope); with your own issuer only the calls
// whose outcome does not depend on your token's claims are listed.
func trySections(url string, standIn bool) []section {
	ca := `curl --cacert "$PAVED_CA" `
	bearer := ca + `-H "Authorization: Bearer $TOKEN" `
	walk := section{Title: "Walk through it: allowed, denied by auth, denied by policy, rate-limited", Commands: []command{
		{bearer + url + "/me", "200 allowed: the caller your token names"},
		{ca + "-i " + url + "/me", "401 denied by auth: no token, WWW-Authenticate: Bearer"},
		{ca + `-i -H "Authorization: Bearer $TOKEN" ` + url + "/docs/2", "403 denied by the policy: problem+json with its decision_id, the same ID as in the decision log"},
		{`for i in 1 2 3; do ` + ca + "-si " + url + `/limited | grep -iE '^(HTTP/|ratelimit|retry-after)'; echo; done`,
			"200, 200, 429 rate-limited: 2 a minute, the 3rd gets RateLimit and Retry-After; run again before Retry-After has passed: 429, 429, 429 (with REDIS_ADDR, after a restart too: the budget is in Redis)"},
	}}
	supply := section{Title: "Its supply chain and posture (for your platform team, so they need a token too)", Commands: []command{
		{bearer + url + sbom.DefaultPath, "200 its own SBOM, SPDX 2.3 (CycloneDX 1.6 with -H 'Accept: application/vnd.cyclonedx+json')"},
		{bearer + `"` + url + sbom.DefaultPath + `?format=provenance"`, "200 its provenance: an in-toto SLSA statement of how it was built"},
		{bearer + url + "/posture", "200 the posture report: every control, every opt-out with its reason, the score"},
	}}
	more := section{Title: "More", Commands: []command{
		{ca + url + "/", "200 what to try, in short (a page in a browser)"},
		{ca + url + "/hello", "200 a JSON greeting with the request ID"},
		{ca + "-i " + url + "/livez", "200 liveness"},
		{ca + url + "/readyz", "200 readiness: the issuer's keys, the secrets and the policy are loaded"},
		{ca + url + "/config", "200 secrets injected at start-up (Vault when VAULT_ADDR is set): the API key shows as REDACTED"},
		{ca + `-i -X POST -H 'Content-Type: application/json' -d '{"n":1}' ` + url + "/echo", "200 echoes the JSON body"},
		{ca + "-i " + url + "/panic", "500 problem+json with the request ID, no stack leaked"},
		{ca + `-i -X POST -H 'Sec-Fetch-Site: cross-site' ` + url + "/echo", "403 cross-origin request refused"},
		{ca + "-i " + url + "/posture", "401 the posture report needs a token"},
	}}
	if standIn {
		more.Commands = append(more.Commands,
			command{bearer + url + "/orders", "200 the token has the orders:read scope"},
			command{ca + `-i -H "Authorization: Bearer $TOKEN_NO_SCOPE" ` + url + "/orders", "403 insufficient_scope: that token lacks orders:read"},
			command{bearer + url + "/docs/1", "200 allowed by the policy: a reader who owns document 1"},
			command{ca + `-i -X DELETE -H "Authorization: Bearer $TOKEN" ` + url + "/docs/1", "403 denied by the policy: deleting needs the admin role"},
		)
	}
	return []section{walk, supply, more}
}

// printTry prints what to try: how to trust the development CA, where the
// token comes from, and the commands.
func printTry(w io.Writer, url, caFile string, iss *tokenIssuer, token, noScope string) {
	fmt.Fprintf(w, `paved quickstart listening on %s

The server's certificate comes from a development CA that lives only in this
process; trust it explicitly instead of turning verification off:

  export PAVED_CA=%s
`, url, shellQuote(caFile))
	if iss.mint != nil {
		fmt.Fprintf(w, `
Tokens from the in-process OpenID provider that stands in for yours (valid
1 hour; set %s and %s to use your provider):

  export TOKEN=%s
  export TOKEN_NO_SCOPE=%s
`, envIssuer, envAudience, token, noScope)
	} else {
		fmt.Fprintf(w, `
Tokens come from your OpenID provider (%s):

  %s

Bring an access token it issued for the audience %q:

  export TOKEN='<your access token>'
`, envIssuer, iss.url, iss.audience)
	}
	for _, s := range trySections(url, iss.mint != nil) {
		fmt.Fprintf(w, "\n%s:\n", s.Title)
		for _, c := range s.Commands {
			// The comment on a line of its own: a command pasted alone
			// works in any shell (zsh, unlike bash, does not take # as a
			// comment at its prompt).
			fmt.Fprintf(w, "\n  # %s\n  %s\n", c.Claim, c.Line)
		}
	}
	fmt.Fprintf(w, "\nIn a browser, %s/ is the same list as a page (it warns about the\ndevelopment CA unless you import $PAVED_CA).\n\nCtrl-C stops it gracefully.\n", url)
}

// shellSafe matches a word that needs no quoting in a POSIX shell.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

// shellQuote returns s as one word for a POSIX shell: as it is when that
// is safe, else single-quoted (a path with a space, or a Windows path,
// whose backslashes bash would eat).
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
