package sbom_test

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/pavedroad/paved/sbom"
)

// A module-level audit of a build against a local database, with one
// finding suppressed by an OpenVEX statement that says why.
func ExampleVulnDB_Audit() {
	db, err := sbom.OpenVulnDB("testdata/vulndb/osv")
	if err != nil {
		panic(err)
	}
	b, _ := sbom.FromBuildInfo(&debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "example.com/app", Version: "(devel)"},
		Deps:      []*debug.Module{{Path: "golang.org/x/text", Version: "v0.3.7"}},
		Settings:  []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"}},
	})
	vex, err := sbom.ReadVEX(strings.NewReader(`{
	  "@context": "https://openvex.dev/ns/v0.2.0",
	  "@id": "https://example.com/vex/app-1",
	  "statements": [{
	    "vulnerability": {"name": "CVE-2022-32149"},
	    "products": [{"@id": "pkg:golang/example.com/app"}],
	    "status": "not_affected",
	    "justification": "vulnerable_code_not_in_execute_path",
	    "impact_statement": "ParseAcceptLanguage is never called"
	  }]}`))
	if err != nil {
		panic(err)
	}
	r := db.Audit(b, sbom.AuditOptions{VEX: []*sbom.VEX{vex}})
	for _, f := range r.Findings {
		fmt.Println(f, "fixed in", f.FixedVersion)
	}
	for _, f := range r.Suppressed {
		fmt.Println("suppressed:", f.ID, f.Suppression.Reason())
	}
	// Output:
	// GO-2026-5970 golang.org/x/text@v0.3.7 (unknown) fixed in v0.39.0
	// GO-2026-6629 golang.org/x/text@v0.3.7 (unknown) fixed in v0.41.0
	// suppressed: GO-2022-1059 not_affected (vulnerable_code_not_in_execute_path): ParseAcceptLanguage is never called [VEX https://example.com/vex/app-1]
}
