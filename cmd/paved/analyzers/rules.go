package analyzers

import (
	"slices"
	"strings"
)

// Severity orders findings for --fail-on.
type Severity int

// Severities, lowest first.
const (
	Low Severity = iota + 1
	Medium
	High
)

func (s Severity) String() string {
	switch s {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return "unknown"
}

// ParseSeverity parses "low", "medium" or "high" (any case).
func ParseSeverity(s string) (Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "low":
		return Low, true
	case "medium":
		return Medium, true
	case "high":
		return High, true
	}
	return 0, false
}

// A Rule is one kind of finding: its stable ID, severity, CWE and the
// short fix a developer reads next to the finding.
type Rule struct {
	ID       string
	Name     string // the analyzer that reports it
	Severity Severity
	CWE      int
	Summary  string
	Fix      string
}

// Rule IDs paved's own analyzers report.
const (
	RuleAllowNoReason = "PAV001"
	RuleHTTPServer    = "PAV100"
	RuleHTTPClient    = "PAV101"
	RuleTLS           = "PAV102"
	RuleOptOutReason  = "PAV103"
	RuleRevealed      = "PAV104"
	RuleMathRand      = "PAV105"
	RuleSQLString     = "PAV106"
	RuleCredential    = "PAV107"
)

// Rules lists paved's rules, sorted by ID.
var Rules = []Rule{
	{RuleAllowNoReason, "pavedallow", Medium, 1078, "//paved:allow without a rule or a reason",
		"write //paved:allow RULE followed by why the finding is acceptable (three words or more)"},
	{RuleHTTPServer, "httpserver", Medium, 400, "HTTP server started with net/http directly, without timeouts",
		"serve through httpx.New (timeouts, TLS, limits) or set ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout"},
	{RuleHTTPClient, "httpclient", Medium, 400, "outbound http.Client without a timeout",
		"set http.Client.Timeout, or bound every request with a context deadline and say so with //paved:allow"},
	{RuleTLS, "tlsconfig", High, 327, "tls.Config weaker than Go's defaults for the module's go line",
		"drop InsecureSkipVerify (trust the CA through RootCAs), set MinVersion to tls.VersionTLS12 or later, list only AEAD suites"},
	{RuleOptOutReason, "optoutreason", Medium, 1078, "paved opt-out with an empty, placeholder or one-word reason",
		"say in a sentence why the service leaves the secure default (it is logged at start-up and shown in posture)"},
	{RuleRevealed, "revealed", High, 532, "secret value revealed into a log, format or response call",
		"pass the secrets.Secret itself (it redacts) or use the revealed value only where it is consumed"},
	{RuleMathRand, "mathrand", High, 338, "math/rand used for a token, key, nonce, salt or ID",
		"use crypto/rand (rand.Text, rand.Read) for anything an attacker must not guess"},
	{RuleSQLString, "sqlstring", High, 89, "SQL built by concatenation or fmt.Sprintf passed to database/sql or pgx",
		"pass values as query arguments ($1, ?) and keep the SQL text constant"},
	{RuleCredential, "credential", High, 798, "hard-coded credential in a string literal (gitleaks rule)",
		"load it at run time (secrets.Client, the environment) and rotate the leaked value"},
}

// RuleByID returns the rule with the given ID.
func RuleByID(id string) (Rule, bool) {
	i := slices.IndexFunc(Rules, func(r Rule) bool { return r.ID == id })
	if i < 0 {
		return Rule{}, false
	}
	return Rules[i], true
}

func mustRule(id string) Rule {
	r, ok := RuleByID(id)
	if !ok {
		panic("analyzers: no rule " + id)
	}
	return r
}
