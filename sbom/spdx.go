package sbom

import (
	"errors"

	"github.com/spdx/tools-golang/spdx/v2/v2_3"
)

var errTODO = errors.New("sbom: not implemented yet")

// SPDX returns the build as an SPDX 2.3 document.
func (b *Build) SPDX(o Options) (*v2_3.Document, error) { return nil, errTODO }

// SPDXJSON returns the build as an SPDX 2.3 JSON document.
func (b *Build) SPDXJSON(o Options) ([]byte, error) { return nil, errTODO }

// SPDXTagValue returns the build as an SPDX 2.3 tag-value document.
func (b *Build) SPDXTagValue(o Options) ([]byte, error) { return nil, errTODO }
