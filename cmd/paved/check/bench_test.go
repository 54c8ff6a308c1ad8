package check

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkFileDeployment judges one Deployment with the whole pack:
// read, parse, evaluate.
func BenchmarkFileDeployment(b *testing.B) {
	c, err := New(context.Background(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(b.TempDir(), "d.yaml")
	if err := os.WriteFile(p, []byte(goodPod), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := c.File(context.Background(), p); len(r.Errors) > 0 {
			b.Fatal(r.Errors)
		}
	}
}

// BenchmarkParseYAML is the parse alone.
func BenchmarkParseYAML(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(KindKubernetes, "p.yaml", []byte(goodPod), 1_000_000); err != nil {
			b.Fatal(err)
		}
	}
}
