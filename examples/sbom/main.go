// Command sbom shows package sbom on the running binary itself, offline:
//
//	go run ./examples/sbom [-out DIR] [BINARY]
//
// It reads the Go build info (of BINARY when given, else of itself), makes
// its SBOM in SPDX 2.3 and CycloneDX 1.6 (each validated before it is
// returned) and its SLSA provenance statement, and writes them to DIR when -out is
// set. Then it runs the start-up vulnerability gate twice against a local
// database of one record: on this build, which passes, and on an older
// build that links a vulnerable golang.org/x/text, which the gate refuses.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/sbom"
)

// vulnDB is a vulnerability database of one OSV record, copied from the Go
// vulnerability database (CC-BY 4.0). A service points AuditConfig.DB at a
// directory its pipeline refreshes (golang.org/x/vulndb's data/osv).
//
//go:embed vulndb
var vulnDB embed.FS

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sbom example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("sbom", flag.ContinueOnError)
	out := flags.String("out", "", "directory to write sbom.spdx.json, sbom.cdx.json and provenance.json to")
	if err := flags.Parse(args); err != nil {
		return err
	}
	// The build: from a binary file, or from the running binary (what a
	// service serves at /.well-known/sbom with sbom.NewHandler).
	read := sbom.Self
	if flags.NArg() > 0 {
		read = func() (*sbom.Build, error) { return sbom.Read(flags.Arg(0)) }
	}
	b, err := read()
	if err != nil {
		return err // errors.Is(err, sbom.ErrBuildInfo) for a binary without build info
	}
	fmt.Fprintf(stdout, "%s: %d modules, built with %s\n", b.Command, len(b.Modules), b.GoVersion)

	// The documents: the SBOM generators validate their output against
	// the format's rules; the same build always yields the same bytes.
	opts := sbom.Options{License: "Apache-2.0"} // a release build sets sbom.License by -ldflags -X
	docs := []struct {
		file string
		gen  func(sbom.Options) ([]byte, error)
	}{
		{"sbom.spdx.json", b.SPDXJSON},
		{"sbom.cdx.json", b.CycloneDXJSON},
		{"provenance.json", b.ProvenanceJSON}, // in-toto statement, SLSA provenance v1 predicate
	}
	for _, d := range docs {
		data, err := d.gen(opts)
		if errors.Is(err, sbom.ErrNoSubject) { // provenance needs the file's digest
			fmt.Fprintf(stdout, "  %-16s skipped: %v\n", d.file, err)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", d.file, err)
		}
		fmt.Fprintf(stdout, "  %-16s ok\n", d.file)
		if *out != "" {
			if err := os.WriteFile(filepath.Join(*out, d.file), data, 0o600); err != nil {
				return err
			}
		}
	}

	// The start-up gate: a finding at or above FailOn (high; the Go
	// database's unscored records rank as high) stops the start, unless
	// the sbom.AllowVulnerableStart opt-out says why it may not.
	osv, err := fs.Sub(vulnDB, "vulndb")
	if err != nil {
		return err
	}
	db, err := sbom.OpenVulnDBFS(osv)
	if err != nil {
		return err
	}
	old, err := sbom.FromBuildInfo(&debug.BuildInfo{GoVersion: "go1.26.0", Path: "example.com/app",
		Main: debug.Module{Path: "example.com/app", Version: "v0.9.0"},
		Deps: []*debug.Module{{Path: "golang.org/x/text", Version: "v0.3.7"}}})
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name  string
		build *sbom.Build
	}{{"this build", b}, {"example.com/app v0.9.0", old}} {
		report, err := sbom.AuditSelf(ctx, sbom.AuditConfig{VulnDB: db, Build: c.build, // Events: nil, paved's default sink
			Posture: new(paved.Posture), Logger: slog.New(slog.DiscardHandler)})
		var vulnerable *sbom.VulnerableError
		switch {
		case errors.As(err, &vulnerable):
			for _, f := range vulnerable.Findings {
				fmt.Fprintf(stdout, "audit %s: refused to start: %s in %s@%s, fixed in %s\n", c.name, f.ID, f.Module, f.Version, f.FixedVersion)
			}
		case err != nil:
			return err
		default:
			fmt.Fprintf(stdout, "audit %s: %d findings, starts\n", c.name, len(report.Findings))
		}
	}
	return nil
}
