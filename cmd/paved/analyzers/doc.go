// Package analyzers holds paved's static checks as go/analysis analyzers:
// the road-conformance rules (servers and clients without timeouts, weak
// TLS judged by the module's go line, opt-outs without a real reason,
// revealed secrets in logs and responses, math/rand for tokens, SQL built
// from strings, hard-coded credentials found by gitleaks' detector) and
// gosec's analyzer wrapped so that it honours the same suppressions.
//
// Every analyzer is an exported [analysis.Analyzer], so the set loads in
// `paved vet`, in `go vet -vettool=$(which pavedvet)` (see cmd/pavedvet),
// in golangci-lint's module plugin system and in nogo.
//
// A finding is suppressed only by a comment on its line or the line above:
//
//	//paved:allow PAV105 the ID is a display colour, not a credential
//
// naming one or more rule IDs (comma-separated; gosec's G-IDs too) and a
// reason of at least three words. A suppression without a reason is itself
// a finding (PAV001) and suppresses nothing.
package analyzers
