package main

import (
	"fmt"
	"log/slog"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/sbom"
)

// mountSBOM serves the quickstart's own bill of materials (SPDX 2.3 by
// default, CycloneDX 1.6, SPDX tag-value or its provenance statement by
// Accept header or ?format=) at /.well-known/sbom, behind the same bearer
// token check as /me: a module list with versions is a map for attackers,
// so it is never public by default. Its main-module license is whatever
// the build declared (-ldflags "-X github.com/pavedroad/paved/sbom.License=...");
// under `go run` nothing is declared, so it says NOASSERTION.
func mountSBOM(srv *httpx.Server, verifier *auth.Verifier, posture *paved.Posture, logger *slog.Logger) error {
	h, err := sbom.NewHandler(sbom.HandlerConfig{
		Protect: verifier.Middleware(),
		Posture: posture,
		Logger:  logger,
		Name:    "quickstart",
	})
	if err != nil {
		return fmt.Errorf("sbom handler: %w", err)
	}
	srv.Handle("GET "+sbom.DefaultPath, h)
	return nil
}
