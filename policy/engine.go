package policy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/pavedroad/paved"
)

// An Engine evaluates decisions against the policy it loaded. It is safe
// for concurrent use: decisions read an immutable snapshot of the policy,
// and a new policy replaces the snapshot atomically.
type Engine struct {
	cfg     Config
	caps    *ast.Capabilities
	unsafe  map[string]struct{}
	allowed map[string]bool
	bounds  bounds
	reg     *paved.Registration
	logger  *slog.Logger
	queries map[string]int // declared name -> index

	snap atomic.Pointer[snapshot]

	// status of the remote source, for readiness.
	mu        sync.Mutex
	lastErr   error
	lastFetch time.Time
	remote    *remoteSource
}

// snapshot is one loaded policy: compiled modules, data and prepared
// queries. It is never changed once published.
type snapshot struct {
	compiler *ast.Compiler
	store    storage.Store
	revision string
	loadedAt time.Time
	queries  []*prepared // by declared index
	adhoc    sync.Map    // path -> *prepared
	cache    *decisionCache
}

type prepared struct {
	body ast.Body
	qc   ast.QueryCompiler
	out  ast.Var
	pure bool
	idx  int // declared index, or -1
}

// resultVar is the variable a query binds the decision document to.
const resultVar = ast.Var("paved_decision")

// New validates cfg, loads its policy source and prepares its queries. A
// local source (FS, Dir, Bundle.File) that does not load or compile fails
// New with errors naming file:line. A remote source (Bundle.URL) is
// fetched once under ctx; when that fails New still returns the engine,
// not ready until [Engine.Run] fetches a good bundle.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	e, err := newEngine(cfg)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Bundle.URL != "":
		e.remote = newRemote(e)
		if err := e.remote.fetch(ctx); err != nil {
			e.logger.LogAttrs(ctx, slog.LevelWarn, "policy: first bundle fetch failed; not ready until one loads",
				slog.String("url", redactURL(cfg.Bundle.URL)), slog.String("error", err.Error()))
		}
	default:
		b, err := e.readLocal()
		if err != nil {
			return nil, &Error{Cause: "load", Err: fmt.Errorf("%w: %w", ErrLoad, err)}
		}
		if err := e.activate(ctx, b); err != nil {
			return nil, err
		}
	}
	paved.PostureOrDefault(cfg.Posture).LogOptOuts(ctx, e.logger)
	return e, nil
}

func newEngine(cfg Config) (*Engine, error) {
	c := paved.ConfigCheck{Component: Component}
	sources := 0
	for _, set := range []bool{cfg.FS != nil, cfg.Dir != "", cfg.Bundle.File != "", cfg.Bundle.URL != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		c.Add("Config", fmt.Sprintf("%d policy sources set", sources), "set exactly one of FS, Dir, Bundle.File, Bundle.URL")
	}
	cfg.Timeout = durationField(&c, "Config.Timeout", cfg.Timeout, DefaultTimeout, time.Millisecond, 10*time.Second)
	cfg.MaxInputDepth = intField(&c, "Config.MaxInputDepth", cfg.MaxInputDepth, DefaultMaxInputDepth, 2, 1000)
	cfg.MaxInputNodes = intField(&c, "Config.MaxInputNodes", cfg.MaxInputNodes, DefaultMaxInputNodes, 10, 10_000_000)
	cfg.MaxInputBytes = intField(&c, "Config.MaxInputBytes", cfg.MaxInputBytes, DefaultMaxInputBytes, 1<<10, 1<<30)
	cfg.CacheSize = intField(&c, "Config.CacheSize", cfg.CacheSize, DefaultCacheSize, 1, 10_000_000)
	validateBundle(&c, &cfg)

	e := &Engine{cfg: cfg, queries: make(map[string]int), allowed: make(map[string]bool)}
	e.logger = cfg.Logger
	if e.logger == nil {
		e.logger = slog.Default()
	}
	e.bounds = bounds{depth: cfg.MaxInputDepth, nodes: cfg.MaxInputNodes, bytes: cfg.MaxInputBytes}

	refused := RefusedBuiltins()
	var unsignedOK bool
	for i, o := range cfg.OptOuts {
		field := fmt.Sprintf("Config.OptOuts[%d]", i)
		if err := o.Validate(); err != nil {
			c.AddErr(field, err, `give a reason, such as policy.AllowUnsignedBundle("bundle server on loopback")`)
			continue
		}
		if o.Component != Component {
			c.Add(field, fmt.Sprintf("opt-out %s belongs to %s", o.Name, o.Component), "put it in that component's configuration")
			continue
		}
		if name, ok := allowedBuiltin(o); ok {
			if !contains(refused, name) {
				c.Add(field, fmt.Sprintf("%q is not a refused built-in", name), "allow one of "+strings.Join(refused, ", "))
				continue
			}
			e.allowed[name] = true
			continue
		}
		if o.Name == OptOutAllowUnsignedBundle {
			if cfg.Bundle.URL == "" {
				c.Add(field, "allow-unsigned-bundle without Bundle.URL", "remove it: only remote bundles must be signed")
			}
			unsignedOK = true
			continue
		}
		c.Add(field, fmt.Sprintf("unknown opt-out %q", o.Name), "use AllowUnsignedBundle or AllowBuiltin")
	}
	if cfg.Bundle.URL != "" && len(cfg.Bundle.Keys) == 0 && !unsignedOK {
		c.Add("Config.Bundle.Keys", "a remote bundle needs verification keys", `set Keys, or opt out with policy.AllowUnsignedBundle("reason")`)
	}
	if len(cfg.HTTPSendHosts) > 0 && !e.allowed["http.send"] {
		c.Add("Config.HTTPSendHosts", "set without allowing http.send", `add policy.AllowBuiltin("http.send", "reason") to OptOuts, or remove HTTPSendHosts`)
	}
	for i, h := range cfg.HTTPSendHosts {
		if _, _, err := net.SplitHostPort(h); err == nil || h == "" || strings.ContainsAny(h, "/ *[]") {
			c.Add(fmt.Sprintf("Config.HTTPSendHosts[%d]", i), fmt.Sprintf("%q is not a host name", h), `want a host name without port or scheme, such as "api.example.com"`)
		}
	}
	for i, q := range cfg.Queries {
		field := fmt.Sprintf("Config.Queries[%d]", i)
		if q.Name == "" {
			c.Add(field+".Name", "empty", `name the query, such as "http"`)
		} else if _, dup := e.queries[q.Name]; dup {
			c.Add(field+".Name", fmt.Sprintf("%q declared twice", q.Name), "give each query its own name")
		}
		if _, err := parseDataRef(q.Path); err != nil {
			c.Add(field+".Path", err.Error(), `want a data reference such as "data.httpapi.authz.decision"`)
		}
		e.queries[q.Name] = i
	}
	if err := c.Err(); err != nil {
		return nil, err
	}

	e.caps = ast.CapabilitiesForThisVersion()
	// allow_net: nil lets http.send reach any host, so an empty list
	// must be an empty (non-nil) slice.
	e.caps.AllowNet = append([]string{}, cfg.HTTPSendHosts...)
	// A refused built-in is left out of the capabilities, so that a
	// module calling it fails to compile, at its file:line.
	e.unsafe = make(map[string]struct{})
	for _, name := range refused {
		if !e.allowed[name] {
			e.unsafe[name] = struct{}{}
		}
	}
	kept := e.caps.Builtins[:0:0]
	for _, b := range e.caps.Builtins {
		if _, refuse := e.unsafe[b.Name]; !refuse {
			kept = append(kept, b)
		}
	}
	e.caps.Builtins = kept
	e.cfg = cfg
	e.register(unsignedOK)
	return e, nil
}

func (e *Engine) register(unsigned bool) {
	cfg := e.cfg
	e.reg = paved.PostureOrDefault(cfg.Posture).Register(Component, cfg.Name)
	for _, o := range cfg.OptOuts {
		_ = e.reg.AddOptOut(o)
	}
	src := "fs"
	switch {
	case cfg.Dir != "":
		src = "dir " + cfg.Dir
	case cfg.Bundle.File != "":
		src = "bundle file " + cfg.Bundle.File
	case cfg.Bundle.URL != "":
		src = "bundle " + redactURL(cfg.Bundle.URL)
	}
	signed := cfg.Bundle.URL == "" || len(cfg.Bundle.Keys) > 0
	detail := src
	switch {
	case len(cfg.Bundle.Keys) > 0 && unsigned:
		detail += ", signature verified when present (allow-unsigned-bundle)"
	case len(cfg.Bundle.Keys) > 0:
		detail += fmt.Sprintf(", signature required (%d keys)", len(cfg.Bundle.Keys))
	case unsigned:
		detail += ", unsigned (allow-unsigned-bundle)"
		signed = false
	default:
		detail += ", local source"
	}
	e.reg.SetControl("bundle-signature", signed, detail)
	var allowed []string
	for _, n := range RefusedBuiltins() {
		if e.allowed[n] {
			allowed = append(allowed, n)
		}
	}
	bd := "network and host built-ins refused"
	if len(allowed) > 0 {
		bd = "allowed: " + strings.Join(allowed, ", ")
		if e.allowed["http.send"] {
			bd += fmt.Sprintf("; http.send hosts: %s", strings.Join(cfg.HTTPSendHosts, ", "))
		}
	}
	e.reg.SetControl("builtins", len(allowed) == 0, bd)
	e.reg.SetControl("fail-closed", true, fmt.Sprintf("undefined, error, timeout and non-boolean deny; deadline %v", cfg.Timeout))
	e.reg.SetControl("input-bounds", true, fmt.Sprintf("depth %d, %d values, %d bytes", cfg.MaxInputDepth, cfg.MaxInputNodes, cfg.MaxInputBytes))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func parseDataRef(path string) (ast.Ref, error) {
	ref, err := ast.ParseRef(path)
	if err != nil {
		return nil, fmt.Errorf("%q is not a reference", path)
	}
	if !ref[0].Equal(ast.DefaultRootDocument) || len(ref) < 2 {
		return nil, fmt.Errorf("%q is not under data", path)
	}
	for _, t := range ref[1:] {
		if _, ok := t.Value.(ast.String); !ok {
			return nil, fmt.Errorf("%q has a variable part", path)
		}
	}
	return ref, nil
}

func durationField(c *paved.ConfigCheck, field string, v, def, lo, hi time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	if v < lo || v > hi {
		c.Add(field, fmt.Sprintf("%v is out of range", v), fmt.Sprintf("want from %v to %v, or 0 for %v", lo, hi, def))
	}
	return v
}

func intField(c *paved.ConfigCheck, field string, v, def, lo, hi int) int {
	if v == 0 {
		return def
	}
	if v < lo || v > hi {
		c.Add(field, fmt.Sprintf("%d is out of range", v), fmt.Sprintf("want from %d to %d, or 0 for %d", lo, hi, def))
	}
	return v
}

// activate compiles b into a snapshot and publishes it, or returns why
// not, leaving the current snapshot in place.
func (e *Engine) activate(ctx context.Context, b *bundle.Bundle) error {
	s, err := e.build(b)
	if err != nil {
		return &Error{Cause: "load", Err: fmt.Errorf("%w: %w", ErrLoad, err)}
	}
	old := e.snap.Swap(s)
	attrs := []slog.Attr{slog.String("revision", s.revision), slog.Int("modules", len(b.Modules))}
	if old != nil {
		attrs = append(attrs, slog.String("previous_revision", old.revision))
	}
	e.logger.LogAttrs(ctx, slog.LevelInfo, "policy: loaded", attrs...)
	return nil
}
