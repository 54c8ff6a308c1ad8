package analyzers_test

import (
	"fmt"

	"github.com/pavedroad/paved/cmd/paved/analyzers"
)

// A finding is suppressed only by a //paved:allow comment that names its
// rule and gives a reason of at least three words; one without a reason
// suppresses nothing and is itself a finding (PAV001).
func ExampleParseAllow() {
	for _, c := range []string{
		"//paved:allow PAV105 the ID is a display colour, not a credential",
		"//paved:allow G304,PAV104 ok",
		"// an ordinary comment",
	} {
		d, ok := analyzers.ParseAllow(c)
		if !ok {
			fmt.Println("not a directive")
			continue
		}
		fmt.Printf("rules %v, covers PAV105: %t, valid: %t, reason %q\n", d.Rules, d.Covers("PAV105"), d.Valid(), d.Reason)
	}
	// Output:
	// rules [PAV105], covers PAV105: true, valid: true, reason "the ID is a display colour, not a credential"
	// rules [G304 PAV104], covers PAV105: false, valid: false, reason "ok"
	// not a directive
}

// Every rule has a stable ID, a severity, a CWE and the fix shown beside
// the finding; the analyzers it belongs to are exported for other linters.
func ExampleRuleByID() {
	r, ok := analyzers.RuleByID("PAV104")
	fmt.Println(ok, r.ID, r.Name, r.Severity, r.CWE)
	fmt.Println(r.Fix)
	_, ok = analyzers.RuleByID("PAV999")
	fmt.Println(ok)
	// Output:
	// true PAV104 revealed high 532
	// pass the secrets.Secret itself (it redacts) or use the revealed value only where it is consumed
	// false
}

// ReasonOK is the test an opt-out's or a suppression's reason must pass.
func ExampleReasonOK() {
	for _, reason := range []string{"TLS ends at the mesh sidecar", "todo", "fix later"} {
		fmt.Printf("%q: %t\n", reason, analyzers.ReasonOK(reason))
	}
	// Output:
	// "TLS ends at the mesh sidecar": true
	// "todo": false
	// "fix later": false
}
