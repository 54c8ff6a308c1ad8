package sbom

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The official schemas, vendored under testdata/schemas (see PROVENANCE.md
// there), compiled once with format assertions on.
var (
	schemaOnce            sync.Once
	spdxSchema, cdxSchema *jsonschema.Schema
	schemaErr             error
)

func schemas(t testing.TB) (spdx, cdx *jsonschema.Schema) {
	t.Helper()
	schemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		for url, file := range map[string]string{
			"http://spdx.org/rdf/terms/2.3":                    "spdx-2.3.schema.json",
			"http://cyclonedx.org/schema/bom-1.6.schema.json":  "cyclonedx-bom-1.6.schema.json",
			"http://cyclonedx.org/schema/spdx.schema.json":     "cyclonedx-spdx.schema.json",
			"http://cyclonedx.org/schema/jsf-0.82.schema.json": "cyclonedx-jsf-0.82.schema.json",
		} {
			f, err := os.Open(filepath.Join("testdata", "schemas", file))
			if err != nil {
				schemaErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(f)
			f.Close()
			if err != nil {
				schemaErr = err
				return
			}
			if err := c.AddResource(url, doc); err != nil {
				schemaErr = err
				return
			}
		}
		if spdxSchema, schemaErr = c.Compile("http://spdx.org/rdf/terms/2.3"); schemaErr != nil {
			return
		}
		cdxSchema, schemaErr = c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
	})
	if schemaErr != nil {
		t.Fatalf("schemas: %v", schemaErr)
	}
	return spdxSchema, cdxSchema
}

func validateJSON(t *testing.T, s *jsonschema.Schema, doc []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("schema violation: %v", err)
	}
}

// schemaBuilds are the builds every document is validated for.
func schemaBuilds(t *testing.T) map[string]*Build {
	t.Helper()
	out := map[string]*Build{"synthetic": mustBuild(t, testBuildInfoText), "300 modules": synthetic(t, 300)}
	if self, err := Self(); err == nil {
		out["self"] = self
	}
	if !testing.Short() {
		b, err := Read(testBinary(t))
		if err != nil {
			t.Fatal(err)
		}
		out["test binary"] = b
	}
	return out
}

func TestSchemaSPDX(t *testing.T) {
	spdx, _ := schemas(t)
	for name, b := range schemaBuilds(t) {
		for lname, o := range licenseOptions {
			t.Run(name+"/"+lname, func(t *testing.T) {
				doc, err := b.SPDXJSON(o)
				if err != nil {
					t.Fatal(err)
				}
				validateJSON(t, spdx, doc)
			})
		}
	}
}

func TestSchemaCycloneDX(t *testing.T) {
	_, cdx := schemas(t)
	for name, b := range schemaBuilds(t) {
		for lname, o := range licenseOptions {
			t.Run(name+"/"+lname, func(t *testing.T) {
				doc, err := b.CycloneDXJSON(o)
				if err != nil {
					t.Fatal(err)
				}
				validateJSON(t, cdx, doc)
			})
		}
	}
}

// The schemas do catch a broken document (a test of the test).
func TestSchemaRejects(t *testing.T) {
	spdx, cdx := schemas(t)
	for _, tt := range []struct {
		s   *jsonschema.Schema
		doc string
	}{
		{spdx, `{"spdxVersion":"SPDX-2.3"}`},
		{cdx, `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"x"}]}`},
	} {
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(tt.doc)))
		if err := tt.s.Validate(inst); err == nil {
			t.Errorf("%s validates", tt.doc)
		}
	}
}

var licenseOptions = map[string]Options{
	"undeclared": {},
	"expression": {License: "Apache-2.0 OR MIT"},
	"file":       {LicenseFile: []byte("Copyright 2026 Example\n\nPermission is granted...\n")},
}
