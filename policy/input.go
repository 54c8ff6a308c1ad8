package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/pavedroad/paved"
)

// Input is the input of an HTTP authorization decision, as the middleware
// builds it from a request. [Input.Value] turns it into the policy's input
// document directly, with no JSON round trip:
//
//	{
//	  "method": "GET", "path": "/docs/42", "route": "GET /docs/{id}",
//	  "params": {"id": "42"}, "headers": {"x-tenant": "acme"},
//	  "client_ip": "192.0.2.1", "time": 1764590400000000000,
//	  "principal": {"sub": ..., "iss": ..., "roles": [...], "groups": [...],
//	                "scopes": [...], "aud": [...], "amr": [...], "acr": ...,
//	                "claims": {...}},
//	  "resource": {...}
//	}
//
// Empty fields are left out; "time" is Unix nanoseconds, as time.now_ns
// gives. A nil Principal leaves "principal" out: the caller is anonymous.
type Input struct {
	Method   string
	Path     string
	Route    string
	Params   map[string]string
	Headers  map[string]string
	ClientIP string
	Time     time.Time
	// Principal is the authenticated caller (paved.PrincipalFrom).
	Principal *paved.Principal
	// Resource holds further, service-specific facts (the owner of the
	// requested document, say), as JSON values.
	Resource map[string]any
}

// Keys of the input document, made once: terms are never modified, so
// every input shares them.
var (
	inKeyMethod    = ast.StringTerm("method")
	inKeyPath      = ast.StringTerm("path")
	inKeyRoute     = ast.StringTerm("route")
	inKeyParams    = ast.StringTerm("params")
	inKeyHeaders   = ast.StringTerm("headers")
	inKeyClientIP  = ast.StringTerm("client_ip")
	inKeyTime      = ast.StringTerm("time")
	inKeyPrincipal = ast.StringTerm("principal")
	inKeyResource  = ast.StringTerm("resource")
	inKeySub       = ast.StringTerm("sub")
	inKeyIss       = ast.StringTerm("iss")
	inKeyAud       = ast.StringTerm("aud")
	inKeyScopes    = ast.StringTerm("scopes")
	inKeyRoles     = ast.StringTerm("roles")
	inKeyGroups    = ast.StringTerm("groups")
	inKeyAMR       = ast.StringTerm("amr")
	inKeyACR       = ast.StringTerm("acr")
	inKeyClaims    = ast.StringTerm("claims")
)

// Value returns in as an OPA value, built directly (no JSON, no
// reflection): the fast way to give [Query.Decide] its input.
// Principal.Claims and Resource go through ast.InterfaceToValue; the
// bounds of [Config] are checked when the value is decided on.
func (in *Input) Value() (ast.Value, error) {
	var kv [9][2]*ast.Term
	n := 0
	add := func(k *ast.Term, v *ast.Term) {
		kv[n] = [2]*ast.Term{k, v}
		n++
	}
	if in.Method != "" {
		add(inKeyMethod, methodTerm(in.Method))
	}
	if in.Path != "" {
		add(inKeyPath, ast.StringTerm(in.Path))
	}
	if in.Route != "" {
		add(inKeyRoute, ast.StringTerm(in.Route))
	}
	if len(in.Params) > 0 {
		add(inKeyParams, ast.NewTerm(stringMap(in.Params)))
	}
	if len(in.Headers) > 0 {
		add(inKeyHeaders, ast.NewTerm(stringMap(in.Headers)))
	}
	if in.ClientIP != "" {
		add(inKeyClientIP, ast.StringTerm(in.ClientIP))
	}
	if !in.Time.IsZero() {
		add(inKeyTime, ast.IntNumberTerm(int(in.Time.UnixNano())))
	}
	if p := in.Principal; p != nil {
		v, err := principalValue(p)
		if err != nil {
			return nil, err
		}
		add(inKeyPrincipal, ast.NewTerm(v))
	}
	if len(in.Resource) > 0 {
		v, err := toValue(in.Resource)
		if err != nil {
			return nil, fmt.Errorf("resource: %w", err)
		}
		add(inKeyResource, ast.NewTerm(v))
	}
	return ast.NewObject(kv[:n]...), nil
}

// methodTerms holds the standard methods' terms, shared by every input.
var methodTerms = func() map[string]*ast.Term {
	m := make(map[string]*ast.Term)
	for _, s := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE"} {
		m[s] = ast.StringTerm(s)
	}
	return m
}()

func methodTerm(m string) *ast.Term {
	if t, ok := methodTerms[m]; ok {
		return t
	}
	return ast.StringTerm(m)
}

func principalValue(p *paved.Principal) (ast.Value, error) {
	var kv [9][2]*ast.Term
	n := 0
	str := func(k *ast.Term, v string) {
		if v != "" {
			kv[n] = [2]*ast.Term{k, ast.StringTerm(v)}
			n++
		}
	}
	list := func(k *ast.Term, vs []string) {
		if len(vs) > 0 {
			kv[n] = [2]*ast.Term{k, ast.NewTerm(stringArray(vs))}
			n++
		}
	}
	str(inKeySub, p.Subject)
	str(inKeyIss, p.Issuer)
	list(inKeyAud, p.Audience)
	list(inKeyScopes, p.Scopes)
	list(inKeyRoles, p.Roles)
	list(inKeyGroups, p.Groups)
	list(inKeyAMR, p.AMR)
	str(inKeyACR, p.ACR)
	if len(p.Claims) > 0 {
		v, err := toValue(p.Claims)
		if err != nil {
			return nil, fmt.Errorf("principal claims: %w", err)
		}
		kv[n] = [2]*ast.Term{inKeyClaims, ast.NewTerm(v)}
		n++
	}
	return ast.NewObject(kv[:n]...), nil
}

func stringMap(m map[string]string) ast.Object {
	kv := make([][2]*ast.Term, 0, len(m))
	for k, v := range m {
		kv = append(kv, [2]*ast.Term{ast.StringTerm(k), ast.StringTerm(v)})
	}
	return ast.NewObject(kv...)
}

func stringArray(vs []string) *ast.Array {
	terms := make([]ast.Term, len(vs))
	ts := make([]*ast.Term, len(vs))
	for i, v := range vs {
		terms[i].Value = ast.String(v)
		ts[i] = &terms[i]
	}
	return ast.NewArray(ts...)
}

// toValue converts JSON-like Go values to an OPA value. json.Number and
// the usual numeric types are kept as numbers.
func toValue(x any) (ast.Value, error) {
	v, err := ast.InterfaceToValue(x)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// inputValue turns what a caller passed to Decide into an OPA value.
func inputValue(x any) (ast.Value, error) {
	switch in := x.(type) {
	case nil:
		return nil, nil
	case ast.Value:
		return in, nil
	case *ast.Term:
		if in == nil {
			return nil, nil
		}
		return in.Value, nil
	case *Input:
		if in == nil {
			return nil, nil
		}
		return in.Value()
	case Input:
		return in.Value()
	case json.RawMessage:
		return ast.ValueFromReader(bytes.NewReader(in))
	}
	return toValue(x)
}

// bounds checks an input value against the configured limits: depth,
// number of values, bytes of strings and keys.
type bounds struct{ depth, nodes, bytes int }

// A walker checks one value against bounds. Its two callbacks are made
// once and the walker is pooled, so that a check allocates nothing.
type walker struct {
	b                   bounds
	depth, nodes, bytes int
	err                 error
	kv                  func(k, v *ast.Term)
	elem                func(t *ast.Term)
}

var walkers = sync.Pool{New: func() any {
	w := &walker{}
	w.kv = func(k, v *ast.Term) {
		if w.err == nil {
			if ks, ok := k.Value.(ast.String); ok {
				w.bytes += len(ks)
			}
			w.walk(v.Value)
		}
	}
	w.elem = func(t *ast.Term) {
		if w.err == nil {
			w.walk(t.Value)
		}
	}
	return w
}}

func (b bounds) check(v ast.Value) error {
	w := walkers.Get().(*walker)
	w.b, w.depth, w.nodes, w.bytes, w.err = b, 0, 0, 0, nil
	w.walk(v)
	err := w.err
	walkers.Put(w)
	return err
}

func (w *walker) walk(v ast.Value) {
	w.nodes++
	w.depth++
	defer func() { w.depth-- }()
	switch {
	case w.depth > w.b.depth:
		w.err = fmt.Errorf("%w: nested deeper than %d", ErrInput, w.b.depth)
		return
	case w.nodes > w.b.nodes:
		w.err = fmt.Errorf("%w: more than %d values", ErrInput, w.b.nodes)
		return
	}
	switch x := v.(type) {
	case ast.String:
		w.bytes += len(x)
	case ast.Number:
		w.bytes += len(x)
	case ast.Object:
		x.Foreach(w.kv)
	case *ast.Array:
		x.Foreach(w.elem)
	case ast.Set:
		x.Foreach(w.elem)
	}
	if w.err == nil && w.bytes > w.b.bytes {
		w.err = fmt.Errorf("%w: more than %d bytes of strings", ErrInput, w.b.bytes)
	}
}
