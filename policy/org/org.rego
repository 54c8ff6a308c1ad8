# The default organisation policy that policy.CheckConfig evaluates at
# start-up against the service's own posture (paved.Posture's Report).
#
# Input:
#
#   {
#     "service":  {"name": "orders", "environment": "production", "auth_required": true},
#     "controls": [{"component": "httpx", "instance": "public", "name": "tls", "enabled": true, "detail": "..."}],
#     "opt_outs": [{"component": "httpx", "instance": "public", "name": "allow-plain-http", "reason": "..."}]
#   }
#
# Output: data.paved.org.deny, a set of {"rule": NAME, "msg": TEXT}, and
# data.paved.org.decision, the same as a policy decision: allow when deny is
# empty, the messages as reasons, deny itself as obligations.violations. Any
# violation stops start-up unless the service waives its rule by name with
# policy.AllowOrgViolation(NAME, reason), which lands in the posture report
# (and whose reason this policy checks like any opt-out's).
#
# An environment other than "development" is held to every rule; a missing
# environment counts as production.
package paved.org

# Opt-out reasons a reader would not accept as an explanation.
placeholder_reasons := {"", "todo", "tbd", "tmp", "temp", "temporary", "n/a", "na", "none", "test", "testing", "fixme", "xxx", "-", "?"}

# The shortest reason that can say why a default was left.
min_reason_length := 12

environment := object.get(object.get(input, "service", {}), "environment", "production")

development if environment == "development"

decision := {
	"allow": count(deny) == 0,
	"reasons": sort([sprintf("%s: %s", [d.rule, d.msg]) | some d in deny]),
	"obligations": {"violations": deny},
}

where(c) := sprintf("%s/%s", [c.component, c.instance])

# opt-out-reason: every opt-out explains itself, in every environment.
deny contains {"rule": "opt-out-reason", "msg": msg} if {
	some o in input.opt_outs
	reason := trim_space(o.reason)
	weak_reason(reason)
	msg := sprintf("%s opt-out %s: reason %q does not say why (want at least %d characters, not a placeholder)", [where(o), o.name, reason, min_reason_length])
}

weak_reason(reason) if lower(reason) in placeholder_reasons

weak_reason(reason) if count(reason) < min_reason_length

# tls: every component that reports a tls control enforces it.
deny contains {"rule": "tls", "msg": msg} if {
	not development
	some c in input.controls
	c.name == "tls"
	not c.enabled
	msg := sprintf("%s serves without TLS (%s) in %s", [where(c), c.detail, environment])
}

# dev-certificate: certificates come from a real CA outside development.
deny contains {"rule": "dev-certificate", "msg": msg} if {
	not development
	some c in input.controls
	c.name == "tls-certificate"
	not c.enabled
	msg := sprintf("%s uses a development certificate (%s) in %s", [where(c), c.detail, environment])
}

# rate-limit: every httpx server limits its clients (or waives this rule
# with the name of the gateway that does).
deny contains {"rule": "rate-limit", "msg": msg} if {
	not development
	some c in input.controls
	c.component == "httpx"
	c.name in {"rate-limit", "rate-limit-store"}
	not c.enabled
	msg := sprintf("%s: %s is off (%s) in %s", [where(c), c.name, c.detail, environment])
}

# limits: every httpx server bounds its timeouts and request sizes.
deny contains {"rule": "limits", "msg": msg} if {
	some s in httpx_servers
	some want in {"timeouts", "size-limits"}
	not enforced(s, want)
	msg := sprintf("httpx/%s does not enforce %s", [s, want])
}

httpx_servers contains c.instance if {
	some c in input.controls
	c.component == "httpx"
}

enforced(instance, name) if {
	some c in input.controls
	c.component == "httpx"
	c.instance == instance
	c.name == name
	c.enabled
}

# token-checks: a token verifier checks what it was built to check.
deny contains {"rule": "token-checks", "msg": msg} if {
	not development
	some c in input.controls
	c.component == "auth"
	not c.enabled
	msg := sprintf("%s: %s is weakened (%s) in %s", [where(c), c.name, c.detail, environment])
}

# policy-checks: policy engines keep their bundle signatures, built-in
# restrictions and fail-closed evaluation.
deny contains {"rule": "policy-checks", "msg": msg} if {
	not development
	some c in input.controls
	c.component == "policy"
	c.name != "org-policy" # the waivers of this policy: each is an opt-out, with its reason, checked above
	not c.enabled
	msg := sprintf("%s: %s is weakened (%s) in %s", [where(c), c.name, c.detail, environment])
}

# authentication: a service that says it requires authentication runs a
# token verifier or a browser login.
deny contains {"rule": "authentication", "msg": msg} if {
	input.service.auth_required
	not authenticates
	msg := "the service requires authentication but no auth control (bearer-verification, browser-login, service-tokens) is enforced"
}

authenticates if {
	some c in input.controls
	c.component == "auth"
	c.name in {"bearer-verification", "browser-login", "service-tokens"}
	c.enabled
}
