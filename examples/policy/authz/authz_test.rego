package orders.authz_test

import data.orders.authz

test_member_reads if {
	authz.allow with input as {"route": "GET /tenants/{tenant}/orders", "params": {"tenant": "acme"}, "principal": {"sub": "ann", "groups": ["tenant:acme"]}}
}

test_other_tenant_denied if {
	not authz.allow with input as {"route": "GET /tenants/{tenant}/orders", "params": {"tenant": "globex"}, "principal": {"sub": "ann", "groups": ["tenant:acme"]}}
}

test_refund_needs_support if {
	d := authz.decision with input as {"route": "POST /tenants/{tenant}/refunds", "params": {"tenant": "acme"}, "principal": {"sub": "ann", "groups": ["tenant:acme"]}}
	d.reasons == {"ann lacks the support role"}
}
