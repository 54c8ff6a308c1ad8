package analyzers

import (
	_ "embed"
	"go/ast"
	"go/token"
	"os"
	"strings"
	"sync"

	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	"golang.org/x/tools/go/analysis"
)

//go:embed pavedrules.toml
var pavedRules string

// PavedRulesTOML is paved's gitleaks rules (short-form Vault tokens,
// AppRole secret-ids), appended to gitleaks' default configuration.
func PavedRulesTOML() string { return pavedRules }

var (
	cfgOnce sync.Once
	cfg     config.Config
	cfgErr  error
)

// GitleaksConfig returns gitleaks' default configuration extended with
// paved's rules. It is parsed once.
func GitleaksConfig() (config.Config, error) {
	cfgOnce.Do(func() {
		v := viper.New()
		v.SetConfigType("toml")
		if cfgErr = v.ReadConfig(strings.NewReader(config.DefaultConfig + "\n" + pavedRules)); cfgErr != nil {
			return
		}
		var vc config.ViperConfig
		if cfgErr = v.Unmarshal(&vc); cfgErr != nil {
			return
		}
		cfg, cfgErr = vc.Translate()
	})
	return cfg, cfgErr
}

// NewDetector returns a gitleaks detector with [GitleaksConfig].
func NewDetector() (*detect.Detector, error) {
	c, err := GitleaksConfig()
	if err != nil {
		return nil, err
	}
	return detect.NewDetector(c), nil
}

var (
	detOnce sync.Once
	det     *detect.Detector
	detErr  error
)

// Credential reports hard-coded credentials in string literals, found by
// gitleaks' detector with gitleaks' default rules and paved's (PAV107).
// Test files and generated files are skipped (`paved secrets` scans them).
var Credential = &analysis.Analyzer{
	Name:     "credential",
	Doc:      "report hard-coded credentials in string literals through gitleaks' detector (PAV107)",
	Run:      runCredential,
	Requires: requires,
}

// maxSourceBytes bounds the source handed to the detector per file.
const maxSourceBytes = 2 << 20

func runCredential(pass *analysis.Pass) (any, error) {
	detOnce.Do(func() { det, detErr = NewDetector() })
	if detErr != nil {
		return nil, detErr
	}
	x := index(pass)
	for _, f := range pass.Files {
		tf := pass.Fset.File(f.Pos())
		if tf == nil || x.Generated(f.Pos()) || strings.HasSuffix(tf.Name(), "_test.go") {
			continue
		}
		src, err := pass.ReadFile(tf.Name())
		if err != nil {
			src, err = os.ReadFile(tf.Name())
		}
		if err != nil || len(src) > maxSourceBytes {
			continue
		}
		findings := det.DetectBytes(src)
		if len(findings) == 0 {
			continue
		}
		// Keep the findings inside string literals, reported at the literal.
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			start, end := pass.Fset.Position(lit.Pos()).Line, pass.Fset.Position(lit.End()).Line
			for _, fd := range findings {
				line := fd.StartLine + 1 // gitleaks counts from 0 in a fragment
				if line >= start && line <= end && fd.Secret != "" && strings.Contains(lit.Value, fd.Secret) {
					report(pass, x, lit.Pos(), RuleCredential, "gitleaks rule "+fd.RuleID+" matches this literal ("+redact(fd.Secret)+")")
					break
				}
			}
			return true
		})
	}
	return nil, nil
}

// redact keeps a secret's first four characters.
func redact(s string) string {
	if len(s) <= 8 {
		return "****"
	}
	return s[:4] + strings.Repeat("*", 8)
}
