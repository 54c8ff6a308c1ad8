package sbom

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/tagvalue"
)

// SPDX media types, as served by [NewHandler].
const (
	MediaTypeSPDXJSON     = "application/spdx+json"
	MediaTypeSPDXTagValue = "text/spdx"
)

// spdxMainID is the SPDX identifier of the main module's package.
const spdxMainID = "Package-main"

// SPDX returns the build as an SPDX 2.3 document: one package for the main
// module (primary purpose APPLICATION, with its VCS state, toolchain and
// build settings), one for each linked module (the replacement, when a
// replace directive applied, with the replaced module named in its
// source info), and one for the Go standard library; the document
// DESCRIBES the main package, which DEPENDS_ON every other. Build info
// records no dependency graph, so the dependencies are flat.
//
// Every module carries its version, its pkg:golang purl and, when the
// build info has it, its h1: hash as a SHA256 checksum. Licenses other
// than the declared main-module license are NOASSERTION. The document is
// checked with [ValidateSPDX] before it is returned.
func (b *Build) SPDX(o Options) (*v2_3.Document, error) {
	d := b.digest(o)
	name := b.mainName()
	lic := b.license(o)
	doc := &v2_3.Document{
		SPDXVersion:       v2_3.Version,
		DataLicense:       v2_3.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      name,
		DocumentNamespace: "https://spdx.org/spdxdocs/" + spdxIDPart(name) + "-" + uuid(d),
		CreationInfo: &v2_3.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: toolName}},
			Created:  b.created(o).Format(time.RFC3339),
			CreatorComment: "Generated from the Go build info embedded in the binary " +
				"(what `go version -m` prints); the dependency list is flat because build info records no graph.",
		},
	}
	ids := make(map[string]bool)
	newID := func(base string) common.ElementID {
		id := "Package-" + spdxIDPart(base)
		for i := 2; ids[id]; i++ {
			id = "Package-" + spdxIDPart(base) + "-" + strconv.Itoa(i)
		}
		ids[id] = true
		return common.ElementID(id)
	}
	ids[spdxMainID] = true

	main := &v2_3.Package{
		PackageName:             name,
		PackageSPDXIdentifier:   spdxMainID,
		PackageVersion:          b.Main.Version,
		PackageDownloadLocation: noAssertion,
		FilesAnalyzed:           false,
		PackageLicenseConcluded: noAssertion,
		PackageLicenseDeclared:  noAssertion,
		PackageCopyrightText:    noAssertion,
		PackageSourceInfo:       b.sourceInfo(),
		PrimaryPackagePurpose:   "APPLICATION",
		PackageComment:          b.settingsComment(),
	}
	if lic.expr != "" {
		main.PackageLicenseDeclared = lic.expr
	}
	if lic.text != "" {
		doc.OtherLicenses = []*v2_3.OtherLicense{{
			LicenseIdentifier: mainLicenseRef,
			LicenseName:       "main module license file",
			ExtractedText:     lic.text,
			LicenseComment:    "The main module's license file as embedded at build time; not matched against known licenses.",
		}}
	}
	if p := b.Main.PURL(); p != "" {
		main.PackageExternalReferences = []*v2_3.PackageExternalReference{purlRef(p)}
	}
	if sha, ok := b.Main.SHA256(); ok {
		main.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: sha}}
	}
	doc.Packages = append(doc.Packages, main)
	doc.Relationships = append(doc.Relationships, &v2_3.Relationship{
		RefA:         common.MakeDocElementID("", "DOCUMENT"),
		RefB:         common.MakeDocElementID("", spdxMainID),
		Relationship: common.TypeRelationshipDescribe,
	})
	dependsOn := func(id common.ElementID) {
		doc.Relationships = append(doc.Relationships, &v2_3.Relationship{
			RefA:         common.MakeDocElementID("", spdxMainID),
			RefB:         common.DocElementID{ElementRefID: id},
			Relationship: common.TypeRelationshipDependsOn,
		})
	}

	if b.GoVersion != "" {
		v := b.stdlibVersion()
		std := &v2_3.Package{
			PackageName:             "stdlib",
			PackageSPDXIdentifier:   newID("stdlib-" + v),
			PackageVersion:          v,
			PackageDownloadLocation: noAssertion,
			PackageLicenseConcluded: noAssertion,
			PackageLicenseDeclared:  noAssertion,
			PackageCopyrightText:    noAssertion,
			PackageComment:          "The Go standard library and runtime of the toolchain that built the binary (" + b.GoVersion + ").",
			PackageExternalReferences: []*v2_3.PackageExternalReference{
				purlRef("pkg:golang/stdlib@" + purlEscape(v)),
			},
		}
		doc.Packages = append(doc.Packages, std)
		dependsOn(std.PackageSPDXIdentifier)
	}
	for _, m := range b.Modules {
		e := m.Effective()
		p := &v2_3.Package{
			PackageName:             e.Path,
			PackageVersion:          e.Version,
			PackageDownloadLocation: noAssertion,
			PackageLicenseConcluded: noAssertion,
			PackageLicenseDeclared:  noAssertion,
			PackageCopyrightText:    noAssertion,
			PackageSourceInfo:       replaceNote(m),
			PrimaryPackagePurpose:   "LIBRARY",
		}
		if e.IsLocal() {
			// The code is a directory on the build machine: name it by the
			// module path the program imports, and give it no purl.
			p.PackageName = m.Path
			p.PackageVersion = ""
		}
		p.PackageSPDXIdentifier = newID(strings.TrimSuffix(p.PackageName+"-"+p.PackageVersion, "-"))
		if u := e.PURL(); u != "" {
			p.PackageExternalReferences = []*v2_3.PackageExternalReference{purlRef(u)}
		}
		if sha, ok := e.SHA256(); ok {
			p.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: sha}}
			p.PackageComment = "SHA256 is Go's h1: module hash (" + e.Sum + "), the SHA-256 of the module's dirhash."
		}
		doc.Packages = append(doc.Packages, p)
		dependsOn(p.PackageSPDXIdentifier)
	}
	if err := ValidateSPDX(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// settingsComment lists the toolchain and build settings, one per line.
func (b *Build) settingsComment() string {
	var s strings.Builder
	s.WriteString("Go toolchain: " + b.GoVersion)
	if b.Command != "" {
		s.WriteString("\nmain package: " + b.Command)
	}
	for _, kv := range b.Settings {
		fmt.Fprintf(&s, "\nbuild setting: %s=%s", kv.Key, kv.Value)
	}
	return s.String()
}

func purlRef(purl string) *v2_3.PackageExternalReference {
	return &v2_3.PackageExternalReference{Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: purl}
}

// spdxIDPart maps s to the characters an SPDX identifier allows
// (letters, digits, '.', '-').
func spdxIDPart(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

// SPDXJSON returns [Build.SPDX] as compact JSON with a final newline
// (pipe it through jq to read it; indenting would cost a third of the
// generation time).
func (b *Build) SPDXJSON(o Options) ([]byte, error) {
	doc, err := b.SPDX(o)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf, spdxjson.EscapeHTML(false)); err != nil {
		return nil, fmt.Errorf("sbom: SPDX JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// SPDXTagValue returns [Build.SPDX] in SPDX's tag-value format.
func (b *Build) SPDXTagValue(o Options) ([]byte, error) {
	doc, err := b.SPDX(o)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tagvalue.Write(doc, &buf); err != nil {
		return nil, fmt.Errorf("sbom: SPDX tag-value: %w", err)
	}
	return buf.Bytes(), nil
}
