package analyzers

import (
	"crypto/tls"
	"go/ast"
	"go/constant"
	"go/token"
	"go/version"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// HTTPServer reports HTTP servers started with net/http directly
// (http.ListenAndServe and friends) and http.Server literals that set
// neither ReadHeaderTimeout nor ReadTimeout (PAV100). Test files are
// skipped: httptest servers are not the road's concern.
var HTTPServer = &analysis.Analyzer{
	Name:     "httpserver",
	Doc:      "report net/http servers without timeouts where httpx would serve (PAV100)",
	Run:      runHTTPServer,
	Requires: requires,
}

func runHTTPServer(pass *analysis.Pass) (any, error) {
	x := index(pass)
	inspectorOf(pass).Preorder([]ast.Node{(*ast.CallExpr)(nil), (*ast.CompositeLit)(nil)}, func(n ast.Node) {
		if isTestFile(pass, n) {
			return
		}
		switch n := n.(type) {
		case *ast.CallExpr:
			fn := callee(pass.TypesInfo, n)
			if isPkgFunc(fn, "net/http", "ListenAndServe", "ListenAndServeTLS", "Serve", "ServeTLS") {
				report(pass, x, n.Pos(), RuleHTTPServer, "http."+fn.Name()+" serves with no read, write or idle timeout")
			}
		case *ast.CompositeLit:
			if !isNamed(pass.TypesInfo.TypeOf(n), "net/http", "Server") {
				return
			}
			f := fields(n)
			if f["ReadHeaderTimeout"] == nil && f["ReadTimeout"] == nil {
				report(pass, x, n.Pos(), RuleHTTPServer, "http.Server without ReadHeaderTimeout or ReadTimeout is open to slow-loris clients")
			}
		}
	})
	return nil, nil
}

// HTTPClient reports outbound http.Client literals without a Timeout and
// calls that use http.DefaultClient (http.Get, http.Post...) (PAV101).
var HTTPClient = &analysis.Analyzer{
	Name:     "httpclient",
	Doc:      "report outbound http.Client values without a timeout (PAV101)",
	Run:      runHTTPClient,
	Requires: requires,
}

func runHTTPClient(pass *analysis.Pass) (any, error) {
	x := index(pass)
	inspectorOf(pass).WithStack([]ast.Node{(*ast.CallExpr)(nil), (*ast.CompositeLit)(nil), (*ast.SelectorExpr)(nil)}, func(n ast.Node, push bool, stack []ast.Node) bool {
		if !push || isTestFile(pass, n) {
			return true
		}
		switch n := n.(type) {
		case *ast.CallExpr:
			if fn := callee(pass.TypesInfo, n); isPkgFunc(fn, "net/http", "Get", "Head", "Post", "PostForm") {
				report(pass, x, n.Pos(), RuleHTTPClient, "http."+fn.Name()+" uses http.DefaultClient, which has no timeout")
			}
		case *ast.SelectorExpr:
			if obj := pass.TypesInfo.Uses[n.Sel]; obj != nil && obj.Pkg() != nil && obj.Pkg().Path() == "net/http" && obj.Name() == "DefaultClient" && !returned(stack) {
				report(pass, x, n.Pos(), RuleHTTPClient, "http.DefaultClient has no timeout")
			}
		case *ast.CompositeLit:
			if isNamed(pass.TypesInfo.TypeOf(n), "net/http", "Client") && fields(n)["Timeout"] == nil && !returned(stack) {
				report(pass, x, n.Pos(), RuleHTTPClient, "http.Client without Timeout waits for a stalled server for ever")
			}
		}
		return true
	})
	return nil, nil
}

// returned reports whether the innermost node of stack is a function's
// result (possibly through &): a constructor hands the client to its
// caller, whose deadline or Timeout governs it.
func returned(stack []ast.Node) bool {
	for i := len(stack) - 2; i >= 0; i-- {
		switch p := stack[i].(type) {
		case *ast.ReturnStmt:
			return true
		case *ast.UnaryExpr:
			if p.Op == token.AND {
				continue
			}
			return false
		case *ast.ParenExpr:
			continue
		default:
			return false
		}
	}
	return false
}

// TLSConfig reports tls.Config values weaker than Go's defaults:
// InsecureSkipVerify, a MinVersion below TLS 1.2, non-AEAD cipher suites
// (PAV102). An unset MinVersion is reported only where the go line makes
// Go's default unsafe (servers before go1.22, everything before go1.18).
var TLSConfig = &analysis.Analyzer{
	Name:     "tlsconfig",
	Doc:      "report tls.Config weaker than Go's defaults for the module's go line (PAV102)",
	Run:      runTLSConfig,
	Requires: requires,
}

func runTLSConfig(pass *analysis.Pass) (any, error) {
	x := index(pass)
	inspectorOf(pass).Preorder([]ast.Node{(*ast.CompositeLit)(nil), (*ast.AssignStmt)(nil)}, func(n ast.Node) {
		switch n := n.(type) {
		case *ast.CompositeLit:
			if !isNamed(pass.TypesInfo.TypeOf(n), "crypto/tls", "Config") {
				return
			}
			f := fields(n)
			for name, v := range f {
				checkTLSField(pass, x, name, v)
			}
			if f["MinVersion"] == nil {
				goLine := fileGoVersion(pass, n)
				server := f["Certificates"] != nil || f["GetCertificate"] != nil || f["GetConfigForClient"] != nil
				if version.Compare(goLine, "go1.18") < 0 || (server && version.Compare(goLine, "go1.22") < 0) {
					shown := goLine
					if shown == "" {
						shown = "an unknown go line"
					}
					report(pass, x, n.Pos(), RuleTLS, "tls.Config without MinVersion accepts TLS 1.0 under "+shown+" (Go's default is TLS 1.2 from go1.22 for servers)")
				}
			}
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				sel, ok := lhs.(*ast.SelectorExpr)
				if !ok || i >= len(n.Rhs) || len(n.Lhs) != len(n.Rhs) {
					continue
				}
				if isNamed(pass.TypesInfo.TypeOf(sel.X), "crypto/tls", "Config") {
					checkTLSField(pass, x, sel.Sel.Name, n.Rhs[i])
				}
			}
		}
	})
	return nil, nil
}

func checkTLSField(pass *analysis.Pass, x *Index, name string, v ast.Expr) {
	switch name {
	case "InsecureSkipVerify":
		if c := constValue(pass.TypesInfo, v); c == nil || c.Kind() != constant.Bool || constant.BoolVal(c) {
			report(pass, x, v.Pos(), RuleTLS, "InsecureSkipVerify turns off certificate verification")
		}
	case "MinVersion", "MaxVersion":
		if c := constValue(pass.TypesInfo, v); c != nil {
			if n, ok := constant.Uint64Val(c); ok && n != 0 && n < tls.VersionTLS12 {
				report(pass, x, v.Pos(), RuleTLS, name+" "+tls.VersionName(uint16(n))+" is below TLS 1.2")
			}
		}
	case "CipherSuites":
		lit, ok := ast.Unparen(v).(*ast.CompositeLit)
		if !ok {
			return
		}
		for _, e := range lit.Elts {
			c := constValue(pass.TypesInfo, e)
			if c == nil {
				continue
			}
			if n, ok := constant.Uint64Val(c); ok && n <= 0xffff {
				s := tls.CipherSuiteName(uint16(n))
				if strings.Contains(s, "_CBC_") || strings.Contains(s, "RC4") || strings.Contains(s, "3DES") {
					report(pass, x, e.Pos(), RuleTLS, s+" is not an AEAD suite")
				}
			}
		}
	}
}

// fileGoVersion returns the go version that governs n: the file's
// //go:build line or the module's go line ("" when unknown).
func fileGoVersion(pass *analysis.Pass, n ast.Node) string {
	if f := fileOf(pass, n); f != nil {
		if v := pass.TypesInfo.FileVersions[f]; v != "" {
			return v
		}
	}
	if v := pass.Pkg.GoVersion(); v != "" {
		return v
	}
	if pass.Module != nil && pass.Module.GoVersion != "" {
		return "go" + pass.Module.GoVersion
	}
	return ""
}
