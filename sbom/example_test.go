package sbom_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/debug"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/sbom"
)

const buildInfo = "path\texample.com/app\n" +
	"mod\texample.com/app\tv1.2.3\t\n" +
	"dep\tgolang.org/x/text\tv0.14.0\n" +
	"=>\tgolang.org/x/text\tv0.29.0\th1:1neNs90w9YzJ9BocxfsQNHKuAT4pkghyXc4nhZ6sJvk=\n" +
	"build\tvcs=git\n" +
	"build\tvcs.revision=0123456789abcdef0123456789abcdef01234567\n" +
	"build\tvcs.time=2026-11-30T12:00:00Z\n" +
	"build\tvcs.modified=false\n"

func Example() {
	bi, _ := debug.ParseBuildInfo(buildInfo) // in a service: sbom.Self()
	b, err := sbom.FromBuildInfo(bi)
	if err != nil {
		panic(err)
	}
	for _, m := range b.Modules {
		e := m.Effective()
		sha, _ := e.SHA256()
		fmt.Println(m.Path, m.Version, "=>", e.PURL())
		fmt.Println("  sha256", sha)
	}
	fmt.Println("vcs", b.VCS.Revision[:7], b.VCS.Time, "modified:", b.VCS.Modified)
	// Output:
	// golang.org/x/text v0.14.0 => pkg:golang/golang.org/x/text@v0.29.0
	//   sha256 d6778db3dd30f58cc9f41a1cc5fb103472ae013e299208725dce27859eac26f9
	// vcs 0123456 2026-11-30 12:00:00 +0000 UTC modified: false
}

func ExampleBuild_SPDX() {
	bi, _ := debug.ParseBuildInfo(buildInfo)
	b, _ := sbom.FromBuildInfo(bi)
	doc, err := b.SPDX(sbom.Options{License: "Apache-2.0"})
	if err != nil {
		panic(err)
	}
	for _, p := range doc.Packages {
		fmt.Printf("%s %s license %s\n", p.PackageName, p.PackageVersion, p.PackageLicenseDeclared)
	}
	for _, r := range doc.Relationships {
		fmt.Println(r.RefA.ElementRefID, r.Relationship, r.RefB.ElementRefID)
	}
	// Output:
	// example.com/app v1.2.3 license Apache-2.0
	// golang.org/x/text v0.29.0 license NOASSERTION
	// DOCUMENT DESCRIBES Package-main
	// Package-main DEPENDS_ON Package-golang.org-x-text-v0.29.0
}

func ExampleNewHandler() {
	bi, _ := debug.ParseBuildInfo(buildInfo)
	b, _ := sbom.FromBuildInfo(bi) // in a service, leave Build nil: the running binary
	// Protect is your authentication, such as an auth.Verifier's Middleware().
	protect := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	h, err := sbom.NewHandler(sbom.HandlerConfig{Build: b, Protect: protect, Posture: new(paved.Posture)})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+sbom.DefaultPath, h)

	for _, auth := range []string{"", "Bearer token"} {
		req := httptest.NewRequest("GET", sbom.DefaultPath, nil)
		req.Header.Set("Accept", sbom.MediaTypeCycloneDXJSON)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Printf("%d %q\n", rec.Code, rec.Header().Get("Content-Type"))
	}
	// Output:
	// 401 ""
	// 200 "application/vnd.cyclonedx+json; version=1.6"
}

func ExampleNewHandler_public() {
	_, err := sbom.NewHandler(sbom.HandlerConfig{Posture: new(paved.Posture)})
	fmt.Println(err)
	h, err := sbom.NewHandler(sbom.HandlerConfig{
		OptOuts: []paved.OptOut{sbom.AllowPublicSBOM("open-source service: the SBOM ships with every release")},
		Posture: new(paved.Posture),
		Logger:  slog.New(slog.DiscardHandler), // the opt-out is logged at start-up
	})
	fmt.Println(h != nil, err)
	// Output:
	// sbom: HandlerConfig.Protect: nil: the SBOM would be served to anyone; pass your authentication middleware (such as verifier.Middleware()), or sbom.AllowPublicSBOM(reason) in OptOuts
	// true <nil>
}

func ExampleBuilderFromEnv() {
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app",
		"GITHUB_WORKFLOW_REF": "acme/app/.github/workflows/release.yml@refs/tags/v1.0.0", "GITHUB_RUN_ID": "42",
	}
	b := sbom.BuilderFromEnv(func(k string) string { return env[k] })
	fmt.Println(b.ID)
	fmt.Println(b.Source)
	fmt.Println(sbom.BuilderFromEnv(func(string) string { return "" }) == nil)
	// Output:
	// https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0
	// environment: GITHUB_ACTIONS
	// true
}

func ExampleRead() {
	_, err := sbom.Read("testdata/schemas/PROVENANCE.md") // not a binary
	var e *sbom.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason)
	}
	fmt.Println(errors.Is(err, sbom.ErrBuildInfo), errors.Is(err, &sbom.Error{Reason: sbom.ReasonNoBuildInfo}))
	// Output:
	// not_executable
	// true false
}
