# The service's authorization policy, embedded when POLICY_BUNDLE_URL is
# unset (tests, a first deployment); in production the same package comes
# signed from the bundle server. policy.Authorizer asks for
# data.service.authz.decision with the request's method, route
# ("GET /v1/orders"), params and the caller (principal: sub, roles...).
package service.authz

# The routes each role may call: a look-up, not a scan.
grants := {
	"reader": {"GET /v1/orders": true},
	"admin": {"GET /v1/orders": true, "DELETE /v1/orders/{id}": true},
}

default allow := false

allow if {
	some role in input.principal.roles
	grants[role][input.route]
}

decision := {"allow": true, "reasons": set()} if allow

decision := {"allow": false, "reasons": {sprintf("no role of %s grants %s", [object.get(input, ["principal", "sub"], "an anonymous caller"), input.route])}} if not allow
