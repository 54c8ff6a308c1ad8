# The quickstart's authorization policy: role-based access to routes, and
# owner-only access to documents. package policy asks for
# data.quickstart.authz.decision with the input its middleware builds:
# method, route ("GET /docs/{id}"), params, client_ip, time and the caller
# (principal: sub, roles, scopes...).
package quickstart.authz

# The routes each role may call, and the routes only a document's owner may
# call (data.json), as objects whose keys are routes: a look-up, not a scan.
roles := data.quickstart.roles

owner_only := data.quickstart.owner_only

documents := data.quickstart.documents

# The decision: allowed, or denied with the reasons why. The reasons are
# only worked out for a denial.
decision := {"allow": true, "reasons": set()} if allow

decision := {"allow": false, "reasons": reasons} if not allow

default allow := false

allow if {
	granted
	not owner_only[input.route]
}

allow if {
	granted
	owner_only[input.route]
	is_owner
}

granted if {
	some role in input.principal.roles
	roles[role][input.route]
}

is_owner if documents[input.params.id].owner == input.principal.sub

subject := object.get(input, ["principal", "sub"], "an anonymous caller")

reasons contains sprintf("no role of %s grants %s", [subject, input.route]) if not granted

reasons contains sprintf("%s does not own document %s", [subject, input.params.id]) if {
	granted
	owner_only[input.route]
	not is_owner
}
