package sbom

import (
	"bytes"
	"fmt"
	"strconv"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// MediaTypeCycloneDXJSON is the CycloneDX 1.6 JSON media type, as served by
// [NewHandler].
const MediaTypeCycloneDXJSON = "application/vnd.cyclonedx+json"

// cycloneDXSchema16 is the $schema of a CycloneDX 1.6 JSON document.
const cycloneDXSchema16 = "http://cyclonedx.org/schema/bom-1.6.schema.json"

// Property names in CycloneDX documents (the "paved:" namespace is ours).
const (
	propGoVersion = "paved:go:toolchain"
	propCommand   = "paved:go:main-package"
	propSetting   = "paved:go:build:" // + setting key
	propReplace   = "paved:go:replaced"
	propH1        = "paved:go:h1"
)

// CycloneDX returns the build as a CycloneDX 1.6 BOM: the main module as
// metadata.component (an application, with its VCS state, toolchain and
// build settings as properties and its declared license), one library
// component per linked module and one for the Go standard library, and a
// dependency entry by which the main module depends on all of them.
// A replaced module appears as its replacement, with the replaced module
// as its pedigree ancestor. Hashes are the h1: sums as SHA-256. The BOM is
// checked with [ValidateCycloneDX] before it is returned.
func (b *Build) CycloneDX(o Options) (*cdx.BOM, error) {
	d := b.digest(o)
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	bom.JSONSchema = cycloneDXSchema16 // NewBOM names the newest (1.7) schema
	bom.XMLNS = "http://cyclonedx.org/schema/bom/1.6"
	bom.SerialNumber = "urn:uuid:" + uuid(d)
	bom.Version = 1

	refs := make(map[string]int)
	ref := func(base string) string {
		r := base
		if n := refs[base]; n > 0 {
			r = base + "#" + strconv.Itoa(n+1)
		}
		refs[base]++
		return r
	}

	main := cdx.Component{
		Type:    cdx.ComponentTypeApplication,
		Name:    b.mainName(),
		Version: b.Main.Version,
	}
	main.PackageURL = b.Main.PURL()
	main.BOMRef = ref(cmpOr(main.PackageURL, "main:"+main.Name))
	if h := hashes(b.Main); h != nil {
		main.Hashes = h
	}
	props := []cdx.Property{{Name: propGoVersion, Value: b.GoVersion}}
	if b.Command != "" {
		props = append(props, cdx.Property{Name: propCommand, Value: b.Command})
	}
	for _, s := range b.Settings {
		props = append(props, cdx.Property{Name: propSetting + s.Key, Value: s.Value})
	}
	main.Properties = &props
	if b.VCS.Known() {
		c := cdx.Commit{UID: b.VCS.Revision}
		if !b.VCS.Time.IsZero() {
			c.Committer = &cdx.IdentifiableAction{Timestamp: b.VCS.Time.UTC().Format("2006-01-02T15:04:05Z")}
		}
		main.Pedigree = &cdx.Pedigree{Commits: &[]cdx.Commit{c}, Notes: b.sourceInfo()}
		if b.VCS.Modified {
			modified := true
			main.Modified = &modified // deprecated in 1.6 but still the one flag scanners read
		}
	}
	switch lic := b.license(o); {
	case lic.text != "":
		main.Licenses = &cdx.Licenses{{License: &cdx.License{
			Name: mainLicenseRef,
			Text: &cdx.AttachedText{Content: lic.text, ContentType: "text/plain"},
		}}}
	case lic.expr != "":
		main.Licenses = &cdx.Licenses{{Expression: lic.expr}}
	}

	bom.Metadata = &cdx.Metadata{
		Timestamp: b.created(o).Format("2006-01-02T15:04:05Z"),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeLibrary,
			Name: toolName,
		}}},
		Component: &main,
	}

	var comps []cdx.Component
	var deps []string
	if b.GoVersion != "" {
		v := b.stdlibVersion()
		c := cdx.Component{
			Type:        cdx.ComponentTypeLibrary,
			Name:        "stdlib",
			Version:     v,
			PackageURL:  "pkg:golang/stdlib@" + purlEscape(v),
			Description: "The Go standard library and runtime of the toolchain that built the binary (" + b.GoVersion + ").",
		}
		c.BOMRef = ref(c.PackageURL)
		comps = append(comps, c)
		deps = append(deps, c.BOMRef)
	}
	for _, m := range b.Modules {
		e := m.Effective()
		c := cdx.Component{
			Type:       cdx.ComponentTypeLibrary,
			Name:       e.Path,
			Version:    e.Version,
			PackageURL: e.PURL(),
			Scope:      cdx.ScopeRequired,
			Hashes:     hashes(e),
		}
		if e.IsLocal() {
			c.Name, c.Version = m.Path, ""
			c.Description = "local directory " + e.Path
		}
		if e.Sum != "" {
			c.Properties = &[]cdx.Property{{Name: propH1, Value: e.Sum}}
		}
		if m.Replace != nil {
			orig := cdx.Component{Type: cdx.ComponentTypeLibrary, Name: m.Path, Version: m.Version, PackageURL: m.PURL(), Hashes: hashes(m)}
			c.Pedigree = &cdx.Pedigree{Ancestors: &[]cdx.Component{orig}, Notes: replaceNote(m)}
			p := append(derefProps(c.Properties), cdx.Property{Name: propReplace, Value: replaceNote(m)})
			c.Properties = &p
		}
		c.BOMRef = ref(cmpOr(c.PackageURL, "local:"+c.Name))
		comps = append(comps, c)
		deps = append(deps, c.BOMRef)
	}
	bom.Components = &comps
	depList := []cdx.Dependency{{Ref: main.BOMRef, Dependencies: &deps}}
	for _, r := range deps {
		depList = append(depList, cdx.Dependency{Ref: r})
	}
	bom.Dependencies = &depList
	if err := ValidateCycloneDX(bom); err != nil {
		return nil, err
	}
	return bom, nil
}

func derefProps(p *[]cdx.Property) []cdx.Property {
	if p == nil {
		return nil
	}
	return *p
}

func hashes(m Module) *[]cdx.Hash {
	sha, ok := m.SHA256()
	if !ok {
		return nil
	}
	return &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: sha}}
}

// CycloneDXJSON returns [Build.CycloneDX] as compact CycloneDX 1.6 JSON
// with a final newline.
func (b *Build) CycloneDXJSON(o Options) ([]byte, error) {
	bom, err := b.CycloneDX(o)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	enc.SetEscapeHTML(false)
	// Encode, not EncodeVersion: the BOM is built as 1.6 already, and
	// EncodeVersion deep-copies it through encoding/gob first (a fifth of
	// the generation time).
	if err := enc.Encode(bom); err != nil {
		return nil, fmt.Errorf("sbom: CycloneDX JSON: %w", err)
	}
	return buf.Bytes(), nil
}
