package sbom

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// vexDocument wraps statements in an OpenVEX v0.2.0 document.
func vexDocument(statements ...string) []byte {
	return []byte(`{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "sec",
  "timestamp": "2026-11-30T10:00:00Z", "version": 1, "statements": [` + strings.Join(statements, ",") + `]}`)
}

func TestVEXSuppressesExactlyWhatItNames(t *testing.T) {
	db := openFixture(t)
	b := auditBuild(t, "go1.26.0", "linux", "golang.org/x/text@v0.3.7")
	all := findingKeys(db.Audit(b, AuditOptions{}).Findings)
	if len(all) != 5 {
		t.Fatalf("baseline findings %q, want 5 (3 x/text, 2 stdlib)", all)
	}
	notAffected := `"status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"`
	tests := []struct {
		name       string
		statements []string
		suppressed []string // IDs
	}{
		{"by ID, product is the module with its version", []string{
			`{"vulnerability": {"name": "GO-2022-1059"}, "products": [{"@id": "pkg:golang/golang.org/x/text@v0.3.7"}], ` + notAffected + `}`,
		}, []string{"GO-2022-1059"}},
		{"by CVE alias, product is the app with the module as subcomponent", []string{
			`{"vulnerability": {"name": "CVE-2022-32149"}, "products": [{"@id": "pkg:golang/example.com/app", "subcomponents": [{"@id": "pkg:golang/golang.org/x/text"}]}], ` + notAffected + `}`,
		}, []string{"GO-2022-1059"}},
		{"product by purl identifier", []string{
			`{"vulnerability": {"@id": "https://pkg.go.dev/vuln/GO-2026-4601", "name": "GO-2026-4601"}, "products": [{"identifiers": {"purl": "pkg:golang/example.com/app"}}], ` + notAffected + `}`,
		}, []string{"GO-2026-4601"}},
		{"statement aliases", []string{
			`{"vulnerability": {"name": "my-id", "aliases": ["GHSA-69ch-w2m2-3vjp"]}, "products": [{"@id": "pkg:golang/golang.org/x/text"}], ` + notAffected + `}`,
		}, []string{"GO-2022-1059"}},
		{"v0.0.x form: bare names", []string{
			`{"vulnerability": "GO-2026-5970", "products": ["pkg:golang/example.com/app"], "subcomponents": ["pkg:golang/golang.org/x/text@v0.3.7"], ` + notAffected + `}`,
		}, []string{"GO-2026-5970"}},
		{"other version of the module", []string{
			`{"vulnerability": {"name": "GO-2022-1059"}, "products": [{"@id": "pkg:golang/golang.org/x/text@v0.3.6"}], ` + notAffected + `}`,
		}, nil},
		{"subcomponent is another module", []string{
			`{"vulnerability": {"name": "GO-2022-1059"}, "products": [{"@id": "pkg:golang/example.com/app", "subcomponents": [{"@id": "pkg:golang/golang.org/x/net"}]}], ` + notAffected + `}`,
		}, nil},
		{"the module as product, limited to another subcomponent", []string{
			`{"vulnerability": {"name": "GO-2022-1059"}, "products": [{"@id": "pkg:golang/golang.org/x/text", "subcomponents": [{"@id": "pkg:golang/golang.org/x/net"}]}], ` + notAffected + `}`,
		}, nil},
		{"another product", []string{
			`{"vulnerability": {"name": "GO-2022-1059"}, "products": [{"@id": "pkg:golang/example.com/other"}], ` + notAffected + `}`,
		}, nil},
		{"affected does not suppress", []string{
			`{"vulnerability": {"name": "GO-2022-1059"}, "products": [{"@id": "pkg:golang/example.com/app"}], "status": "affected"}`,
		}, nil},
		{"a later affected statement overrides", []string{
			`{"vulnerability": {"name": "GO-2022-1059"}, "timestamp": "2026-11-01T00:00:00Z", "products": [{"@id": "pkg:golang/example.com/app"}], ` + notAffected + `}`,
			`{"vulnerability": {"name": "GO-2022-1059"}, "timestamp": "2026-11-02T00:00:00Z", "products": [{"@id": "pkg:golang/example.com/app"}], "status": "under_investigation"}`,
		}, nil},
		{"a later not_affected statement overrides", []string{
			`{"vulnerability": {"name": "GO-2022-1059"}, "timestamp": "2026-11-02T00:00:00Z", "products": [{"@id": "pkg:golang/example.com/app"}], ` + notAffected + `}`,
			`{"vulnerability": {"name": "GO-2022-1059"}, "timestamp": "2026-11-01T00:00:00Z", "products": [{"@id": "pkg:golang/example.com/app"}], "status": "affected"}`,
		}, []string{"GO-2022-1059"}},
		{"same time: affected beats not_affected, whatever the order", []string{
			`{"vulnerability": {"name": "GO-2022-1059"}, "products": [{"@id": "pkg:golang/example.com/app"}], "status": "affected"}`,
			`{"vulnerability": {"name": "GO-2022-1059"}, "products": [{"@id": "pkg:golang/example.com/app"}], ` + notAffected + `}`,
		}, nil},
		{"same time: under_investigation beats not_affected", []string{
			`{"vulnerability": {"name": "GO-2022-1059"}, "products": [{"@id": "pkg:golang/golang.org/x/text"}], ` + notAffected + `}`,
			`{"vulnerability": {"name": "GO-2022-1059"}, "products": [{"@id": "pkg:golang/example.com/app"}], "status": "under_investigation"}`,
		}, nil},
		{"without justification: skipped", []string{
			`{"vulnerability": {"name": "GO-2022-1059"}, "products": [{"@id": "pkg:golang/example.com/app"}], "status": "not_affected", "impact_statement": "trust me"}`,
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ParseVEX(vexDocument(tt.statements...))
			if err != nil {
				t.Fatal(err)
			}
			r := db.Audit(b, AuditOptions{VEX: []*VEX{v}})
			var got []string
			for _, f := range r.Suppressed {
				got = append(got, f.ID)
				if f.Suppression == nil || f.Suppression.Justification != "vulnerable_code_not_in_execute_path" || f.Suppression.Document != "https://example.com/vex/1" {
					t.Errorf("suppression %+v", f.Suppression)
				}
			}
			if !slices.Equal(got, tt.suppressed) {
				t.Errorf("suppressed %q, want %q", got, tt.suppressed)
			}
			if len(r.Findings)+len(r.Suppressed) != len(all) {
				t.Errorf("%d findings + %d suppressed, want %d in all", len(r.Findings), len(r.Suppressed), len(all))
			}
		})
	}
}

func TestParseVEXBadInput(t *testing.T) {
	for _, tt := range []struct {
		name string
		doc  string
	}{
		{"not JSON", `{"@context": `},
		{"not OpenVEX", `{"@context": "https://cyclonedx.org", "statements": []}`},
		{"bad document time", `{"@context": "https://openvex.dev/ns/v0.2.0", "timestamp": "yesterday"}`},
		{"statements not an array", `{"@context": "https://openvex.dev/ns/v0.2.0", "statements": {}}`},
	} {
		if _, err := ParseVEX([]byte(tt.doc)); !errors.Is(err, ErrVEX) {
			t.Errorf("%s: %v, want ErrVEX", tt.name, err)
		}
	}

	v, err := ParseVEX(vexDocument(
		`"just a string"`,
		`{"products": [{"@id": "p"}], "status": "affected"}`,
		`{"vulnerability": {"name": "X"}, "status": "affected"}`,
		`{"vulnerability": {"name": "X"}, "products": [{}], "status": "affected"}`,
		`{"vulnerability": {"name": "X"}, "products": [{"@id": "p"}], "status": "mostly_fine"}`,
		`{"vulnerability": {"name": "X"}, "products": [{"@id": "p"}], "status": "not_affected", "justification": "we_said_so"}`,
		`{"vulnerability": {"name": "X"}, "products": [{"@id": "p"}], "status": "affected", "timestamp": "soon"}`,
		`{"vulnerability": 42, "products": [{"@id": "p"}], "status": "affected"}`,
		`{"vulnerability": {"name": "X"}, "products": [{"@id": "p", "subcomponents": [7]}], "status": "affected"}`,
		`{"vulnerability": {"name": "GO-1"}, "products": [{"@id": "p"}], "status": "fixed"}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	if v.Skipped != 9 || len(v.Statements) != 1 || len(v.Warnings) != 9 {
		t.Errorf("skipped %d, kept %d, warnings %q; want 9 skipped, 1 kept", v.Skipped, len(v.Statements), v.Warnings)
	}
}

func TestPURLMatches(t *testing.T) {
	for _, tt := range []struct {
		id, path, version string
		want              bool
	}{
		{"pkg:golang/golang.org/x/text", "golang.org/x/text", "v0.3.7", true},
		{"pkg:golang/golang.org/x/text@v0.3.7", "golang.org/x/text", "v0.3.7", true},
		{"pkg:golang/golang.org/x/text@v0.3.7?type=module", "golang.org/x/text", "v0.3.7", true},
		{"pkg:golang/golang.org%2Fx%2Ftext@v0.3.7", "golang.org/x/text", "v0.3.7", true},
		{"pkg:golang/golang.org/x/text@v0.3.8", "golang.org/x/text", "v0.3.7", false},
		{"pkg:golang/golang.org/x/text/language", "golang.org/x/text", "v0.3.7", false},
		{"pkg:npm/golang.org/x/text", "golang.org/x/text", "v0.3.7", false},
		{"pkg:golang/%zz", "golang.org/x/text", "", false},
		{"pkg:golang/example.com/app@v1.0.0", "example.com/app", "(devel)", false},
	} {
		if got := purlMatches(tt.id, tt.path, tt.version); got != tt.want {
			t.Errorf("purlMatches(%q, %q, %q) = %v", tt.id, tt.path, tt.version, got)
		}
	}
}

// FuzzParseVEX: any bytes, no panic; whatever parses can be applied.
func FuzzParseVEX(f *testing.F) {
	f.Add(vexDocument(`{"vulnerability": {"name": "GO-2022-1059"}, "products": [{"@id": "pkg:golang/example.com/app", "subcomponents": [{"@id": "pkg:golang/golang.org/x/text"}]}], "status": "not_affected", "justification": "component_not_present"}`))
	f.Add(vexDocument(`{"vulnerability": "CVE-1", "products": ["pkg:golang/a@v1"], "subcomponents": ["x"], "status": "fixed"}`))
	b := &Build{Main: Module{Path: "example.com/app", Version: "(devel)"}, Command: "example.com/app"}
	finding := Finding{ID: "GO-2022-1059", Aliases: []string{"CVE-2022-32149"}, Module: "golang.org/x/text", Version: "v0.3.7"}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseVEX(data)
		if err != nil {
			return
		}
		if s := suppression([]*VEX{v}, b, finding); s != nil && s.Justification == "" {
			t.Fatalf("suppression without a justification: %+v", s)
		}
	})
}
