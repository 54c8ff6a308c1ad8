package analyzers

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"regexp"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// OptOutReason reports paved opt-outs (calls returning a type named
// OptOut with a parameter named reason, such as httpx.AllowPlainHTTP)
// whose constant reason is empty, a placeholder or shorter than a
// sentence (PAV103).
var OptOutReason = &analysis.Analyzer{
	Name:     "optoutreason",
	Doc:      "report paved opt-outs whose reason is empty, a placeholder or shorter than a sentence (PAV103)",
	Run:      runOptOutReason,
	Requires: requires,
}

func runOptOutReason(pass *analysis.Pass) (any, error) {
	x := index(pass)
	inspectorOf(pass).Preorder([]ast.Node{(*ast.CallExpr)(nil)}, func(n ast.Node) {
		call := n.(*ast.CallExpr)
		fn := callee(pass.TypesInfo, call)
		if fn == nil {
			return
		}
		sig := fn.Type().(*types.Signature)
		if sig.Results().Len() != 1 || !isOptOut(sig.Results().At(0).Type()) {
			return
		}
		for i := 0; i < sig.Params().Len() && i < len(call.Args); i++ {
			if sig.Params().At(i).Name() != "reason" {
				continue
			}
			c := constValue(pass.TypesInfo, call.Args[i])
			if c == nil || c.Kind() != constant.String {
				return // a reason computed at run time is checked at start-up
			}
			if reason := constant.StringVal(c); !ReasonOK(reason) {
				report(pass, x, call.Args[i].Pos(), RuleOptOutReason, fn.Name()+" reason "+quoteShort(reason)+" does not say why")
			}
		}
	})
	return nil, nil
}

func isOptOut(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Name() == "OptOut" && n.Obj().Pkg() != nil && strings.HasSuffix(n.Obj().Pkg().Path(), "paved")
}

func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return `"` + s + `"`
}

// Revealed reports a secret revealed (a Reveal or RevealBytes method
// call) inside the arguments of a log, fmt or HTTP response call (PAV104).
var Revealed = &analysis.Analyzer{
	Name:     "revealed",
	Doc:      "report a secret's Reveal() passed into a log, format or response call (PAV104)",
	Run:      runRevealed,
	Requires: requires,
}

func runRevealed(pass *analysis.Pass) (any, error) {
	x := index(pass)
	// Variables that hold a revealed value (tok := s.Reveal()), so that a
	// sink given the variable is reported as one given the call.
	held := map[types.Object]bool{}
	inspectorOf(pass).Preorder([]ast.Node{(*ast.AssignStmt)(nil), (*ast.ValueSpec)(nil)}, func(n ast.Node) {
		var lhs []*ast.Ident
		var rhs []ast.Expr
		switch n := n.(type) {
		case *ast.AssignStmt:
			rhs = n.Rhs
			for _, l := range n.Lhs {
				id, _ := l.(*ast.Ident)
				lhs = append(lhs, id)
			}
		case *ast.ValueSpec:
			lhs, rhs = n.Names, n.Values
		}
		if len(lhs) != len(rhs) {
			return
		}
		for i, id := range lhs {
			if id != nil && revealedValue(pass, rhs[i]) {
				if obj := pass.TypesInfo.ObjectOf(id); obj != nil {
					held[obj] = true
				}
			}
		}
	})
	inspectorOf(pass).Preorder([]ast.Node{(*ast.CallExpr)(nil)}, func(n ast.Node) {
		call := n.(*ast.CallExpr)
		sink := sinkName(pass, call)
		if sink == "" {
			return
		}
		for _, a := range call.Args {
			ast.Inspect(a, func(m ast.Node) bool {
				switch m := m.(type) {
				case *ast.FuncLit:
					return false
				case *ast.Ident:
					if held[pass.TypesInfo.Uses[m]] {
						report(pass, x, m.Pos(), RuleRevealed, "revealed secret passed to "+sink)
						return false
					}
				case *ast.CallExpr:
					if fn := callee(pass.TypesInfo, m); fn != nil && (fn.Name() == "Reveal" || fn.Name() == "RevealBytes") {
						if sig := fn.Type().(*types.Signature); sig.Recv() != nil {
							report(pass, x, m.Pos(), RuleRevealed, "revealed secret passed to "+sink)
							return false
						}
					}
				}
				return true
			})
		}
	})
	return nil, nil
}

// sinkName names call when it logs, formats or writes a response.
func sinkName(pass *analysis.Pass, call *ast.CallExpr) string {
	fn := callee(pass.TypesInfo, call)
	if fn == nil || fn.Pkg() == nil {
		return ""
	}
	path := fn.Pkg().Path()
	rp, rn := recvNamed(fn)
	switch {
	case path == "fmt" || path == "log" || path == "log/slog":
		return path + "." + fn.Name()
	case rp == "net/http" && rn == "ResponseWriter" && fn.Name() == "Write":
		return "http.ResponseWriter.Write"
	case path == "net/http" && fn.Name() == "Error":
		return "http.Error"
	case path == "io" && fn.Name() == "WriteString" && len(call.Args) > 0 && isNamed(pass.TypesInfo.TypeOf(call.Args[0]), "net/http", "ResponseWriter"):
		return "io.WriteString to an http.ResponseWriter"
	case rp == "testing" && (rn == "T" || rn == "B" || rn == "common") && strings.HasPrefix(fn.Name(), "Log"):
		return "testing." + fn.Name()
	}
	return ""
}

// revealedValue reports whether e is a revealed secret's value: a Reveal
// or RevealBytes method call, its string conversion, or a concatenation
// holding one (not, say, its length).
func revealedValue(pass *analysis.Pass, e ast.Expr) bool {
	switch e := ast.Unparen(e).(type) {
	case *ast.BinaryExpr:
		return e.Op == token.ADD && (revealedValue(pass, e.X) || revealedValue(pass, e.Y))
	case *ast.CallExpr:
		if tv, ok := pass.TypesInfo.Types[e.Fun]; ok && tv.IsType() && len(e.Args) == 1 {
			return revealedValue(pass, e.Args[0]) // string(s.RevealBytes())
		}
		fn := callee(pass.TypesInfo, e)
		if fn == nil || (fn.Name() != "Reveal" && fn.Name() != "RevealBytes") {
			return false
		}
		sig, ok := fn.Type().(*types.Signature)
		return ok && sig.Recv() != nil
	}
	return false
}

// MathRand reports math/rand values that become tokens, keys, nonces,
// salts, passwords or IDs, judged by the name they are stored in or the
// function returning them (PAV105). Jitter, shuffles and sampling pass.
var MathRand = &analysis.Analyzer{
	Name:     "mathrand",
	Doc:      "report math/rand used for tokens, keys, nonces or IDs (PAV105)",
	Run:      runMathRand,
	Requires: requires,
}

// secretName matches identifier words that ask for unpredictability.
var secretName = regexp.MustCompile(`(?i)(token|secret|passw|nonce|salt|apikey|api_key|session|csrf|otp|(^|[a-z_])key$|(^|[a-z_])keys$|^key|^id$|id$|ids$|uuid)`)

// idFalse keeps words ending in "id" that are not identifiers.
var idFalse = regexp.MustCompile(`(?i)(valid|void|paid|android|grid|fluid|rapid|avoid|solid|hybrid|liquid|said|druid|humid|timid|vivid|candid|stupid)s?$`)

func sensitiveName(name string) bool {
	if name == "" || name == "_" {
		return false
	}
	if idFalse.MatchString(name) {
		return false
	}
	if strings.HasSuffix(name, "ID") || strings.HasSuffix(name, "IDs") || strings.HasSuffix(name, "Id") {
		return true
	}
	lower := strings.ToLower(name)
	if strings.HasSuffix(lower, "id") && !strings.HasSuffix(name, "Id") && name != "id" && !strings.HasSuffix(lower, "_id") {
		// "paid", "grid": a lower-case word ending in id is not an ID.
		return secretName.MatchString(strings.TrimSuffix(lower, "id"))
	}
	return secretName.MatchString(name)
}

func runMathRand(pass *analysis.Pass) (any, error) {
	x := index(pass)
	ins := inspectorOf(pass)
	ins.WithStack([]ast.Node{(*ast.CallExpr)(nil)}, func(n ast.Node, push bool, stack []ast.Node) bool {
		if !push {
			return true
		}
		call := n.(*ast.CallExpr)
		fn := callee(pass.TypesInfo, call)
		if fn == nil || fn.Pkg() == nil || (fn.Pkg().Path() != "math/rand" && fn.Pkg().Path() != "math/rand/v2") {
			return true
		}
		name := destination(stack)
		if !sensitiveName(name) && fn.Name() == "Read" && len(call.Args) == 1 {
			// Read fills its argument: the buffer's name, else the
			// enclosing function's, says what the bytes are for.
			if name = exprName(call.Args[0]); !sensitiveName(name) {
				name = enclosingFunc(stack)
			}
		}
		if sensitiveName(name) {
			report(pass, x, call.Pos(), RuleMathRand, fn.Pkg().Path()+"."+fn.Name()+" feeds "+name+", which must be unpredictable")
		}
		return true
	})
	return nil, nil
}

// enclosingFunc names the function declaration around the innermost node
// of stack ("" inside a function literal).
func enclosingFunc(stack []ast.Node) string {
	for i := len(stack) - 2; i >= 0; i-- {
		switch f := stack[i].(type) {
		case *ast.FuncDecl:
			return f.Name.Name
		case *ast.FuncLit:
			return ""
		}
	}
	return ""
}

// destination names where the value of the innermost node of stack goes:
// the assigned variable or field, the composite-literal key, or the
// enclosing function when it is returned.
func destination(stack []ast.Node) string {
	for i := len(stack) - 2; i >= 0; i-- {
		switch p := stack[i].(type) {
		case *ast.AssignStmt:
			for _, l := range p.Lhs {
				if s := exprName(l); s != "" {
					return s
				}
			}
			return ""
		case *ast.ValueSpec:
			for _, id := range p.Names {
				if id.Name != "_" {
					return id.Name
				}
			}
			return ""
		case *ast.KeyValueExpr:
			return exprName(p.Key)
		case *ast.ReturnStmt:
			for j := i - 1; j >= 0; j-- {
				switch f := stack[j].(type) {
				case *ast.FuncDecl:
					return f.Name.Name
				case *ast.FuncLit:
					return ""
				}
			}
			return ""
		case *ast.CallExpr:
			// an argument to another call: go on to where that call's value goes,
			// unless it is a call on the rand value itself (r.Intn).
			continue
		case *ast.BlockStmt, *ast.ExprStmt, *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt:
			return ""
		}
	}
	return ""
}

func exprName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.IndexExpr:
		return exprName(e.X)
	case *ast.SliceExpr:
		return exprName(e.X)
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			return strings.Trim(e.Value, "`\"")
		}
	}
	return ""
}

// SQLString reports SQL text built by concatenation or fmt.Sprintf and
// passed to database/sql or pgx query methods (PAV106).
var SQLString = &analysis.Analyzer{
	Name:     "sqlstring",
	Doc:      "report SQL built by concatenation or fmt.Sprintf passed to database/sql or pgx (PAV106)",
	Run:      runSQLString,
	Requires: requires,
}

var sqlMethods = map[string]bool{
	"Query": true, "QueryContext": true, "QueryRow": true, "QueryRowContext": true,
	"Exec": true, "ExecContext": true, "Prepare": true, "PrepareContext": true,
}

func isSQLReceiver(path string) bool {
	return path == "database/sql" || strings.HasPrefix(path, "github.com/jackc/pgx/") || strings.HasPrefix(path, "github.com/jmoiron/sqlx")
}

func runSQLString(pass *analysis.Pass) (any, error) {
	x := index(pass)
	inspectorOf(pass).Preorder([]ast.Node{(*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)}, func(n ast.Node) {
		var body *ast.BlockStmt
		switch n := n.(type) {
		case *ast.FuncDecl:
			body = n.Body
		case *ast.FuncLit:
			body = n.Body
		}
		if body == nil {
			return
		}
		// built[v] is where a local variable got a dynamic SQL string.
		built := map[types.Object]string{}
		ast.Inspect(body, func(m ast.Node) bool {
			switch m := m.(type) {
			case *ast.FuncLit:
				return m == n
			case *ast.AssignStmt:
				if len(m.Lhs) == len(m.Rhs) {
					for i, l := range m.Lhs {
						id, ok := l.(*ast.Ident)
						if !ok {
							continue
						}
						obj := pass.TypesInfo.ObjectOf(id)
						if how := dynamicString(pass, m.Rhs[i]); how != "" {
							built[obj] = how
						} else if m.Tok == token.ADD_ASSIGN {
							if constValue(pass.TypesInfo, m.Rhs[i]) == nil {
								built[obj] = "+="
							}
						} else {
							delete(built, obj)
						}
					}
				}
			case *ast.CallExpr:
				fn := callee(pass.TypesInfo, m)
				if fn == nil || !sqlMethods[fn.Name()] {
					return true
				}
				var path string
				if rp, _ := recvNamed(fn); rp != "" {
					path = rp
				} else if fn.Pkg() != nil {
					path = fn.Pkg().Path() // an interface method (pgx.Tx)
				}
				if !isSQLReceiver(path) {
					return true
				}
				sig := fn.Type().(*types.Signature)
				for i := 0; i < sig.Params().Len() && i < len(m.Args); i++ {
					if b, ok := sig.Params().At(i).Type().Underlying().(*types.Basic); !ok || b.Kind() != types.String {
						continue
					}
					arg := ast.Unparen(m.Args[i])
					how := dynamicString(pass, arg)
					if id, ok := arg.(*ast.Ident); ok && how == "" {
						how = built[pass.TypesInfo.ObjectOf(id)]
					}
					if how != "" {
						report(pass, x, arg.Pos(), RuleSQLString, "SQL text built by "+how+" reaches "+fn.Name())
					}
					break
				}
			}
			return true
		})
	})
	return nil, nil
}

// dynamicString says how e builds a non-constant string: "concatenation"
// or "fmt.Sprintf", or "" when it does not.
func dynamicString(pass *analysis.Pass, e ast.Expr) string {
	e = ast.Unparen(e)
	if constValue(pass.TypesInfo, e) != nil {
		return ""
	}
	switch e := e.(type) {
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			if b, ok := pass.TypesInfo.TypeOf(e).Underlying().(*types.Basic); ok && b.Info()&types.IsString != 0 {
				return "concatenation"
			}
		}
	case *ast.CallExpr:
		if fn := callee(pass.TypesInfo, e); isPkgFunc(fn, "fmt", "Sprintf") {
			for _, a := range e.Args {
				if constValue(pass.TypesInfo, a) == nil {
					return "fmt.Sprintf"
				}
			}
			return "" // a format of constants builds a constant text
		}
	}
	return ""
}
