# The quickstart's authorization policy: role-based access to routes, and
# owner-only access to documents. package policy asks for
# data.quickstart.authz.decision with the input its middleware builds:
# method, route ("GET /docs/{id}"), params, client_ip, time and the caller
# (principal: sub, roles, scopes...).
package quickstart.authz

# The routes each role may call, and the routes only a document's owner may
# call (data.json).
roles := data.quickstart.roles

owner_only := data.quickstart.owner_only

documents := data.quickstart.documents

default allow := false

allow if {
	granted
	not input.route in owner_only
}

allow if {
	granted
	input.route in owner_only
	is_owner
}

granted if {
	some role in input.principal.roles
	input.route in roles[role]
}

is_owner if documents[input.params.id].owner == input.principal.sub

subject := object.get(input, ["principal", "sub"], "an anonymous caller")

reasons contains sprintf("no role of %s grants %s", [subject, input.route]) if not granted

reasons contains sprintf("%s does not own document %s", [subject, input.params.id]) if {
	granted
	input.route in owner_only
	not is_owner
}

decision := {"allow": allow, "reasons": reasons}
