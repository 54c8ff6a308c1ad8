package quickstart.authz_test

import data.quickstart.authz

reader := {"sub": "quickstart-user", "roles": ["reader"]}

req(route, id, who) := {"method": "GET", "route": route, "params": {"id": id}, "principal": who}

test_owner_reads_own_document if {
	authz.decision == {"allow": true, "reasons": set()} with input as req("GET /docs/{id}", "1", reader)
}

test_reader_denied_others_document if {
	d := authz.decision with input as req("GET /docs/{id}", "2", reader)
	d == {"allow": false, "reasons": {"quickstart-user does not own document 2"}}
}

test_unknown_document_denied if {
	not authz.allow with input as req("GET /docs/{id}", "404", reader)
}

test_reader_cannot_delete if {
	d := authz.decision with input as req("DELETE /docs/{id}", "1", reader)
	d.reasons == {"no role of quickstart-user grants DELETE /docs/{id}"}
}

test_admin_deletes_any_document if {
	authz.allow with input as req("DELETE /docs/{id}", "2", {"sub": "root", "roles": ["admin"]})
}

test_anonymous_denied if {
	d := authz.decision with input as {"method": "GET", "route": "GET /docs/{id}", "params": {"id": "1"}}
	d == {"allow": false, "reasons": {"no role of an anonymous caller grants GET /docs/{id}"}}
}

test_no_roles_denied if {
	not authz.allow with input as req("GET /docs/{id}", "1", {"sub": "quickstart-user"})
}
