package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/keys"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// readLocal reads the FS, Dir or Bundle.File source as a bundle.
func (e *Engine) readLocal() (*bundle.Bundle, error) {
	cfg := e.cfg
	switch {
	case cfg.FS != nil:
		l, err := bundle.NewFSLoader(cfg.FS)
		if err != nil {
			return nil, err
		}
		return e.readBundle(l, nil, true)
	case cfg.Dir != "":
		if _, err := os.Stat(cfg.Dir); err != nil {
			return nil, err
		}
		l, err := bundle.NewFSLoader(os.DirFS(cfg.Dir))
		if err != nil {
			return nil, err
		}
		return e.readBundle(l, nil, true)
	default:
		f, err := os.Open(cfg.Bundle.File)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		raw, err := io.ReadAll(io.LimitReader(f, cfg.Bundle.MaxBytes+1))
		if err != nil {
			return nil, err
		}
		return e.readTarball(raw, "", len(cfg.Bundle.Keys) == 0)
	}
}

// errTooLarge reports a bundle over Bundle.MaxBytes.
var errTooLarge = errors.New("bundle larger than Bundle.MaxBytes")

// readTarball reads a bundle archive, verifying its signature unless
// unsigned is allowed and no keys are configured.
func (e *Engine) readTarball(raw []byte, etag string, skipVerify bool) (*bundle.Bundle, error) {
	max := e.cfg.Bundle.MaxBytes
	if int64(len(raw)) > max {
		return nil, fmt.Errorf("%w (%d bytes)", errTooLarge, max)
	}
	if err := checkTarball(raw, max); err != nil {
		return nil, err
	}
	l := bundle.NewTarballLoaderWithBaseURL(bytes.NewReader(raw), "").WithSizeLimitBytes(max)
	var vc *bundle.VerificationConfig
	if !skipVerify {
		vc = e.verificationConfig()
	}
	b, err := e.readBundle(l, vc, skipVerify)
	if err != nil {
		return nil, err
	}
	b.Etag = etag
	return b, nil
}

// verificationConfig builds OPA's bundle verification from Bundle.Keys.
// Without AllowUnsignedBundle a signature is required.
func (e *Engine) verificationConfig() *bundle.VerificationConfig {
	ks := make(map[string]*keys.Config, len(e.cfg.Bundle.Keys))
	for id, k := range e.cfg.Bundle.Keys {
		alg := k.Algorithm
		if alg == "" {
			alg = "RS256"
		}
		ks[id] = &keys.Config{Key: k.Key, Algorithm: alg}
	}
	vc := bundle.NewVerificationConfig(ks, e.cfg.Bundle.KeyID, e.cfg.Bundle.Scope, e.cfg.Bundle.Exclude)
	if e.unsignedAllowed() {
		vc = vc.WithOptionalSignature()
	}
	return vc
}

func (e *Engine) unsignedAllowed() bool {
	for _, o := range e.cfg.OptOuts {
		if o.Component == Component && o.Name == OptOutAllowUnsignedBundle {
			return true
		}
	}
	return false
}

func (e *Engine) readBundle(l bundle.DirectoryLoader, vc *bundle.VerificationConfig, skipVerify bool) (*bundle.Bundle, error) {
	r := bundle.NewCustomReader(l).
		WithCapabilities(e.caps).
		WithRegoVersion(ast.RegoV1).
		WithSizeLimitBytes(e.cfg.Bundle.MaxBytes).
		WithSkipBundleVerification(skipVerify)
	if vc != nil {
		r = r.WithBundleVerificationConfig(vc)
	}
	b, err := r.Read()
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// build compiles b into a snapshot: modules with the engine's capabilities
// and refused built-ins, data into an in-memory store that returns AST
// values (no conversion on read), every declared query prepared.
func (e *Engine) build(b *bundle.Bundle) (*snapshot, error) {
	modules := make(map[string]*ast.Module, len(b.Modules))
	for _, m := range b.Modules {
		if m.Parsed == nil {
			parsed, err := ast.ParseModuleWithOpts(m.Path, string(m.Raw), ast.ParserOptions{Capabilities: e.caps, RegoVersion: ast.RegoV1})
			if err != nil {
				return nil, err
			}
			m.Parsed = parsed
		}
		modules[strings.TrimPrefix(m.Path, "/")] = m.Parsed
	}
	c := ast.NewCompiler().
		WithCapabilities(e.caps).
		WithEnablePrintStatements(false)
	c.Compile(modules)
	if c.Failed() {
		return nil, e.compileErrors(c.Errors)
	}
	data := b.Data
	if data == nil {
		data = map[string]any{}
	}
	store := inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	s := &snapshot{compiler: c, store: store, revision: b.Manifest.Revision, loadedAt: time.Now(), cache: newDecisionCache(e.cfg.CacheSize)}
	impure := nondeterministicCalls(c)
	for i, q := range e.cfg.Queries {
		ref, _ := parseDataRef(q.Path)
		if !defined(c, data, ref) {
			return nil, fmt.Errorf("query %q: %s matches no rule and no data", q.Name, q.Path)
		}
		if q.Pure && len(impure) > 0 {
			return nil, fmt.Errorf("query %q is declared Pure but the policy calls non-deterministic built-ins: %s", q.Name, strings.Join(impure, "; "))
		}
		p, err := prepare(c, ref, q.Pure, i)
		if err != nil {
			return nil, fmt.Errorf("query %q: %w", q.Name, err)
		}
		s.queries = append(s.queries, p)
	}
	// Evaluate each query once, its result ignored, before the snapshot
	// serves: the first evaluation after a load pays for lazily built
	// structures (sorted data objects, indices) and would otherwise meet
	// the deadline with that cost. Not when a policy may reach the network.
	if len(e.allowed) == 0 {
		for _, p := range s.queries {
			_, _ = s.eval(context.Background(), p, ast.NewObject(), time.Second)
		}
	}
	return s, nil
}

// compileErrors returns the compiler's errors, each with its file:line, as
// one error; a call to a refused built-in says how to opt in.
func (e *Engine) compileErrors(errs ast.Errors) error {
	msgs := make([]string, 0, len(errs))
	for _, ce := range errs {
		msg := ce.Error()
		for name := range e.unsafe {
			if strings.Contains(ce.Message, "undefined function "+name) {
				msg += fmt.Sprintf(" (refused: it reaches the network or the host; opt in with policy.AllowBuiltin(%q, reason))", name)
			}
		}
		msgs = append(msgs, msg)
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// defined reports whether ref names a rule (or a package holding rules)
// or a value in data.
func defined(c *ast.Compiler, data map[string]any, ref ast.Ref) bool {
	if len(c.GetRulesWithPrefix(ref)) > 0 || len(c.GetRulesForVirtualDocument(ref)) > 0 {
		return true
	}
	var cur any = data
	for _, t := range ref[1:] {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[string(t.Value.(ast.String))]; !ok {
			return false
		}
	}
	return true
}

// nondeterministicCalls lists, as file:line name, each call to a
// non-deterministic built-in in c's modules.
func nondeterministicCalls(c *ast.Compiler) []string {
	var out []string
	for _, m := range c.Modules {
		ast.WalkExprs(m, func(x *ast.Expr) bool {
			if !x.IsCall() {
				return false
			}
			name := x.Operator().String()
			if b, ok := ast.BuiltinMap[name]; ok && b.Nondeterministic {
				loc := name
				if x.Location != nil {
					loc = fmt.Sprintf("%s:%d %s", x.Location.File, x.Location.Row, name)
				}
				out = append(out, loc)
			}
			return false
		})
	}
	sort.Strings(out)
	return out
}
