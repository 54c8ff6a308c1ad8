package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/spdxlib"
	"github.com/spdx/tools-golang/tagvalue"
)

func mustBuild(t testing.TB, text string) *Build {
	t.Helper()
	bi, err := parseBuildInfo(text)
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromBuildInfo(bi)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseBuildInfo is debug.ParseBuildInfo, which leaves GoVersion unset,
// plus the "go" line.
func parseBuildInfo(text string) (*debug.BuildInfo, error) {
	bi, err := debug.ParseBuildInfo(text)
	if err != nil {
		return nil, err
	}
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(line, "go\t"); ok {
			bi.GoVersion = strings.TrimSpace(v)
		}
	}
	return bi, nil
}

// synthetic returns a build of n modules, every tenth replaced by another
// version and every 25th by a local directory.
func synthetic(t testing.TB, n int) *Build {
	t.Helper()
	return mustBuild(t, syntheticText(n))
}

func syntheticText(n int) string {
	var s strings.Builder
	s.WriteString("go\tgo1.25.5\npath\texample.com/big/cmd/big\nmod\texample.com/big\tv1.0.0\th1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	for i := range n {
		fmt.Fprintf(&s, "dep\texample.com/mod%03d\tv1.%d.0\th1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", i, i)
		switch {
		case i%25 == 0:
			fmt.Fprintf(&s, "=>\t../mod%03d\t(devel)\t\n", i)
		case i%10 == 0:
			fmt.Fprintf(&s, "=>\texample.com/fork%03d\tv2.0.0\th1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", i)
		}
	}
	s.WriteString("build\t-buildmode=exe\nbuild\tGOOS=linux\nbuild\tGOARCH=amd64\nbuild\tvcs=git\nbuild\tvcs.revision=0123456789abcdef0123456789abcdef01234567\nbuild\tvcs.time=2026-11-30T12:00:00Z\nbuild\tvcs.modified=false\n")
	return s.String()
}

func TestSPDXContent(t *testing.T) {
	b := mustBuild(t, testBuildInfoText)
	doc, err := b.SPDX(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.CreationInfo.Created; got != "2026-11-30T12:00:00Z" {
		t.Errorf("created = %q, want the commit time", got)
	}
	if !strings.HasPrefix(doc.DocumentNamespace, "https://spdx.org/spdxdocs/example.com-app-") {
		t.Errorf("namespace = %q", doc.DocumentNamespace)
	}
	pkgs := map[string]*v2_3.Package{}
	for _, p := range doc.Packages {
		pkgs[p.PackageName] = p
	}
	main := pkgs["example.com/app"]
	if main == nil || main.PackageVersion != "v1.2.3" || main.PrimaryPackagePurpose != "APPLICATION" ||
		main.PackageLicenseDeclared != "NOASSERTION" || main.PackageLicenseConcluded != "NOASSERTION" ||
		!strings.Contains(main.PackageSourceInfo, "revision 0123456789abcdef0123456789abcdef01234567 committed 2026-11-30T12:00:00Z, with uncommitted changes") ||
		!strings.Contains(main.PackageComment, "Go toolchain: go1.25.5") ||
		!strings.Contains(main.PackageComment, `build setting: -ldflags=-X main.version=1.2.3`) ||
		main.PackageExternalReferences[0].Locator != "pkg:golang/example.com/app@v1.2.3" {
		t.Errorf("main package = %+v", main)
	}
	tests := []struct {
		name, version, purl, sha, sourceInfo string
	}{
		{"github.com/cespare/xxhash/v2", "v2.3.0", "pkg:golang/github.com/cespare/xxhash/v2@v2.3.0", "50bf35e7153d4aab059626f3ba08338d786883b6cbea85fd05b3599cbd9416fb", ""},
		{"golang.org/x/text", "v0.29.0", "pkg:golang/golang.org/x/text@v0.29.0", "d6778db3dd30f58cc9f41a1cc5fb103472ae013e299208725dce27859eac26f9", "replaced: golang.org/x/text@v0.14.0 => golang.org/x/text@v0.29.0 (go.mod replace directive)"},
		{"example.com/fork", "", "", "", "replaced: example.com/fork@v1.0.0 => local directory ./fork (go.mod replace directive)"},
		{"stdlib", "go1.25.5", "pkg:golang/stdlib@go1.25.5", "", ""},
	}
	for _, tt := range tests {
		p := pkgs[tt.name]
		if p == nil {
			t.Errorf("no package %s", tt.name)
			continue
		}
		var purl, sha string
		if len(p.PackageExternalReferences) > 0 {
			purl = p.PackageExternalReferences[0].Locator
		}
		if len(p.PackageChecksums) > 0 && p.PackageChecksums[0].Algorithm == common.SHA256 {
			sha = p.PackageChecksums[0].Value
		}
		if p.PackageVersion != tt.version || purl != tt.purl || sha != tt.sha || p.PackageSourceInfo != tt.sourceInfo {
			t.Errorf("%s: version %q purl %q sha %q source %q; want %q %q %q %q", tt.name, p.PackageVersion, purl, sha, p.PackageSourceInfo, tt.version, tt.purl, tt.sha, tt.sourceInfo)
		}
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		t.Errorf("tools-golang's own check: %v", err)
	}
	var describes, dependsOn int
	for _, r := range doc.Relationships {
		switch r.Relationship {
		case "DESCRIBES":
			describes++
		case "DEPENDS_ON":
			dependsOn++
		}
	}
	if describes != 1 || dependsOn != len(doc.Packages)-1 {
		t.Errorf("%d DESCRIBES, %d DEPENDS_ON for %d packages", describes, dependsOn, len(doc.Packages))
	}
}

func TestCycloneDXContent(t *testing.T) {
	b := mustBuild(t, testBuildInfoText)
	bom, err := b.CycloneDX(Options{License: "Apache-2.0"})
	if err != nil {
		t.Fatal(err)
	}
	if bom.JSONSchema != "http://cyclonedx.org/schema/bom-1.6.schema.json" || bom.SpecVersion != cdx.SpecVersion1_6 {
		t.Errorf("$schema %q, specVersion %s", bom.JSONSchema, bom.SpecVersion)
	}
	m := bom.Metadata.Component
	if m.Name != "example.com/app" || m.Type != cdx.ComponentTypeApplication || m.PackageURL != "pkg:golang/example.com/app@v1.2.3" ||
		(*m.Licenses)[0].Expression != "Apache-2.0" || m.Modified == nil || !*m.Modified ||
		(*m.Pedigree.Commits)[0].UID != "0123456789abcdef0123456789abcdef01234567" || bom.Metadata.Timestamp != "2026-11-30T12:00:00Z" {
		t.Errorf("metadata.component = %+v", m)
	}
	props := map[string]string{}
	for _, p := range *m.Properties {
		props[p.Name] = p.Value
	}
	if props["paved:go:toolchain"] != "go1.25.5" || props["paved:go:build:GOOS"] != "linux" || props["paved:go:build:vcs.modified"] != "true" {
		t.Errorf("properties = %v", props)
	}
	comps := map[string]cdx.Component{}
	for _, c := range *bom.Components {
		comps[c.Name] = c
	}
	text := comps["golang.org/x/text"]
	if text.Version != "v0.29.0" || text.Pedigree == nil || (*text.Pedigree.Ancestors)[0].Version != "v0.14.0" ||
		(*text.Pedigree.Ancestors)[0].PackageURL != "pkg:golang/golang.org/x/text@v0.14.0" || (*text.Hashes)[0].Value != "d6778db3dd30f58cc9f41a1cc5fb103472ae013e299208725dce27859eac26f9" {
		t.Errorf("x/text = %+v", text)
	}
	fork := comps["example.com/fork"]
	if fork.PackageURL != "" || fork.Version != "" || fork.Description != "local directory ./fork" || fork.Pedigree == nil {
		t.Errorf("fork = %+v", fork)
	}
	deps := *bom.Dependencies
	if deps[0].Ref != m.BOMRef || len(*deps[0].Dependencies) != len(*bom.Components) {
		t.Errorf("dependencies[0] = %+v", deps[0])
	}
}

// One build always yields the same bytes; a different one different
// identifiers.
func TestDeterministic(t *testing.T) {
	gen := func(b *Build) [][]byte {
		s, err := b.SPDXJSON(Options{})
		if err != nil {
			t.Fatal(err)
		}
		tv, err := b.SPDXTagValue(Options{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := b.CycloneDXJSON(Options{})
		if err != nil {
			t.Fatal(err)
		}
		return [][]byte{s, tv, c}
	}
	a, b := gen(synthetic(t, 300)), gen(synthetic(t, 300))
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("document %d differs between two runs", i)
		}
	}
	other := gen(synthetic(t, 299))
	var d1, d2 struct {
		NS     string `json:"documentNamespace"`
		Serial string `json:"serialNumber"`
	}
	_ = json.Unmarshal(a[0], &d1)
	_ = json.Unmarshal(other[0], &d2)
	if d1.NS == d2.NS {
		t.Errorf("two builds share the namespace %s", d1.NS)
	}
	_ = json.Unmarshal(a[2], &d1)
	_ = json.Unmarshal(other[2], &d2)
	if d1.Serial == d2.Serial || !strings.HasPrefix(d1.Serial, "urn:uuid:") {
		t.Errorf("serial numbers %s, %s", d1.Serial, d2.Serial)
	}
}

func TestTagValueRoundTrip(t *testing.T) {
	b := mustBuild(t, testBuildInfoText)
	tv, err := b.SPDXTagValue(Options{License: "MIT"})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := tagvalue.Read(bytes.NewReader(tv))
	if err != nil {
		t.Fatalf("tools-golang cannot read our tag-value: %v", err)
	}
	if err := ValidateSPDX(doc); err != nil {
		t.Errorf("read back: %v", err)
	}
	var main *v2_3.Package
	for _, p := range doc.Packages {
		if p.PackageSPDXIdentifier == spdxMainID {
			main = p
		}
	}
	if len(doc.Packages) != 5 || main == nil || main.PackageLicenseDeclared != "MIT" || main.PackageVersion != "v1.2.3" {
		t.Errorf("read back %d packages, main %+v", len(doc.Packages), main)
	}
}

func TestLicense(t *testing.T) {
	defer func(old string) { License = old }(License)
	tests := []struct {
		name     string
		ldflags  string
		opts     Options
		declared string
		text     bool
	}{
		{"undeclared", "", Options{}, "NOASSERTION", false},
		{"ldflags variable", "Apache-2.0", Options{}, "Apache-2.0", false},
		{"option over variable", "Apache-2.0", Options{License: "MIT"}, "MIT", false},
		{"file with SPDX tag", "", Options{LicenseFile: []byte("// SPDX-License-Identifier: BSD-3-Clause\n\nCopyright...")}, "BSD-3-Clause", false},
		{"file without tag", "", Options{LicenseFile: []byte("All rights reserved.\n")}, "LicenseRef-main-module", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			License = tt.ldflags
			doc, err := mustBuild(t, testBuildInfoText).SPDX(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.Packages[0].PackageLicenseDeclared; got != tt.declared {
				t.Errorf("licenseDeclared = %q, want %q", got, tt.declared)
			}
			if got := len(doc.OtherLicenses) == 1 && doc.OtherLicenses[0].ExtractedText == string(tt.opts.LicenseFile); got != tt.text {
				t.Errorf("extracted text present = %v, want %v", got, tt.text)
			}
			for _, p := range doc.Packages[1:] {
				if p.PackageLicenseDeclared != "NOASSERTION" || p.PackageLicenseConcluded != "NOASSERTION" {
					t.Errorf("%s: a dependency's license was guessed: %q/%q", p.PackageName, p.PackageLicenseDeclared, p.PackageLicenseConcluded)
				}
			}
		})
	}
}

// The reader's own License variable never describes a binary read from a
// file; that binary's own -X flag, recorded in its -ldflags setting, does.
func TestLicenseOfAnotherBinary(t *testing.T) {
	defer func(old string) { License = old }(License)
	License = "Apache-2.0" // as if paved itself were built with -X ...sbom.License=Apache-2.0
	tests := []struct {
		name, ldflags, want string
	}{
		{"no -ldflags", "", "NOASSERTION"},
		{"other flags", "-s -w -X main.version=1.2.3", "NOASSERTION"},
		{"quoted expression", `-s -X 'github.com/pavedroad/paved/sbom.License=MIT OR Apache-2.0'`, "MIT OR Apache-2.0"},
		{"double quotes", `-X "github.com/pavedroad/paved/sbom.License=BSD-3-Clause" -w`, "BSD-3-Clause"},
		{"-X=", `-X=github.com/pavedroad/paved/sbom.License=MIT`, "MIT"},
		{"the last one wins", `-X github.com/pavedroad/paved/sbom.License=MIT --X github.com/pavedroad/paved/sbom.License=ISC`, "ISC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustBuild(t, testBuildInfoText)
			// The fixture's -ldflags setting ("-X main.version=1.2.3") is
			// replaced, or dropped.
			b.Settings = slices.DeleteFunc(slices.Clone(b.Settings), func(s debug.BuildSetting) bool { return s.Key == "-ldflags" })
			if tt.ldflags != "" {
				b.Settings = append(b.Settings, debug.BuildSetting{Key: "-ldflags", Value: tt.ldflags})
			}
			b.Path = "/usr/local/bin/other" // read from a file
			doc, err := b.SPDX(Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.Packages[0].PackageLicenseDeclared; got != tt.want {
				t.Errorf("licenseDeclared = %q, want %q", got, tt.want)
			}
		})
	}
	// The running binary's variable still applies to a build not read from a file.
	doc, err := mustBuild(t, testBuildInfoText).SPDX(Options{})
	if err != nil || doc.Packages[0].PackageLicenseDeclared != "Apache-2.0" {
		t.Errorf("running binary: %v, %v", doc, err)
	}
}
