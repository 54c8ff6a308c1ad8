package main

import (
	"strings"
	"testing"

	"github.com/pavedroad/paved/cmd/paved/analyzers"
)

// FuzzReadBaseline: any input is read or refused without panicking; an
// accepted baseline has only well-formed fingerprints with real reasons.
func FuzzReadBaseline(f *testing.F) {
	f.Add(`{"accepted": [{"fingerprint": "github-pat:a/b.go:6f8bc07a404236927b38048b566d5d2c", "reason": "a fixture, never issued by anyone"}]}`)
	f.Add(`{"accepted": [{"fingerprint": "x:y:z", "reason": ""}]}`)
	f.Add(`{"accepted": null}`)
	f.Add(`{"accepted": [], "extra": 1}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		b, err := readBaseline(strings.NewReader(s))
		if err != nil {
			if b != nil {
				t.Fatal("error with a baseline")
			}
			return
		}
		for _, a := range b.Accepted {
			if !analyzers.ReasonOK(a.Reason) || strings.Count(a.Fingerprint, ":") < 2 || !b.accepts(finding{Fingerprint: a.Fingerprint}) {
				t.Fatalf("accepted %+v", a)
			}
		}
	})
}

func TestReadBaseline(t *testing.T) {
	for _, c := range []struct {
		in, err string
	}{
		{`{"accepted": [{"fingerprint": "r:f.go:6f8bc07a404236927b38048b566d5d2c", "reason": "fixture token, never issued anywhere"}]}`, ""},
		{`{"accepted": [{"fingerprint": "r:f.go:6f8bc07a404236927b38048b566d5d2c", "reason": "todo"}]}`, `baseline entry 1 (r:f.go:6f8bc07a404236927b38048b566d5d2c): reason "todo" does not say why it is accepted`},
		{`{"accepted": [{"fingerprint": "r:f.go", "reason": "fixture token, never issued anywhere"}]}`, `baseline entry 1: fingerprint "r:f.go" is not RULE:FILE:HASH`},
		{`{"accepted": [], "ignored": []}`, `baseline: json: unknown field "ignored"`},
	} {
		_, err := readBaseline(strings.NewReader(c.in))
		if (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) {
			t.Errorf("readBaseline(%s) = %v, want %q", c.in, err, c.err)
		}
	}
}
