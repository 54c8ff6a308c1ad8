package analyzers_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pavedroad/paved/cmd/paved/analyzers"
)

func TestParseAllow(t *testing.T) {
	for _, c := range []struct {
		in     string
		ok     bool
		rules  []string
		reason string
		valid  bool
	}{
		{"//paved:allow PAV100 pprof listens on loopback only", true, []string{"PAV100"}, "pprof listens on loopback only", true},
		{"//paved:allow pav105,G404 shuffle order shown to no one", true, []string{"PAV105", "G404"}, "shuffle order shown to no one", true},
		{"//paved:allow\tPAV100\tthe reason is tabbed in", true, []string{"PAV100"}, "the reason is tabbed in", true},
		{"//paved:allow PAV100 todo", true, []string{"PAV100"}, "todo", false},
		{"//paved:allow PAV100 short", true, []string{"PAV100"}, "short", false},
		{"//paved:allow PAV100", true, []string{"PAV100"}, "", false},
		{"//paved:allow", true, nil, "", false},
		{"//paved:allow because it is fine here", true, nil, "it is fine here", false},
		{"//paved:allowed PAV100 x y z", false, nil, "", false},
		{"// paved:allow PAV100 not a directive with a space", false, nil, "", false},
		{"//nolint", false, nil, "", false},
	} {
		d, ok := analyzers.ParseAllow(c.in)
		if ok != c.ok || !slices.Equal(d.Rules, c.rules) || d.Reason != c.reason || d.Valid() != c.valid {
			t.Errorf("ParseAllow(%q) = %+v, %v (valid %v); want %q %q %v valid %v", c.in, d, ok, d.Valid(), c.rules, c.reason, c.ok, c.valid)
		}
	}
}

func TestReasonOK(t *testing.T) {
	for in, want := range map[string]bool{
		"": false, "x": false, "TODO": false, "tbd.": false, "n/a": false, "mesh sidecar": false,
		"a b c": false, "TLS ends at the mesh sidecar": true, "conformance admin": false,
	} {
		if got := analyzers.ReasonOK(in); got != want {
			t.Errorf("ReasonOK(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzParseAllow: any comment parses without panicking; a valid directive
// names only well-formed rule IDs and carries a reason ReasonOK accepts;
// parsing its own rendering gives it back.
func FuzzParseAllow(f *testing.F) {
	for _, s := range []string{"//paved:allow PAV100 a real reason here", "//paved:allow", "//paved:allow ,,, x", "//paved:allow G1,PAV2 \u00e9\u00e9\u00e9 \u00e9 \u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", "//paved:allow\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := analyzers.ParseAllow(s)
		if !ok {
			if d.Valid() {
				t.Fatal("not a directive but valid")
			}
			return
		}
		for _, r := range d.Rules {
			if r == "" || strings.ContainsFunc(r, func(c rune) bool { return c == ',' || c == ' ' }) {
				t.Fatalf("rule %q", r)
			}
		}
		if d.Valid() != (len(d.Rules) > 0 && analyzers.ReasonOK(d.Reason)) {
			t.Fatal("Valid disagrees with its definition")
		}
		if d.Valid() && utf8.ValidString(s) {
			again, ok := analyzers.ParseAllow(fmt.Sprintf("//paved:allow %s %s", strings.Join(d.Rules, ","), d.Reason))
			if !ok || !slices.Equal(again.Rules, d.Rules) || again.Reason != d.Reason {
				t.Fatalf("round trip %+v → %+v", d, again)
			}
		}
	})
}
