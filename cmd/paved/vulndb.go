package main

import (
	"context"
	"fmt"

	"github.com/pavedroad/paved/sbom"
)

func init() {
	register(command{name: "vulndb", summary: "index a directory of OSV records (x/vulndb's data/osv) as a govulncheck database", run: runVulnDB})
}

func runVulnDB(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "vulndb", "-o DIR SRC")
	out := fs.String("o", "", "write the govulncheck-layout database (index/db.json, index/modules.json, ID/*.json) to `DIR`")
	src, code := parseArgs(e, fs, args)
	if code >= 0 {
		return code
	}
	if *out == "" {
		fmt.Fprintln(e.stderr, "paved vulndb: -o DIR is required")
		return exitError
	}
	db, err := sbom.OpenVulnDB(src)
	if err != nil {
		fmt.Fprintln(e.stderr, "paved vulndb:", err)
		return exitError
	}
	if err := db.WriteGovulncheckDB(*out); err != nil {
		fmt.Fprintln(e.stderr, "paved vulndb:", err)
		return exitError
	}
	n, _ := db.Warnings()
	fmt.Fprintf(e.stderr, "paved vulndb: %d records for %d modules written to %s (%d malformed records skipped)\n", db.Len(), db.Modules(), *out, n)
	return exitOK
}
