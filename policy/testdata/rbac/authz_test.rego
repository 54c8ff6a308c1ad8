package httpapi.authz_test

import data.httpapi.authz

test_admin_deletes if {
	authz.allow with input as {"route": "DELETE /docs/{id}", "principal": {"sub": "ann", "roles": ["admin"]}}
}

test_owner_reads if {
	authz.allow with input as {"route": "GET /docs/{id}", "principal": {"sub": "bob"}, "resource": {"owner": "bob"}}
}

test_stranger_denied if {
	not authz.allow with input as {"route": "PUT /docs/{id}", "principal": {"sub": "eve"}, "resource": {"owner": "bob"}}
}
