package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pavedroad/paved/sbom"
)

func init() {
	register(command{name: "sbom", summary: "SBOM of a Go binary (SPDX 2.3 JSON or tag-value, CycloneDX 1.6 JSON)", run: runSBOM})
	register(command{name: "provenance", summary: "in-toto Statement v1 with a SLSA v1 provenance predicate for a Go binary", run: runProvenance})
}

func runSBOM(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "sbom", "[-format spdx-json|spdx-tv|cyclonedx-json] [-license EXPR] [-o FILE] BINARY")
	format := fs.String("format", "spdx-json", "document format: spdx-json, spdx-tv or cyclonedx-json")
	license := fs.String("license", "", "the main module's SPDX license expression (default: declared at build time, else NOASSERTION)")
	out := fs.String("o", "", "write the document to `FILE` instead of standard output")
	bin, code := parseArgs(e, fs, args)
	if code >= 0 {
		return code
	}
	b, err := sbom.Read(bin)
	if err != nil {
		fmt.Fprintln(e.stderr, "paved sbom:", err)
		return exitError
	}
	o := sbom.Options{License: *license}
	var doc []byte
	switch *format {
	case "spdx-json", "spdx":
		doc, err = b.SPDXJSON(o)
	case "spdx-tv", "spdx-tag-value":
		doc, err = b.SPDXTagValue(o)
	case "cyclonedx-json", "cyclonedx", "cdx":
		doc, err = b.CycloneDXJSON(o)
	default:
		fmt.Fprintf(e.stderr, "paved sbom: unknown -format %q: want spdx-json, spdx-tv or cyclonedx-json\n", *format)
		return exitError
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "paved sbom:", err)
		return exitError
	}
	return writeOut(e, *out, doc, "paved sbom")
}

func runProvenance(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "provenance", "[-builder-from-env] [-o FILE] BINARY")
	fromEnv := fs.Bool("builder-from-env", false, "record the CI system's builder identity from the environment (labelled as such, not verified)")
	out := fs.String("o", "", "write the statement to `FILE` instead of standard output")
	bin, code := parseArgs(e, fs, args)
	if code >= 0 {
		return code
	}
	b, err := sbom.Read(bin)
	if err != nil {
		fmt.Fprintln(e.stderr, "paved provenance:", err)
		return exitError
	}
	var o sbom.Options
	if *fromEnv {
		o.Builder = sbom.BuilderFromEnv(e.getenv)
	}
	doc, err := b.ProvenanceJSON(o)
	if err != nil {
		fmt.Fprintln(e.stderr, "paved provenance:", err)
		return exitError
	}
	return writeOut(e, *out, doc, "paved provenance")
}

// writeOut writes doc to path, or to standard output when path is empty.
func writeOut(e *env, path string, doc []byte, who string) int {
	if path == "" {
		if _, err := e.stdout.Write(doc); err != nil {
			fmt.Fprintln(e.stderr, who+":", err)
			return exitError
		}
		return exitOK
	}
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		fmt.Fprintln(e.stderr, who+":", err)
		return exitError
	}
	return exitOK
}
