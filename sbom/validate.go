package sbom

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// ErrInvalidDocument is matched by every [*ValidationError].
var ErrInvalidDocument = errors.New("sbom: invalid document")

// A ValidationError is one required field that a generated document lacks
// or gets wrong. tools-golang only checks relationships, and cyclonedx-go
// nothing, so [ValidateSPDX] and [ValidateCycloneDX] check what the
// specifications require.
type ValidationError struct {
	// Format is "SPDX-2.3" or "CycloneDX-1.6".
	Format string
	// Field is the JSON path of the field, such as "packages[3].SPDXID".
	Field string
	// Problem says what is wrong.
	Problem string
}

// Error returns "sbom: invalid FORMAT document: FIELD: PROBLEM".
func (e *ValidationError) Error() string {
	return "sbom: invalid " + e.Format + " document: " + e.Field + ": " + e.Problem
}

// Is reports true for [ErrInvalidDocument].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidDocument }

type checker struct {
	format string
	errs   []error
}

func (c *checker) add(field, format string, args ...any) {
	c.errs = append(c.errs, &ValidationError{Format: c.format, Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (c *checker) err() error { return errors.Join(c.errs...) }

// isSPDXID reports whether s is a non-empty run of letters, digits, '.'
// and '-', the characters of an SPDX identifier after "SPDXRef-".
func isSPDXID(s string) bool {
	return s != "" && spdxIDPart(s) == s
}

// isLowerHex reports whether s is non-empty lowercase hexadecimal.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// isUUIDURN reports whether s is "urn:uuid:" and a lowercase UUID.
func isUUIDURN(s string) bool {
	u, ok := strings.CutPrefix(s, "urn:uuid:")
	if !ok || len(u) != 36 {
		return false
	}
	for i, n := range []int{8, 4, 4, 4, 12} {
		if i > 0 {
			if u[0] != '-' {
				return false
			}
			u = u[1:]
		}
		if !isLowerHex(u[:n]) {
			return false
		}
		u = u[n:]
	}
	return true
}

// hashLen is the hex length of each digest algorithm the documents use.
var hashLen = map[string]int{"SHA1": 40, "SHA256": 64, "SHA384": 96, "SHA512": 128, "SHA-1": 40, "SHA-256": 64, "SHA-384": 96, "SHA-512": 128}

// ValidateSPDX checks the fields SPDX 2.3 requires of doc: version, data
// license, identifiers (well-formed and unique), name, an absolute
// namespace URI without a fragment, creators and an RFC 3339 UTC creation
// time; for every package a name, an identifier, a download location,
// well-formed checksums and external references; and relationships that
// name existing elements, with at least one DESCRIBES. It returns every
// fault at once, as [*ValidationError]s joined.
func ValidateSPDX(doc *v2_3.Document) error {
	c := &checker{format: v2_3.Version}
	if doc == nil {
		c.add("", "nil document")
		return c.err()
	}
	if doc.SPDXVersion != v2_3.Version {
		c.add("spdxVersion", "%q, want %q", doc.SPDXVersion, v2_3.Version)
	}
	if doc.DataLicense != v2_3.DataLicense {
		c.add("dataLicense", "%q, want %q", doc.DataLicense, v2_3.DataLicense)
	}
	if doc.SPDXIdentifier != "DOCUMENT" {
		c.add("SPDXID", "%q, want SPDXRef-DOCUMENT", "SPDXRef-"+string(doc.SPDXIdentifier))
	}
	if strings.TrimSpace(doc.DocumentName) == "" {
		c.add("name", "empty")
	}
	if u, err := url.Parse(doc.DocumentNamespace); err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(doc.DocumentNamespace, "#") {
		c.add("documentNamespace", "%q is not an absolute URI without a fragment", doc.DocumentNamespace)
	}
	if ci := doc.CreationInfo; ci == nil {
		c.add("creationInfo", "missing")
	} else {
		if len(ci.Creators) == 0 {
			c.add("creationInfo.creators", "empty")
		}
		for i, cr := range ci.Creators {
			switch cr.CreatorType {
			case "Person", "Organization", "Tool":
			default:
				c.add(fmt.Sprintf("creationInfo.creators[%d]", i), "type %q, want Person, Organization or Tool", cr.CreatorType)
			}
			if strings.TrimSpace(cr.Creator) == "" {
				c.add(fmt.Sprintf("creationInfo.creators[%d]", i), "empty name")
			}
		}
		if _, err := time.Parse("2006-01-02T15:04:05Z", ci.Created); err != nil {
			c.add("creationInfo.created", "%q is not YYYY-MM-DDThh:mm:ssZ", ci.Created)
		}
	}
	ids := map[common.ElementID]bool{"DOCUMENT": true}
	for i, p := range doc.Packages {
		f := fmt.Sprintf("packages[%d]", i)
		if p == nil {
			c.add(f, "nil package")
			continue
		}
		if strings.TrimSpace(p.PackageName) == "" {
			c.add(f+".name", "empty")
		}
		id := p.PackageSPDXIdentifier
		switch {
		case !isSPDXID(string(id)):
			c.add(f+".SPDXID", "%q has characters other than letters, digits, '.' and '-'", id)
		case ids[id]:
			c.add(f+".SPDXID", "%q is not unique", id)
		}
		ids[id] = true
		if strings.TrimSpace(p.PackageDownloadLocation) == "" {
			c.add(f+".downloadLocation", "empty (NOASSERTION when unknown)")
		}
		if !p.FilesAnalyzed && p.PackageVerificationCode != nil {
			c.add(f+".packageVerificationCode", "set although filesAnalyzed is false")
		}
		for j, cs := range p.PackageChecksums {
			checkHash(c, fmt.Sprintf("%s.checksums[%d]", f, j), string(cs.Algorithm), cs.Value)
		}
		for j, r := range p.PackageExternalReferences {
			rf := fmt.Sprintf("%s.externalRefs[%d]", f, j)
			if r == nil || r.Category == "" || r.RefType == "" || r.Locator == "" {
				c.add(rf, "needs a category, a type and a locator")
				continue
			}
			if r.RefType == common.TypePackageManagerPURL && !strings.HasPrefix(r.Locator, "pkg:") {
				c.add(rf+".referenceLocator", "%q is not a purl", r.Locator)
			}
		}
	}
	describes := 0
	for i, r := range doc.Relationships {
		f := fmt.Sprintf("relationships[%d]", i)
		if r == nil {
			c.add(f, "nil relationship")
			continue
		}
		if r.Relationship == "" {
			c.add(f+".relationshipType", "empty")
		}
		if r.Relationship == common.TypeRelationshipDescribe && r.RefA.ElementRefID == "DOCUMENT" {
			describes++
		}
		for _, ref := range []struct {
			name string
			id   common.DocElementID
		}{{"spdxElementId", r.RefA}, {"relatedSpdxElement", r.RefB}} {
			if ref.id.DocumentRefID == "" && ref.id.SpecialID == "" && !ids[ref.id.ElementRefID] {
				c.add(f+"."+ref.name, "%q names no element of the document", "SPDXRef-"+string(ref.id.ElementRefID))
			}
		}
	}
	if describes == 0 {
		c.add("relationships", "no DOCUMENT DESCRIBES relationship")
	}
	return c.err()
}

func checkHash(c *checker, field, alg, value string) {
	n, ok := hashLen[alg]
	switch {
	case !ok:
		c.add(field, "algorithm %q not used by paved", alg)
	case len(value) != n || !isLowerHex(value):
		c.add(field, "%s value %q is not %d lowercase hex digits", alg, value, n)
	}
}

// ValidateCycloneDX checks the fields CycloneDX 1.6 requires of bom:
// format, spec version, an urn:uuid serial number, a version of 1 or
// more; for every component (metadata's included) a type, a name, a
// unique bom-ref, a purl that starts with "pkg:", well-formed hashes; and
// dependencies that name existing bom-refs. It returns every fault at
// once, as [*ValidationError]s joined.
func ValidateCycloneDX(bom *cdx.BOM) error {
	c := &checker{format: "CycloneDX-1.6"}
	if bom == nil {
		c.add("", "nil BOM")
		return c.err()
	}
	if bom.BOMFormat != cdx.BOMFormat {
		c.add("bomFormat", "%q, want %q", bom.BOMFormat, cdx.BOMFormat)
	}
	if bom.SpecVersion != cdx.SpecVersion1_6 {
		c.add("specVersion", "%s, want 1.6", bom.SpecVersion)
	}
	if bom.JSONSchema != "" && bom.JSONSchema != cycloneDXSchema16 {
		c.add("$schema", "%q, want %q", bom.JSONSchema, cycloneDXSchema16)
	}
	if !isUUIDURN(bom.SerialNumber) {
		c.add("serialNumber", "%q is not urn:uuid:<lowercase RFC 9562 UUID>", bom.SerialNumber)
	}
	if bom.Version < 1 {
		c.add("version", "%d, want 1 or more", bom.Version)
	}
	refs := make(map[string]bool)
	checkComp := func(f string, comp *cdx.Component) {
		if comp.Type == "" {
			c.add(f+".type", "empty")
		}
		if strings.TrimSpace(comp.Name) == "" {
			c.add(f+".name", "empty")
		}
		if comp.BOMRef != "" {
			if refs[comp.BOMRef] {
				c.add(f+".bom-ref", "%q is not unique", comp.BOMRef)
			}
			refs[comp.BOMRef] = true
		}
		if comp.PackageURL != "" && !strings.HasPrefix(comp.PackageURL, "pkg:") {
			c.add(f+".purl", "%q is not a purl", comp.PackageURL)
		}
		if comp.Hashes != nil {
			for j, h := range *comp.Hashes {
				checkHash(c, fmt.Sprintf("%s.hashes[%d]", f, j), string(h.Algorithm), h.Value)
			}
		}
	}
	if bom.Metadata != nil {
		if bom.Metadata.Timestamp != "" {
			if _, err := time.Parse(time.RFC3339, bom.Metadata.Timestamp); err != nil {
				c.add("metadata.timestamp", "%q is not RFC 3339", bom.Metadata.Timestamp)
			}
		}
		if bom.Metadata.Component != nil {
			checkComp("metadata.component", bom.Metadata.Component)
		}
	}
	if bom.Components != nil {
		for i := range *bom.Components {
			checkComp(fmt.Sprintf("components[%d]", i), &(*bom.Components)[i])
		}
	}
	if bom.Dependencies != nil {
		for i, d := range *bom.Dependencies {
			f := fmt.Sprintf("dependencies[%d]", i)
			if !refs[d.Ref] {
				c.add(f+".ref", "%q names no component", d.Ref)
			}
			if d.Dependencies != nil {
				for j, r := range *d.Dependencies {
					if !refs[r] {
						c.add(fmt.Sprintf("%s.dependsOn[%d]", f, j), "%q names no component", r)
					}
				}
			}
		}
	}
	return c.err()
}
