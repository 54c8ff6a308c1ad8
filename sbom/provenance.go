package sbom

// A Builder is the identity of the system that built a binary, as a CI
// system reports it through its environment.
type Builder struct {
	// ID is the builder's URI (SLSA builder.id).
	ID string
	// Source says where the identity came from, such as
	// "environment: GITHUB_ACTIONS"; it is recorded beside it.
	Source string
	// Metadata are further values from the same source (run ID, workflow).
	Metadata map[string]string
}

// BuilderFromEnv returns the builder identity a known CI system puts in the
// environment (getenv is usually os.Getenv), or nil outside one.
func BuilderFromEnv(getenv func(string) string) *Builder { return nil }

// Provenance returns an in-toto Statement v1 whose predicate is SLSA v1
// build provenance derived from the build info only.
func (b *Build) Provenance(o Options) (*Statement, error) { return nil, errTODO }

// ProvenanceJSON returns [Build.Provenance] as JSON.
func (b *Build) ProvenanceJSON(o Options) ([]byte, error) { return nil, errTODO }

// A Statement is an in-toto Statement v1.
type Statement struct{}
