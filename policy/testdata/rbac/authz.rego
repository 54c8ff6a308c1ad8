# RBAC on routes, plus owner-only access to a document: the example policy
# of the policy package's tests and benchmarks, modelled on the quickstart's (the
# sidecar comparison, BenchmarkQuickstartVsSidecar, uses the quickstart's own).
package httpapi.authz

default allow := false

# A role grants "METHOD pattern" routes (data.rbac.roles).
allow if {
	some role in input.principal.roles
	input.route in data.rbac.roles[role]
}

# The owner of a document may read and change it, whatever their roles.
allow if {
	input.route in {"GET /docs/{id}", "PUT /docs/{id}"}
	input.principal.sub != ""
	input.resource.owner == input.principal.sub
}

reasons contains "not authenticated" if not input.principal.sub

reasons contains msg if {
	not allow
	input.principal.sub
	msg := sprintf("no role of %s grants %s", [input.principal.sub, input.route])
}

decision := {"allow": allow, "reasons": reasons}
