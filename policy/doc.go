// Package policy evaluates authorization policy in process with the Open
// Policy Agent (github.com/open-policy-agent/opa/v1), fail-closed.
//
// # Sources
//
// An [Engine] loads Rego modules and data from one source: an [io/fs.FS]
// (so an embed.FS ships the policy inside the binary), a directory, or an
// OPA bundle (tar.gz) read from a file or polled from an HTTP bundle server
// with If-None-Match and a jittered backoff ([Engine.Run]). A remote
// bundle must be signed (.signatures.json) and is verified with OPA's
// bundle verification against [BundleConfig.Keys]; an unsigned one needs
// the [AllowUnsignedBundle] opt-out. An archive is checked before OPA reads
// it: no ".." path, no link, no more than [BundleConfig.MaxBytes]
// compressed or uncompressed. A bundle that fails to fetch, verify, parse
// or compile never replaces the last good one; a good one replaces it
// atomically, with its own prepared queries and an empty decision cache. A
// local source that does not compile fails [New] with OPA's file:line
// messages.
//
// # Decisions
//
// [Config.Queries] names the decisions a service asks for; each is a data
// reference prepared when the policy loads, and [Engine.Query] returns a
// handle cheap to keep per route. A decision document is a boolean, or an
// object {"allow": bool, "reasons": [...], "obligations": {...}}.
// [Query.Decide] evaluates it concurrently with other decisions under a
// deadline ([Config.Timeout], 50ms by default) and returns a typed
// [Decision] with the bundle revision and a decision ID. Anything but an
// answer from the policy denies and says why in [Decision.Cause]: an
// undefined document, an evaluation error (built-in errors are strict), a
// timeout, a non-boolean allow, an input over the bounds, no policy
// loaded.
//
// Built-ins that reach the network or the host (http.send,
// net.lookup_ip_addr, opa.runtime, and json.match_schema and
// json.verify_schema, which read a "file://" $ref from disk) are refused
// when a policy loads, unless the service opts in by name with
// [AllowBuiltin]; an allowed http.send reaches only the hosts in
// [Config.HTTPSendHosts] (OPA's allow_net), on any port.
//
// Decisions of a query declared Pure are cached by input in a bounded
// cache, which each newly loaded policy starts empty. A hit costs no
// allocation.
//
// # Speed
//
// Decisions skip the rego package's per-call set-up: the input is built
// as an OPA value ([Input.Value], or pass an ast.Value), the data store
// returns AST values without conversion, and the result is read as an AST
// value rather than converted to Go. See BenchmarkRBAC.
//
// # Observability
//
// Each decision goes to [Config.DecisionLog] and, as a
// paved.EventPolicyDecision, to the event sink. The engine is an
// httpx.Check: not ready until a policy loads, degraded while the bundle
// server fails and the last good bundle serves. Its controls and opt-outs
// are in the posture report.
//
// Helpers for table-driven policy tests live in policytest.
package policy

import _ "github.com/pavedroad/paved" // for the doc link
