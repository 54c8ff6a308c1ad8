package paved.org_test

import data.paved.org

# A posture as httpx and auth report it with their defaults.
secure_controls := [
	{"component": "auth", "instance": "1", "name": "access-token-typ", "enabled": true, "detail": "at+jwt"},
	{"component": "auth", "instance": "1", "name": "bearer-verification", "enabled": true, "detail": "issuers https://id.example"},
	{"component": "httpx", "instance": "public", "name": "rate-limit", "enabled": true, "detail": "600/1m per client"},
	{"component": "httpx", "instance": "public", "name": "size-limits", "enabled": true, "detail": "header 16KiB (431), body 1MiB (413)"},
	{"component": "httpx", "instance": "public", "name": "timeouts", "enabled": true, "detail": "read-header 10s"},
	{"component": "httpx", "instance": "public", "name": "tls", "enabled": true, "detail": "TLS 1.2+"},
	{"component": "httpx", "instance": "public", "name": "tls-certificate", "enabled": true, "detail": "files"},
]

secure := {
	"service": {"name": "orders", "environment": "production", "auth_required": true},
	"controls": secure_controls,
	"opt_outs": [],
}

rules(x) := {d.rule | some d in org.deny with input as x}

# with_control replaces the control of the same component, instance and name.
with_control(x, c) := object.union(x, {"controls": array.concat(
	[k | some k in x.controls; [k.component, k.instance, k.name] != [c.component, c.instance, c.name]],
	[c],
)})

env(x, e) := object.union(x, {"service": {"environment": e}})

plain := with_control(secure, {"component": "httpx", "instance": "public", "name": "tls", "enabled": false, "detail": "plain HTTP (opt-out)"})

devcert := with_control(secure, {"component": "httpx", "instance": "public", "name": "tls-certificate", "enabled": false, "detail": "development CA (opt-out)"})

test_secure_posture_passes if {
	count(org.deny) == 0 with input as secure
}

test_plain_http_denied_in_production if {
	rules(plain) == {"tls"}
}

test_plain_http_message_names_instance if {
	some d in org.deny with input as plain
	d.msg == "httpx/public serves without TLS (plain HTTP (opt-out)) in production"
}

test_plain_http_allowed_in_development if {
	rules(env(plain, "development")) == set()
}

test_missing_environment_is_production if {
	rules(object.remove(plain, ["service"])) == {"tls"}
}

test_staging_is_held_to_every_rule if {
	rules(env(devcert, "staging")) == {"dev-certificate"}
}

test_dev_certificate_denied if {
	rules(devcert) == {"dev-certificate"}
}

test_rate_limit_off_denied if {
	rules(with_control(secure, {"component": "httpx", "instance": "public", "name": "rate-limit", "enabled": false, "detail": "disabled (opt-out)"})) == {"rate-limit"}
}

test_fail_open_rate_limit_store_denied if {
	x := object.union(secure, {"controls": array.concat(secure_controls, [{"component": "httpx", "instance": "public", "name": "rate-limit-store", "enabled": false, "detail": "opt-out redislimit/allow-local-fallback"}])})
	rules(x) == {"rate-limit"}
}

test_missing_limits_denied if {
	x := object.union(secure, {"controls": [c | some c in secure_controls; c.name != "timeouts"]})
	some d in org.deny with input as x
	d == {"rule": "limits", "msg": "httpx/public does not enforce timeouts"}
}

test_limits_held_in_development if {
	x := object.union(env(secure, "development"), {"controls": [c | some c in secure_controls; c.name != "size-limits"]})
	rules(x) == {"limits"}
}

test_untyped_tokens_denied if {
	rules(with_control(secure, {"component": "auth", "instance": "1", "name": "access-token-typ", "enabled": false, "detail": "untyped accepted (opt-out)"})) == {"token-checks"}
}

test_policy_control_weakened_denied if {
	x := object.union(secure, {"controls": array.concat(secure_controls, [{"component": "policy", "instance": "authz", "name": "bundle-signatures", "enabled": false, "detail": "unsigned (opt-out)"}])})
	rules(x) == {"policy-checks"}
}

test_authentication_required_without_verifier if {
	x := object.union(secure, {"controls": [c | some c in secure_controls; c.component != "auth"]})
	rules(x) == {"authentication"}
}

test_authentication_not_required if {
	x := object.union(secure, {
		"service": {"auth_required": false},
		"controls": [c | some c in secure_controls; c.component != "auth"],
	})
	rules(x) == set()
}

test_opt_out_reason_placeholder if {
	x := object.union(env(plain, "development"), {"opt_outs": [{"component": "httpx", "instance": "public", "name": "allow-plain-http", "reason": "TODO"}]})
	some d in org.deny with input as x
	d == {"rule": "opt-out-reason", "msg": "httpx/public opt-out allow-plain-http: reason \"TODO\" does not say why (want at least 12 characters, not a placeholder)"}
}

test_opt_out_reason_too_short if {
	x := object.union(secure, {"opt_outs": [{"component": "auth", "instance": "1", "name": "allow-http-issuer", "reason": "  lab only  "}]})
	rules(x) == {"opt-out-reason"}
}

test_opt_out_reason_that_explains if {
	x := object.union(env(plain, "development"), {"opt_outs": [{"component": "httpx", "instance": "public", "name": "allow-plain-http", "reason": "TLS ends at the mesh sidecar"}]})
	rules(x) == set()
}

test_every_violation_reported if {
	x := object.union(devcert, {"opt_outs": [{"component": "httpx", "instance": "public", "name": "allow-dev-certificate", "reason": "tbd"}]})
	rules(with_control(x, {"component": "httpx", "instance": "public", "name": "rate-limit", "enabled": false, "detail": "off"})) == {"dev-certificate", "opt-out-reason", "rate-limit"}
}

test_decision_allows_secure_posture if {
	d := org.decision with input as secure
	d == {"allow": true, "reasons": [], "obligations": {"violations": set()}}
}

test_decision_lists_violations if {
	d := org.decision with input as plain
	d.allow == false
	d.reasons == ["tls: httpx/public serves without TLS (plain HTTP (opt-out)) in production"]
	d.obligations.violations == {{"rule": "tls", "msg": "httpx/public serves without TLS (plain HTTP (opt-out)) in production"}}
}
