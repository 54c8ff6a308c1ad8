# The example's authorization policy: tenant isolation. A caller reads the
# orders of the tenants it belongs to (groups "tenant:<name>"); refunds also
# need the support role. package policy asks for
# data.orders.authz.decision with the input its middleware builds: method,
# route ("GET /tenants/{tenant}/orders"), params, client_ip, time and the
# caller (principal: sub, roles, groups, scopes...).
package orders.authz

decision := {"allow": true, "reasons": set()} if allow

decision := {"allow": false, "reasons": reasons} if not allow

default allow := false

allow if {
	input.route == "GET /tenants/{tenant}/orders"
	member
}

allow if {
	input.route == "POST /tenants/{tenant}/refunds"
	member
	"support" in input.principal.roles
}

member if sprintf("tenant:%s", [input.params.tenant]) in input.principal.groups

subject := object.get(input, ["principal", "sub"], "an anonymous caller")

reasons contains sprintf("%s is not in tenant %s", [subject, input.params.tenant]) if not member

reasons contains sprintf("%s lacks the support role", [subject]) if {
	input.route == "POST /tenants/{tenant}/refunds"
	not "support" in object.get(input, ["principal", "roles"], [])
}
