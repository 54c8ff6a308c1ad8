package sbom

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// in-toto and SLSA identifiers.
const (
	// StatementType is the in-toto Statement v1 type.
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateSLSAProvenance is the SLSA v1 provenance predicate type.
	PredicateSLSAProvenance = "https://slsa.dev/provenance/v1"
	// BuildTypeGoBuildInfo is the buildType of paved's provenance: a
	// `go build` described by nothing but the build info the go command
	// embedded in the binary.
	BuildTypeGoBuildInfo = "https://github.com/pavedroad/paved/sbom/buildtypes/go-buildinfo/v1"
	// UnidentifiedBuilderID is the builder.id when no builder identity is
	// known: the binary cannot say who built it, so paved claims no one.
	UnidentifiedBuilderID = "urn:paved:builder:unidentified"
	// MediaTypeInToto is the media type of an in-toto statement, as served
	// by [NewHandler].
	MediaTypeInToto = "application/vnd.in-toto+json"
)

// ErrNoSubject is returned by [Build.Provenance] for a Build made with
// [FromBuildInfo]: there is no binary whose digest the statement could
// bind.
var ErrNoSubject = errors.New("sbom: provenance needs the binary: use Read or Self")

// A Builder is the identity of the system that built a binary, as a CI
// system reports it through its environment. Nothing verifies it: the
// provenance records it with its Source, marked as not verified.
type Builder struct {
	// ID is the builder's URI (SLSA builder.id), such as the workflow that
	// ran the build.
	ID string
	// Source says where the identity came from, such as
	// "environment: GITHUB_ACTIONS".
	Source string
	// InvocationID identifies the build run (SLSA metadata.invocationId),
	// when known.
	InvocationID string
	// Metadata are further values from the same source (repository, ref).
	Metadata map[string]string
}

// BuilderFromEnv returns the builder identity that GitHub Actions or
// GitLab CI put in the environment (getenv is usually os.Getenv), or nil
// outside a known CI system. Run it where the binary was built, as `paved
// provenance` does in a pipeline step.
func BuilderFromEnv(getenv func(string) string) *Builder {
	switch {
	case getenv("GITHUB_ACTIONS") == "true" && getenv("GITHUB_SERVER_URL") != "" && getenv("GITHUB_WORKFLOW_REF") != "":
		server := strings.TrimSuffix(getenv("GITHUB_SERVER_URL"), "/")
		b := &Builder{
			ID:       server + "/" + getenv("GITHUB_WORKFLOW_REF"),
			Source:   "environment: GITHUB_ACTIONS",
			Metadata: envMap(getenv, "GITHUB_REPOSITORY", "GITHUB_REF", "GITHUB_SHA", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "RUNNER_ENVIRONMENT"),
		}
		if id := getenv("GITHUB_RUN_ID"); id != "" && getenv("GITHUB_REPOSITORY") != "" {
			b.InvocationID = server + "/" + getenv("GITHUB_REPOSITORY") + "/actions/runs/" + id + "/attempts/" + cmpOr(getenv("GITHUB_RUN_ATTEMPT"), "1")
		}
		return b
	case getenv("GITLAB_CI") == "true" && getenv("CI_SERVER_URL") != "" && getenv("CI_PROJECT_PATH") != "":
		return &Builder{
			ID:           strings.TrimSuffix(getenv("CI_SERVER_URL"), "/") + "/" + getenv("CI_PROJECT_PATH") + "/-/runners/" + cmpOr(getenv("CI_RUNNER_ID"), "unknown"),
			Source:       "environment: GITLAB_CI",
			InvocationID: getenv("CI_JOB_URL"),
			Metadata:     envMap(getenv, "CI_PROJECT_PATH", "CI_COMMIT_SHA", "CI_COMMIT_REF_NAME", "CI_PIPELINE_ID", "CI_JOB_ID"),
		}
	}
	return nil
}

func envMap(getenv func(string) string, names ...string) map[string]string {
	m := make(map[string]string)
	for _, n := range names {
		if v := getenv(n); v != "" {
			m[n] = v
		}
	}
	return m
}

// A Statement is an in-toto Statement v1 carrying SLSA v1 provenance. The
// field names are the specifications'; see [Build.Provenance] for why
// these are plain structs.
type Statement struct {
	Type          string               `json:"_type"`
	Subject       []ResourceDescriptor `json:"subject"`
	PredicateType string               `json:"predicateType"`
	Predicate     ProvenancePredicate  `json:"predicate"`
}

// A ResourceDescriptor is an in-toto ResourceDescriptor v1.
type ResourceDescriptor struct {
	URI         string            `json:"uri,omitempty"`
	Name        string            `json:"name,omitempty"`
	Digest      map[string]string `json:"digest,omitempty"`
	Annotations map[string]any    `json:"annotations,omitempty"`
}

// A ProvenancePredicate is a SLSA v1 provenance predicate.
type ProvenancePredicate struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// A BuildDefinition is SLSA v1's buildDefinition.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   map[string]any       `json:"externalParameters"`
	InternalParameters   map[string]any       `json:"internalParameters,omitempty"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

// RunDetails is SLSA v1's runDetails.
type RunDetails struct {
	Builder  BuilderRef     `json:"builder"`
	Metadata *BuildMetadata `json:"metadata,omitempty"`
}

// A BuilderRef is SLSA v1's builder.
type BuilderRef struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// BuildMetadata is SLSA v1's runDetails.metadata. Build info records no
// build times, so paved sets none.
type BuildMetadata struct {
	InvocationID string `json:"invocationId,omitempty"`
}

// Provenance returns an in-toto Statement v1 whose subject is the binary
// (its file name and SHA-256) and whose predicate is SLSA v1 provenance
// holding only what the binary says about itself: the main package and
// module, the build settings (external parameters), the toolchain
// (internal parameters), the VCS commit and every module with its h1:
// hash as a dirHash digest (resolved dependencies). Build info records no
// builder and no build times; the builder is [UnidentifiedBuilderID]
// unless [Options.Builder] names one, which is then recorded as
// unverified, with its source, under internalParameters.builderIdentity.
//
// The statement is plain structs with the specifications' field names
// rather than github.com/in-toto/attestation's Go bindings: those are
// protobuf messages (the predicate a structpb.Struct), which would add
// google.golang.org/protobuf to every service that links sbom, and
// protojson output is deliberately unstable, which breaks the byte-for-byte
// determinism and the ETag of the served document.
func (b *Build) Provenance(o Options) (*Statement, error) {
	path := b.Path
	if path == "" && b.self {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("sbom: provenance: the running binary: %w", err)
		}
		path = exe
	}
	if path == "" {
		return nil, ErrNoSubject
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, fmt.Errorf("sbom: provenance: %w", err)
	}
	settings := make(map[string]string, len(b.Settings))
	for _, s := range b.Settings {
		settings[s.Key] = s.Value
	}
	ext := map[string]any{
		"mainPackage": b.Command,
		"mainModule":  b.mainName(),
		"version":     b.Main.Version,
		"settings":    settings,
	}
	internal := map[string]any{"goVersion": b.GoVersion}
	st := &Statement{
		Type:          StatementType,
		Subject:       []ResourceDescriptor{{Name: filepath.Base(path), Digest: map[string]string{"sha256": sum}}},
		PredicateType: PredicateSLSAProvenance,
		Predicate: ProvenancePredicate{
			BuildDefinition: BuildDefinition{
				BuildType:          BuildTypeGoBuildInfo,
				ExternalParameters: ext,
				InternalParameters: internal,
			},
			RunDetails: RunDetails{Builder: BuilderRef{ID: UnidentifiedBuilderID}},
		},
	}
	if bl := o.Builder; bl != nil && bl.ID != "" {
		st.Predicate.RunDetails.Builder.ID = bl.ID
		identity := map[string]any{"source": bl.Source, "verified": false}
		if len(bl.Metadata) > 0 {
			identity["metadata"] = bl.Metadata
		}
		internal["builderIdentity"] = identity
		if bl.InvocationID != "" {
			st.Predicate.RunDetails.Metadata = &BuildMetadata{InvocationID: bl.InvocationID}
		}
	}
	deps := &st.Predicate.BuildDefinition.ResolvedDependencies
	if b.VCS.Known() {
		rd := ResourceDescriptor{
			Name:        b.mainName(),
			Annotations: map[string]any{"vcs": b.VCS.System, "vcs.modified": b.VCS.Modified},
		}
		if !b.VCS.Time.IsZero() {
			rd.Annotations["vcs.time"] = b.VCS.Time.UTC().Format("2006-01-02T15:04:05Z")
		}
		if b.VCS.System == "git" {
			rd.Digest = map[string]string{"gitCommit": b.VCS.Revision}
		} else {
			rd.Annotations["vcs.revision"] = b.VCS.Revision
		}
		*deps = append(*deps, rd)
	}
	if b.GoVersion != "" {
		*deps = append(*deps, ResourceDescriptor{URI: "pkg:golang/stdlib@" + purlEscape(b.stdlibVersion()), Name: "stdlib"})
	}
	for _, m := range b.Modules {
		e := m.Effective()
		rd := ResourceDescriptor{URI: e.PURL(), Name: e.Path}
		if e.IsLocal() {
			rd.Name = m.Path
		}
		if sha, ok := e.SHA256(); ok {
			rd.Digest = map[string]string{"dirHash": sha}
		}
		if m.Replace != nil {
			rd.Annotations = map[string]any{"replaces": replaceNote(m)}
		}
		*deps = append(*deps, rd)
	}
	return st, nil
}

// ProvenanceJSON returns [Build.Provenance] as indented JSON (map keys
// sorted, so the bytes are deterministic).
func (b *Build) ProvenanceJSON(o Options) ([]byte, error) {
	st, err := b.Provenance(o)
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func fileSHA256(path string) (string, error) {
	//paved:allow G304 the path is the caller's own argument: reading the file it names is this function's job
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
