package check_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pavedroad/paved/cmd/paved/check"
)

// Judge one Dockerfile with the built-in pack.
func Example() {
	dir, _ := os.MkdirTemp("", "check")
	defer os.RemoveAll(dir)
	df := filepath.Join(dir, "Dockerfile")
	os.WriteFile(df, []byte("FROM golang:1.26\nADD https://example.com/tool.tgz /opt/\nUSER 65532\n"), 0o644)

	c, err := check.New(context.Background(), check.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range c.File(context.Background(), df).Findings {
		fmt.Printf("line %d: %s [%s]\n", f.Line, f.Rule, f.Severity)
	}
	// Output:
	// line 1: DOCKER-UNPINNED-BASE [medium]
	// line 2: DOCKER-ADD-URL [medium]
}
