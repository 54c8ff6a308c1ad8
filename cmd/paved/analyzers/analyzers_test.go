package analyzers_test

import (
	"path/filepath"
	"testing"

	"github.com/pavedroad/paved/cmd/paved/analyzers"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestRoad(t *testing.T) {
	dir := filepath.Join(analysistest.TestData(), "road")
	for _, c := range []struct {
		a   *analysis.Analyzer
		pkg string
	}{
		{analyzers.Allow, "./allow"},
		{analyzers.HTTPServer, "./server"},
		{analyzers.HTTPServer, "./gen"}, // generated: skipped
		{analyzers.HTTPClient, "./client"},
		{analyzers.TLSConfig, "./tls"},
		{analyzers.OptOutReason, "./optout"},
		{analyzers.Revealed, "./reveal"},
		{analyzers.MathRand, "./rand"},
		{analyzers.SQLString, "./sql"},
		{analyzers.Credential, "./creds"},
	} {
		t.Run(c.a.Name+c.pkg[1:], func(t *testing.T) {
			analysistest.Run(t, dir, c.a, c.pkg)
		})
	}
}

func TestTLSByGoLine(t *testing.T) {
	analysistest.Run(t, filepath.Join(analysistest.TestData(), "oldgo"), analyzers.TLSConfig, "./...")
}

func TestRulesUnique(t *testing.T) {
	seen := map[string]bool{}
	names := map[string]bool{}
	for _, a := range analyzers.Road {
		names[a.Name] = true
	}
	for _, r := range analyzers.Rules {
		if seen[r.ID] || r.CWE == 0 || r.Fix == "" || r.Summary == "" || r.Severity == 0 || !names[r.Name] {
			t.Errorf("rule %+v: duplicate or incomplete", r)
		}
		seen[r.ID] = true
	}
	var _ []*analysis.Analyzer = analyzers.All()
}
