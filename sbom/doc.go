// Package sbom produces software bills of materials for the running binary.
//
// It will hold: SPDX (github.com/spdx/tools-golang) and CycloneDX documents
// built from runtime/debug.BuildInfo, an HTTP handler that serves them, an
// offline vulnerability audit against a local database, and build
// provenance.
package sbom
