package sbom

import (
	"errors"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
)

func TestValidateSPDX(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(d *v2_3.Document)
		field string
	}{
		{"version", func(d *v2_3.Document) { d.SPDXVersion = "SPDX-2.2" }, "spdxVersion"},
		{"data license", func(d *v2_3.Document) { d.DataLicense = "MIT" }, "dataLicense"},
		{"document id", func(d *v2_3.Document) { d.SPDXIdentifier = "DOC" }, "SPDXID"},
		{"name", func(d *v2_3.Document) { d.DocumentName = " " }, "name"},
		{"relative namespace", func(d *v2_3.Document) { d.DocumentNamespace = "spdxdocs/x" }, "documentNamespace"},
		{"namespace fragment", func(d *v2_3.Document) { d.DocumentNamespace += "#x" }, "documentNamespace"},
		{"no creation info", func(d *v2_3.Document) { d.CreationInfo = nil }, "creationInfo"},
		{"no creators", func(d *v2_3.Document) { d.CreationInfo.Creators = nil }, "creationInfo.creators"},
		{"creator type", func(d *v2_3.Document) { d.CreationInfo.Creators[0].CreatorType = "Robot" }, "creationInfo.creators[0]"},
		{"created", func(d *v2_3.Document) { d.CreationInfo.Created = "2026-11-30 12:00" }, "creationInfo.created"},
		{"package name", func(d *v2_3.Document) { d.Packages[1].PackageName = "" }, "packages[1].name"},
		{"package id", func(d *v2_3.Document) { d.Packages[1].PackageSPDXIdentifier = "a/b" }, "packages[1].SPDXID"},
		{"duplicate id", func(d *v2_3.Document) { d.Packages[2].PackageSPDXIdentifier = d.Packages[1].PackageSPDXIdentifier }, "packages[2].SPDXID"},
		{"download location", func(d *v2_3.Document) { d.Packages[0].PackageDownloadLocation = "" }, "packages[0].downloadLocation"},
		{"verification code", func(d *v2_3.Document) { d.Packages[0].PackageVerificationCode = &common.PackageVerificationCode{} }, "packages[0].packageVerificationCode"},
		{"checksum length", func(d *v2_3.Document) { d.Packages[0].PackageChecksums[0].Value = "abc" }, "packages[0].checksums[0]"},
		{"checksum algorithm", func(d *v2_3.Document) { d.Packages[0].PackageChecksums[0].Algorithm = "CRC" }, "packages[0].checksums[0]"},
		{"purl", func(d *v2_3.Document) { d.Packages[0].PackageExternalReferences[0].Locator = "golang.org/x/net" }, "packages[0].externalRefs[0].referenceLocator"},
		{"empty ref", func(d *v2_3.Document) { d.Packages[0].PackageExternalReferences[0].RefType = "" }, "packages[0].externalRefs[0]"},
		{"dangling relationship", func(d *v2_3.Document) { d.Relationships[1].RefB = common.MakeDocElementID("", "Package-nope") }, "relationships[1].relatedSpdxElement"},
		{"no DESCRIBES", func(d *v2_3.Document) { d.Relationships = d.Relationships[1:] }, "relationships"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := mustBuild(t, testBuildInfoText).SPDX(Options{})
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(doc)
			err = ValidateSPDX(doc)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field || !errors.Is(err, ErrInvalidDocument) || ve.Format != "SPDX-2.3" {
				t.Errorf("ValidateSPDX = %v; want a ValidationError on %s", err, tt.field)
			}
		})
	}
	if err := ValidateSPDX(nil); err == nil {
		t.Error("nil document validates")
	}
}

func TestValidateCycloneDX(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(b *cdx.BOM)
		field string
	}{
		{"format", func(b *cdx.BOM) { b.BOMFormat = "SPDX" }, "bomFormat"},
		{"spec version", func(b *cdx.BOM) { b.SpecVersion = cdx.SpecVersion1_5 }, "specVersion"},
		{"schema", func(b *cdx.BOM) { b.JSONSchema = "http://cyclonedx.org/schema/bom-1.7.schema.json" }, "$schema"},
		{"serial", func(b *cdx.BOM) { b.SerialNumber = "urn:uuid:NOT" }, "serialNumber"},
		{"version", func(b *cdx.BOM) { b.Version = 0 }, "version"},
		{"timestamp", func(b *cdx.BOM) { b.Metadata.Timestamp = "yesterday" }, "metadata.timestamp"},
		{"main name", func(b *cdx.BOM) { b.Metadata.Component.Name = "" }, "metadata.component.name"},
		{"type", func(b *cdx.BOM) { (*b.Components)[1].Type = "" }, "components[1].type"},
		{"duplicate ref", func(b *cdx.BOM) { (*b.Components)[2].BOMRef = (*b.Components)[1].BOMRef }, "components[2].bom-ref"},
		{"purl", func(b *cdx.BOM) { (*b.Components)[1].PackageURL = "github.com/x" }, "components[1].purl"},
		{"hash", func(b *cdx.BOM) { (*(*b.Components)[1].Hashes)[0].Value = "ABC" }, "components[1].hashes[0]"},
		{"dangling dependency", func(b *cdx.BOM) { (*(*b.Dependencies)[0].Dependencies)[0] = "nope" }, "dependencies[0].dependsOn[0]"},
		{"dangling ref", func(b *cdx.BOM) { (*b.Dependencies)[1].Ref = "nope" }, "dependencies[1].ref"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bom, err := mustBuild(t, testBuildInfoText).CycloneDX(Options{})
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(bom)
			err = ValidateCycloneDX(bom)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field || !errors.Is(err, ErrInvalidDocument) {
				t.Errorf("ValidateCycloneDX = %v; want a ValidationError on %s", err, tt.field)
			}
		})
	}
}
