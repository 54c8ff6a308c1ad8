// Package sbom tells what a Go binary is made of and where it came from,
// from the build info the go command embeds in every binary.
//
// A [Build] is read from the running binary ([Self], through
// runtime/debug.ReadBuildInfo), from any Go binary file ([Read], through
// debug/buildinfo) or from a [debug.BuildInfo] ([FromBuildInfo]). A file
// that is not an executable, an executable without Go build info, and a
// truncated or corrupt file each fail with an [*Error] whose [Reason] says
// which.
//
// From a Build:
//
//   - [Build.SPDX], [Build.SPDXJSON], [Build.SPDXTagValue]: SPDX 2.3
//     through github.com/spdx/tools-golang;
//   - [Build.CycloneDX], [Build.CycloneDXJSON]: CycloneDX 1.6 through
//     github.com/CycloneDX/cyclonedx-go;
//   - [Build.Provenance], [Build.ProvenanceJSON]: an in-toto Statement v1
//     with a SLSA v1 provenance predicate.
//
// Every module appears with its version, its pkg:golang purl and its h1:
// hash as a SHA-256 digest (the h1: hash is the base64 SHA-256 of the
// module's dirhash); a replaced module appears as its replacement, with
// the module it replaces named (SPDX sourceInfo, CycloneDX pedigree); the
// main module carries its VCS revision, commit time and modified flag, the
// toolchain and every build setting. The document DESCRIBES the main
// module, which DEPENDS_ON every other (build info records no graph).
// Output is deterministic: one binary always yields the same bytes, with a
// namespace and serial number derived from its content and the commit time
// as the creation time. Every document passes [ValidateSPDX] or
// [ValidateCycloneDX] (required fields; tools-golang checks only
// relationships) before it is returned, and the tests hold the output to
// the official SPDX 2.3 and CycloneDX 1.6 JSON schemas.
//
// # Licenses
//
// The main module's license is what the build declares: the [License]
// variable set with -ldflags "-X github.com/pavedroad/paved/sbom.License=Apache-2.0",
// or [Options.License], or an embedded license file ([Options.LicenseFile])
// whose SPDX-License-Identifier tag is used, or whose text is included as
// a LicenseRef. For a binary read from a file the variable is that
// binary's own -X flag, from its -ldflags build setting, never the
// reader's. Nothing is guessed: every other license is NOASSERTION.
//
// # Serving
//
// [NewHandler] serves the documents, rendered once, at [DefaultPath] with
// content negotiation, a strong ETag and 304s. It is wrapped in the
// caller's authentication middleware ([HandlerConfig.Protect]); serving it
// to anyone takes the named opt-out [AllowPublicSBOM], since a public
// module list tells an attacker which vulnerabilities to try. The handler
// registers the controls sbom-endpoint, license-declared and vcs-stamped
// in the posture report.
//
// # Provenance
//
// The provenance says only what the binary can say about itself. Build
// info records no builder and no build time, so the builder is
// [UnidentifiedBuilderID] unless a CI system's identity is passed in
// ([BuilderFromEnv], read in the pipeline step that built the binary); it
// is then recorded with its source and marked as not verified.
//
// # Vulnerability audit
//
// [OpenVulnDB] opens a local Go vulnerability database (the
// golang.org/x/vulndb module's data/osv, or a govulncheck database),
// keeping only an index in memory; [VulnDB.Audit] matches a build's
// modules and standard library against it with Go semver ranges, offline,
// with the module-level findings of `govulncheck -scan module`. A
// malformed record is skipped and counted, never fatal. OpenVEX
// not_affected statements with a justification suppress the findings they
// name ([AuditOptions.VEX]); at equal times a conflicting statement that
// does not suppress wins.
//
// [AuditSelf] runs the audit at start-up and fails it at
// [AuditConfig.FailOn] (default high) unless [AllowVulnerableStart] is
// given. The Go database scores nothing, so its findings are
// [SeverityUnknown], which ranks as high: by default any known
// vulnerability stops the start. Each suppression is an opt-out in the
// posture report and the start-up log.
package sbom
