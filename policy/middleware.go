package policy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// Defaults applied by [NewAuthorizer] to zero fields of [AuthorizerConfig].
const (
	DefaultMaxHeaderValueBytes = 1 << 10
	DefaultMaxPathValueBytes   = 1 << 10
)

// AuthorizerConfig configures an [Authorizer]: HTTP authorization by
// policy, in front of handlers.
type AuthorizerConfig struct {
	// Name names the authorizer in the posture report; empty means
	// "http".
	Name string
	// Engine decides. Required.
	Engine *Engine
	// Query is the decision asked for a request whose route has no query
	// of its own in Routes: a name declared in the engine's
	// Config.Queries, or a data reference. Empty means every route needs
	// one in Routes (or goes through [Authorizer.Require]); a request
	// with no query is denied.
	Query string
	// Routes maps a route pattern, exactly as registered with the mux and
	// seen in r.Pattern ("DELETE /docs/{id}"), to the query that decides
	// its requests.
	Routes map[string]string

	// Headers names the request headers copied into input.headers, under
	// their lower-case names; several values of one are joined with ", ".
	// Default none. Credentials are refused, by the rule httpx's access
	// log redacts them by: Authorization, Proxy-Authorization, Cookie,
	// X-Api-Key, X-Auth-Token, X-Csrf-Token, X-Xsrf-Token and any name
	// holding token, secret, key, auth, cookie, session, passw, credential
	// or signature. The verified caller is input.principal.
	Headers []string
	// MaxHeaderValueBytes bounds each selected header's joined value.
	// Default 1 KiB; from 1 byte to 64 KiB. A longer one denies the
	// request (cause bad_input) without asking the policy.
	MaxHeaderValueBytes int
	// MaxPathValueBytes bounds each path parameter. Default 1 KiB; from 1
	// byte to 64 KiB. A longer one denies the request (cause bad_input).
	MaxPathValueBytes int

	// Resource, when set, returns further facts about the request's
	// target for input.resource (the owner of the requested document,
	// say). An error denies the request (cause bad_input).
	Resource func(r *http.Request) (map[string]any, error)

	// Now returns the time put in input.time; time.Now when nil.
	Now func() time.Time

	// Logger receives the authorizer's warnings; slog.Default when nil.
	// Decisions are logged by the engine's DecisionLog ([DecisionLog]).
	Logger *slog.Logger
	// Posture records the authorizer's control; paved.DefaultPosture
	// when nil.
	Posture *paved.Posture
	// Events receives a paved.EventAuthzDenied, with the request ID, for
	// every request denied; paved.DefaultSink when nil. The engine emits
	// the paved.EventPolicyDecision of every decision besides.
	Events paved.Sink
}

// An Authorizer asks the policy engine, for each request, whether to let
// it through, and answers 403 problem+json carrying the decision ID when
// not. Every failure denies: a policy that is undefined, errs, times out
// or is not loaded; input over its bounds; a Resource error.
//
// The input is an [Input] built from the request: method, path, the route
// pattern (r.Pattern), the pattern's path parameters (r.PathValue), the
// selected headers, the client address as httpx resolved it
// (httpx.ClientIP: the TCP peer, or the forwarded address from a trusted
// proxy), the time, and the principal that auth stored in the context
// (paved.PrincipalFrom).
//
// Put the middleware on routes, inside the mux (srv.Handle(pattern,
// authz.Middleware(h))): r.Pattern and the path parameters are only known
// once the mux has matched the request.
type Authorizer struct {
	cfg      AuthorizerConfig
	engine   *Engine
	fallback *Query
	routes   map[string]*Query
	headers  []headerSel
	logger   *slog.Logger
	now      func() time.Time
	params   sync.Map // route pattern -> []string wildcard names
}

type headerSel struct{ canon, key string }

// NewAuthorizer validates cfg and returns an Authorizer.
func NewAuthorizer(cfg AuthorizerConfig) (*Authorizer, error) {
	c := paved.ConfigCheck{Component: Component, Prefix: "AuthorizerConfig."}
	if cfg.Engine == nil {
		c.Add("Engine", "nil", "pass the *policy.Engine that policy.New returned")
	}
	if cfg.Name == "" {
		cfg.Name = "http"
	}
	cfg.MaxHeaderValueBytes = intField(&c, "MaxHeaderValueBytes", cfg.MaxHeaderValueBytes, DefaultMaxHeaderValueBytes, 1, 64<<10)
	cfg.MaxPathValueBytes = intField(&c, "MaxPathValueBytes", cfg.MaxPathValueBytes, DefaultMaxPathValueBytes, 1, 64<<10)
	a := &Authorizer{cfg: cfg, engine: cfg.Engine, routes: make(map[string]*Query, len(cfg.Routes)), now: cfg.Now}
	if a.now == nil {
		a.now = time.Now
	}
	a.logger = cfg.Logger
	if a.logger == nil {
		a.logger = slog.Default()
	}
	seen := map[string]bool{}
	for i, h := range cfg.Headers {
		field := fmt.Sprintf("Headers[%d]", i)
		canon := http.CanonicalHeaderKey(strings.TrimSpace(h))
		switch {
		case canon == "" || strings.ContainsAny(canon, " \t:\r\n"):
			c.Add(field, fmt.Sprintf("%q is not a header name", h), `want a name such as "X-Tenant"`)
			continue
		case httpx.IsCredentialHeader(canon):
			c.Add(field, fmt.Sprintf("%s carries credentials", canon), "remove it: the verified caller is input.principal (paved.PrincipalFrom), and decision logs must not hold credentials")
			continue
		case seen[canon]:
			c.Add(field, fmt.Sprintf("%s named twice", canon), "name each header once")
			continue
		}
		seen[canon] = true
		a.headers = append(a.headers, headerSel{canon: canon, key: strings.ToLower(canon)})
	}
	if cfg.Engine != nil {
		if cfg.Query != "" {
			a.fallback = cfg.Engine.Query(cfg.Query)
			if q := a.fallback; q.err != nil {
				c.AddErr("Query", q.err, `want a name declared in Config.Queries or a data reference such as "data.httpapi.authz.decision"`)
			}
		}
		patterns := make([]string, 0, len(cfg.Routes))
		for p := range cfg.Routes {
			patterns = append(patterns, p)
		}
		slices.Sort(patterns)
		for _, p := range patterns {
			q := cfg.Engine.Query(cfg.Routes[p])
			if q.err != nil {
				c.AddErr(fmt.Sprintf("Routes[%q]", p), q.err, "want a name declared in Config.Queries or a data reference")
				continue
			}
			a.routes[p] = q
		}
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	a.register()
	return a, nil
}

func (a *Authorizer) register() {
	reg := paved.PostureOrDefault(a.cfg.Posture).Register(Component, a.cfg.Name)
	q := a.cfg.Query
	if q == "" {
		q = "none (deny)"
	}
	hs := make([]string, len(a.headers))
	for i, h := range a.headers {
		hs[i] = h.key
	}
	detail := fmt.Sprintf("default query %s; %d route queries; headers [%s]; errors, undefined and timeouts deny 403", q, len(a.routes), strings.Join(hs, ", "))
	reg.SetControl("http-authorization", true, detail)
}

// Middleware authorizes each request with the query of its route (from
// Routes, else Query) before calling next.
func (a *Authorizer) Middleware(next http.Handler) http.Handler {
	return a.handler(nil, next)
}

// Require returns middleware that authorizes each request with query,
// whatever its route: per-route queries for routes registered one by one.
// A query that is neither declared nor a data reference denies every
// request (cause unknown_query).
func (a *Authorizer) Require(query string) func(http.Handler) http.Handler {
	q := a.engine.Query(query)
	if q.err != nil {
		a.logger.LogAttrs(context.Background(), slog.LevelError, "policy: Require with an unknown query; every request it guards is denied",
			slog.String("query", query), slog.String("error", q.err.Error()))
	}
	return func(next http.Handler) http.Handler { return a.handler(q, next) }
}

func (a *Authorizer) handler(fixed *Query, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := fixed
		if q == nil {
			q = a.routes[r.Pattern]
			if q == nil {
				q = a.fallback
			}
		}
		d := a.decide(r, q)
		if !d.Allow {
			a.deny(w, r, &d)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), decisionKey{}, &d)))
	})
}

// decide builds the input of r and asks q. A request that cannot be put
// into an input is denied with a decision of its own, logged and emitted
// like any other.
func (a *Authorizer) decide(r *http.Request, q *Query) Decision {
	ctx := r.Context()
	if q == nil {
		return a.engine.Query("").decideErr(ctx, nil, fmt.Errorf("%w: no query for route %q", ErrUnknownQuery, r.Pattern), CauseUnknown)
	}
	in, err := a.Input(r)
	if err != nil {
		return q.decideErr(ctx, nil, err, CauseBadInput)
	}
	d, _ := q.Decide(ctx, in)
	return d
}

// decideErr finishes a decision that failed before evaluation.
func (q *Query) decideErr(ctx context.Context, in *Input, err error, cause string) Decision {
	d := Decision{Query: q.name, ID: newDecisionID()}
	if s := q.e.snap.Load(); s != nil {
		d.BundleRevision = s.revision
	}
	d, _ = q.e.finish(ctx, d, nil, time.Now(), &Error{Cause: cause, Query: q.name, Err: err})
	return d
}

func (a *Authorizer) deny(w http.ResponseWriter, r *http.Request, d *Decision) {
	ctx := r.Context()
	id := d.ID.String()
	if paved.EventsEnabled(ctx, a.cfg.Events, paved.EventAuthzDenied) {
		ev := paved.Event{
			Type: paved.EventAuthzDenied, Component: Component, Outcome: paved.OutcomeDenied,
			Reason: d.Reason(), RequestID: httpx.RequestIDFrom(ctx), Duration: d.Duration,
			Attrs: []slog.Attr{slog.String("decision_id", id), slog.String("query", d.Query), slog.String("route", r.Pattern)},
		}
		if p, ok := paved.PrincipalFrom(ctx); ok {
			ev.Subject = p.Subject
		}
		paved.Emit(ctx, a.cfg.Events, ev)
	}
	httpx.WriteProblem(w, r, &httpx.Problem{
		Status:     http.StatusForbidden,
		Detail:     "the authorization policy denied this request",
		Extensions: map[string]any{"decision_id": id},
	})
}

// Input returns the policy input the authorizer builds for r. An error
// (wrapping [ErrInput]) means r is over the authorizer's bounds or its
// Resource function failed.
func (a *Authorizer) Input(r *http.Request) (*Input, error) {
	in := &Input{
		Method: r.Method,
		Route:  r.Pattern,
		Time:   a.now(),
	}
	if r.URL != nil {
		in.Path = r.URL.Path
	}
	if names := a.wildcards(r.Pattern); len(names) > 0 {
		in.Params = make(map[string]string, len(names))
		for _, n := range names {
			v := r.PathValue(n)
			if len(v) > a.cfg.MaxPathValueBytes {
				return nil, fmt.Errorf("%w: path parameter %s is %d bytes, over %d", ErrInput, n, len(v), a.cfg.MaxPathValueBytes)
			}
			in.Params[n] = v
		}
	}
	for _, h := range a.headers {
		vs := r.Header[h.canon]
		if len(vs) == 0 {
			continue
		}
		size := 2 * (len(vs) - 1)
		for _, v := range vs {
			size += len(v)
		}
		if size > a.cfg.MaxHeaderValueBytes {
			return nil, fmt.Errorf("%w: header %s is %d bytes, over %d", ErrInput, h.canon, size, a.cfg.MaxHeaderValueBytes)
		}
		if in.Headers == nil {
			in.Headers = make(map[string]string, len(a.headers))
		}
		if len(vs) == 1 {
			in.Headers[h.key] = vs[0]
		} else {
			in.Headers[h.key] = strings.Join(vs, ", ")
		}
	}
	if ip := httpx.ClientIP(r); ip.IsValid() {
		in.ClientIP = ip.String()
	}
	if p, ok := paved.PrincipalFrom(r.Context()); ok {
		in.Principal = p
	}
	if a.cfg.Resource != nil {
		res, err := a.cfg.Resource(r)
		if err != nil {
			return nil, fmt.Errorf("%w: resource: %w", ErrInput, err)
		}
		in.Resource = res
	}
	return in, nil
}

// wildcards returns the names of pattern's wildcards, parsed once per
// pattern.
func (a *Authorizer) wildcards(pattern string) []string {
	if pattern == "" || !strings.Contains(pattern, "{") {
		return nil
	}
	if v, ok := a.params.Load(pattern); ok {
		return v.([]string)
	}
	names := patternWildcards(pattern)
	a.params.Store(pattern, names)
	return names
}

// patternWildcards returns the wildcard names of a net/http ServeMux
// pattern ("GET /docs/{id}/{rest...}" -> id, rest), leaving out {$}.
func patternWildcards(pattern string) []string {
	var names []string
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return names
		}
		pattern = pattern[i+1:]
		j := strings.IndexByte(pattern, '}')
		if j < 0 {
			return names
		}
		name := strings.TrimSuffix(pattern[:j], "...")
		pattern = pattern[j+1:]
		if name != "" && name != "$" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
}

type decisionKey struct{}

// DecisionFrom returns the decision that let the request of ctx through,
// stored by the [Authorizer]: a handler reads its Obligations or its ID.
// Treat it as read-only.
func DecisionFrom(ctx context.Context) (*Decision, bool) {
	d, _ := ctx.Value(decisionKey{}).(*Decision)
	return d, d != nil
}
