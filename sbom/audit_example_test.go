package sbom_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/pavedroad/paved"
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

// At start-up a service audits its own build info; the gate refuses to
// start on findings at or above FailOn (high by default; the Go database's
// unscored records rank as high), unless AllowVulnerableStart says why it
// may.
func ExampleAuditSelf() {
	b, _ := sbom.FromBuildInfo(&debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "example.com/app", Version: "(devel)"},
		Deps:      []*debug.Module{{Path: "golang.org/x/text", Version: "v0.3.7"}},
	})
	var posture paved.Posture
	_, err := sbom.AuditSelf(context.Background(), sbom.AuditConfig{
		DB:      "testdata/vulndb/osv", // in production: a database shipped with the image
		Build:   b,                     // in production: nil, the running binary
		Posture: &posture,
		Logger:  slog.New(slog.DiscardHandler),
	})
	fmt.Println(errors.Is(err, sbom.ErrVulnerable))
	for _, c := range posture.Report().Controls {
		fmt.Println(c.Name, c.Enabled)
	}
	// Output:
	// true
	// vulnerability-audit false
	// vulnerability-gate true
	// vulnerability:GO-2022-1059 false
	// vulnerability:GO-2026-5970 false
	// vulnerability:GO-2026-6629 false
}
