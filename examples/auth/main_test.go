package main

import (
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	want := `service (client credentials)  200 orders of paved-test-client
user with orders:read         200 orders of alice
user without the scope        403 insufficient_scope (Bearer error="insufficient_scope", error_description="insufficient_scope", scope="orders:read")
expired token                 401 expired (Bearer error="invalid_token", error_description="expired")
token for another API         401 wrong_audience (Bearer error="invalid_token", error_description="wrong_audience")
unsigned token (alg none)     401 alg_not_allowed (Bearer error="invalid_token", error_description="alg_not_allowed")
no token                      401 no_token (Bearer realm="api")
`
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
}
