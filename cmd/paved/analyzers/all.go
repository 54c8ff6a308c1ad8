package analyzers

import "golang.org/x/tools/go/analysis"

// Road lists paved's own analyzers.
var Road = []*analysis.Analyzer{Allow, HTTPServer, HTTPClient, TLSConfig, OptOutReason, Revealed, MathRand, SQLString, Credential}

// All is Road plus the wrapped gosec analyzer: what `paved vet` runs.
func All() []*analysis.Analyzer { return append([]*analysis.Analyzer{Gosec}, Road...) }
