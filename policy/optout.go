package policy

import (
	"strings"

	"github.com/pavedroad/paved"
)

// Component is the name policy uses in opt-outs, controls, events and
// configuration errors.
const Component = "policy"

// Names of the policy opt-outs: each is the kebab-case form of the
// constructor that returns it. AllowBuiltin's name carries the built-in it
// allows after a colon ("allow-builtin:http.send"), so that each allowed
// built-in is its own line in the posture report.
const (
	OptOutAllowUnsignedBundle = "allow-unsigned-bundle"
	OptOutAllowBuiltin        = "allow-builtin"
)

// AllowUnsignedBundle returns the opt-out that lets the engine activate a
// remote bundle that carries no signature, for a bundle server the service
// trusts by other means (a sidecar on loopback, a private network with
// mutual TLS). A bundle that carries a signature is still verified when
// keys are configured. Put it in [Config.OptOuts].
func AllowUnsignedBundle(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowUnsignedBundle, reason)
}

// AllowBuiltin returns the opt-out that lets policies call the built-in
// function name, one of those refused by default because it reaches the
// network or the host ([RefusedBuiltins]): "http.send",
// "net.lookup_ip_addr", "opa.runtime", "json.match_schema",
// "json.verify_schema". An allowed http.send may only reach the hosts in
// [Config.HTTPSendHosts]. Put it in [Config.OptOuts].
func AllowBuiltin(name, reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowBuiltin+":"+name, reason)
}

// allowedBuiltin returns the built-in an opt-out allows, if it is an
// AllowBuiltin one.
func allowedBuiltin(o paved.OptOut) (string, bool) {
	if o.Component != Component {
		return "", false
	}
	return strings.CutPrefix(o.Name, OptOutAllowBuiltin+":")
}

// RefusedBuiltins lists the built-in functions a policy may not call
// unless the service opts in by name with [AllowBuiltin]: each reaches the
// network (http.send, net.lookup_ip_addr), reveals the host's environment
// and configuration (opa.runtime), or reads the host's files
// (json.match_schema and json.verify_schema resolve a schema's
// "file://..." $ref with os.Open, whatever allow_net says, and put what
// they read into their result; a schema from input makes that the
// caller's choice). A policy that calls one is rejected when it is loaded,
// never at evaluation time.
//
// The other built-ins are pure, or non-deterministic without reaching out
// (time.now_ns, rand.intn, uuid.rfc4122: see [QueryConfig.Pure]); print
// is compiled out, and trace writes only to a tracer, which the engine
// never sets.
func RefusedBuiltins() []string {
	return []string{"http.send", "net.lookup_ip_addr", "opa.runtime", "json.match_schema", "json.verify_schema"}
}
