package check

import "testing"

func TestDetect(t *testing.T) {
	for name, want := range map[string]string{
		"Dockerfile":                KindDockerfile,
		"build/Containerfile":       KindDockerfile,
		"Dockerfile.prod":           KindDockerfile,
		"api.dockerfile":            KindDockerfile,
		"Dockerfile.dockerignore":   "", // BuildKit's per-Dockerfile ignore list
		".dockerignore":             "",
		".github/workflows/ci.yaml": KindGitHubActions,
		"deploy/kubernetes.yml":     KindKubernetes,
		"main.tf":                   KindTerraform,
		"plan.json":                 "json",
		"README.md":                 "",
	} {
		if got := Detect(name); got != want {
			t.Errorf("Detect(%q) = %q, want %q", name, got, want)
		}
	}
}
