package sbom

import cdx "github.com/CycloneDX/cyclonedx-go"

// CycloneDX returns the build as a CycloneDX 1.6 BOM.
func (b *Build) CycloneDX(o Options) (*cdx.BOM, error) { return nil, errTODO }

// CycloneDXJSON returns the build as a CycloneDX 1.6 JSON document.
func (b *Build) CycloneDXJSON(o Options) ([]byte, error) { return nil, errTODO }
