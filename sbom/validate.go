package sbom

import (
	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// ValidateSPDX checks the fields SPDX 2.3 requires of doc.
func ValidateSPDX(doc *v2_3.Document) error { return errTODO }

// ValidateCycloneDX checks the fields CycloneDX 1.6 requires of bom.
func ValidateCycloneDX(bom *cdx.BOM) error { return errTODO }
