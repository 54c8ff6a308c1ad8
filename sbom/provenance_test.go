package sbom

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestProvenance(t *testing.T) {
	bin := testBinary(t)
	b, err := Read(bin)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	st, err := b.Provenance(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Type != StatementType || st.PredicateType != PredicateSLSAProvenance ||
		!reflect.DeepEqual(st.Subject, []ResourceDescriptor{{Name: "app", Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}}) {
		t.Errorf("statement header = %+v", st)
	}
	p := st.Predicate
	if p.BuildDefinition.BuildType != BuildTypeGoBuildInfo || p.RunDetails.Builder.ID != UnidentifiedBuilderID || p.RunDetails.Metadata != nil {
		t.Errorf("buildType %q builder %+v metadata %+v", p.BuildDefinition.BuildType, p.RunDetails.Builder, p.RunDetails.Metadata)
	}
	ext := p.BuildDefinition.ExternalParameters
	if ext["mainPackage"] != "example.com/sbomtest" || ext["settings"].(map[string]string)["-trimpath"] != "true" {
		t.Errorf("externalParameters = %v", ext)
	}
	if _, ok := p.BuildDefinition.InternalParameters["builderIdentity"]; ok {
		t.Errorf("a builder identity was invented: %v", p.BuildDefinition.InternalParameters)
	}
	deps := p.BuildDefinition.ResolvedDependencies
	// source commit, stdlib, then the three modules
	if len(deps) != 5 || deps[0].Digest["gitCommit"] != b.VCS.Revision || deps[1].Name != "stdlib" {
		t.Fatalf("resolvedDependencies = %+v", deps)
	}
	for _, d := range deps[2:] {
		switch d.Name {
		case "github.com/cespare/xxhash/v2":
			if d.URI != "pkg:golang/github.com/cespare/xxhash/v2@v2.3.0" || d.Digest["dirHash"] != "50bf35e7153d4aab059626f3ba08338d786883b6cbea85fd05b3599cbd9416fb" {
				t.Errorf("%+v", d)
			}
		case "golang.org/x/text":
			if d.URI != "pkg:golang/golang.org/x/text@v0.43.0" || d.Annotations["replaces"] == nil || len(d.Digest["dirHash"]) != 64 {
				t.Errorf("%+v", d)
			}
		case "github.com/dgryski/go-rendezvous":
			if d.URI != "" || d.Digest != nil {
				t.Errorf("local replacement %+v", d)
			}
		default:
			t.Errorf("unexpected dependency %+v", d)
		}
	}
	j1, err := b.ProvenanceJSON(Options{})
	if err != nil {
		t.Fatal(err)
	}
	j2, _ := b.ProvenanceJSON(Options{})
	if string(j1) != string(j2) || !json.Valid(j1) {
		t.Errorf("provenance JSON not deterministic or not JSON")
	}
}

func TestProvenanceBuilderFromEnv(t *testing.T) {
	gh := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app",
		"GITHUB_WORKFLOW_REF": "acme/app/.github/workflows/build.yml@refs/heads/main", "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2",
		"GITHUB_SHA": "abc",
	}
	gl := map[string]string{"GITLAB_CI": "true", "CI_SERVER_URL": "https://gitlab.com", "CI_PROJECT_PATH": "acme/app", "CI_RUNNER_ID": "7", "CI_JOB_URL": "https://gitlab.com/acme/app/-/jobs/9"}
	tests := []struct {
		name string
		env  map[string]string
		want *Builder
	}{
		{"none", map[string]string{"CI": "true"}, nil},
		{"github", gh, &Builder{
			ID: "https://github.com/acme/app/.github/workflows/build.yml@refs/heads/main", Source: "environment: GITHUB_ACTIONS",
			InvocationID: "https://github.com/acme/app/actions/runs/42/attempts/2",
			Metadata:     map[string]string{"GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_SHA": "abc"},
		}},
		{"gitlab", gl, &Builder{
			ID: "https://gitlab.com/acme/app/-/runners/7", Source: "environment: GITLAB_CI", InvocationID: "https://gitlab.com/acme/app/-/jobs/9",
			Metadata: map[string]string{"CI_PROJECT_PATH": "acme/app"},
		}},
	}
	for _, tt := range tests {
		got := BuilderFromEnv(func(k string) string { return tt.env[k] })
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: BuilderFromEnv = %+v, want %+v", tt.name, got, tt.want)
		}
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Read(exe)
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.Provenance(Options{Builder: tests[1].want})
	if err != nil {
		t.Fatal(err)
	}
	id := st.Predicate.BuildDefinition.InternalParameters["builderIdentity"].(map[string]any)
	if st.Predicate.RunDetails.Builder.ID != tests[1].want.ID || id["verified"] != false || id["source"] != "environment: GITHUB_ACTIONS" ||
		st.Predicate.RunDetails.Metadata.InvocationID != tests[1].want.InvocationID || st.Subject[0].Name != filepath.Base(exe) {
		t.Errorf("predicate = %+v", st.Predicate)
	}
}

func TestProvenanceNoSubject(t *testing.T) {
	if _, err := mustBuild(t, testBuildInfoText).Provenance(Options{}); !errors.Is(err, ErrNoSubject) {
		t.Errorf("Provenance of a bare BuildInfo: %v, want ErrNoSubject", err)
	}
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := self.Provenance(Options{}); err != nil {
		t.Errorf("Provenance of Self: %v", err)
	}
}
