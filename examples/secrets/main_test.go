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
	want := `injected: {User:orders Password:REDACTED}
level=INFO msg=connecting db="{User:orders Password:REDACTED}"
rotated to version 2
password is now REDACTED and its value is the new one: true
transit: ciphertext of key version 1, decrypts to "card 4111"
readiness: <nil>
`
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Error("a password leaked into the output")
	}
}
