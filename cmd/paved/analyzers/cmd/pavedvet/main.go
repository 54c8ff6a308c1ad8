// Command pavedvet runs paved's analyzers and gosec's under `go vet`:
//
//	go install github.com/pavedroad/paved/cmd/paved/analyzers/cmd/pavedvet@latest
//	go vet -vettool=$(go env GOPATH)/bin/pavedvet ./...
//
// `paved vet` runs the same analyzers with text, JSON and SARIF output.
package main

import (
	"github.com/pavedroad/paved/cmd/paved/analyzers"
	"golang.org/x/tools/go/analysis/unitchecker"
)

func main() { unitchecker.Main(analyzers.All()...) }
