package service.authz_test

import data.service.authz

test_reader_lists_orders if authz.allow with input as {"route": "GET /v1/orders", "principal": {"sub": "u", "roles": ["reader"]}}

test_reader_cannot_delete if not authz.allow with input as {"route": "DELETE /v1/orders/{id}", "principal": {"sub": "u", "roles": ["reader"]}}
