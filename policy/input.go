package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
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

// Value returns in as an OPA value. Principal.Claims and Resource go
// through ast.InterfaceToValue; the bounds of [Config] are checked when the
// value is decided on.
func (in *Input) Value() (ast.Value, error) {
	obj := ast.NewObject()
	str := func(k, v string) {
		if v != "" {
			obj.Insert(ast.InternedTerm(k), ast.StringTerm(v))
		}
	}
	str("method", in.Method)
	str("path", in.Path)
	str("route", in.Route)
	if len(in.Params) > 0 {
		obj.Insert(ast.InternedTerm("params"), ast.NewTerm(stringMap(in.Params)))
	}
	if len(in.Headers) > 0 {
		obj.Insert(ast.InternedTerm("headers"), ast.NewTerm(stringMap(in.Headers)))
	}
	str("client_ip", in.ClientIP)
	if !in.Time.IsZero() {
		obj.Insert(ast.InternedTerm("time"), ast.IntNumberTerm(int(in.Time.UnixNano())))
	}
	if p := in.Principal; p != nil {
		po := ast.NewObject()
		pstr := func(k, v string) {
			if v != "" {
				po.Insert(ast.InternedTerm(k), ast.StringTerm(v))
			}
		}
		plist := func(k string, vs []string) {
			if len(vs) > 0 {
				po.Insert(ast.InternedTerm(k), ast.NewTerm(stringArray(vs)))
			}
		}
		pstr("sub", p.Subject)
		pstr("iss", p.Issuer)
		plist("aud", p.Audience)
		plist("scopes", p.Scopes)
		plist("roles", p.Roles)
		plist("groups", p.Groups)
		plist("amr", p.AMR)
		pstr("acr", p.ACR)
		if len(p.Claims) > 0 {
			v, err := toValue(p.Claims)
			if err != nil {
				return nil, fmt.Errorf("principal claims: %w", err)
			}
			po.Insert(ast.InternedTerm("claims"), ast.NewTerm(v))
		}
		obj.Insert(ast.InternedTerm("principal"), ast.NewTerm(po))
	}
	if len(in.Resource) > 0 {
		v, err := toValue(in.Resource)
		if err != nil {
			return nil, fmt.Errorf("resource: %w", err)
		}
		obj.Insert(ast.InternedTerm("resource"), ast.NewTerm(v))
	}
	return obj, nil
}

func stringMap(m map[string]string) ast.Object {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := ast.NewObject()
	for _, k := range keys {
		o.Insert(ast.StringTerm(k), ast.StringTerm(m[k]))
	}
	return o
}

func stringArray(vs []string) *ast.Array {
	ts := make([]*ast.Term, len(vs))
	for i, v := range vs {
		ts[i] = ast.StringTerm(v)
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

// bounds checks an input value against the configured limits, without
// allocating: depth, number of values, bytes of strings and keys.
type bounds struct{ depth, nodes, bytes int }

func (b bounds) check(v ast.Value) error {
	nodes, size := 0, 0
	var walk func(v ast.Value, depth int) error
	walk = func(v ast.Value, depth int) error {
		nodes++
		if depth > b.depth {
			return fmt.Errorf("%w: nested deeper than %d", ErrInput, b.depth)
		}
		if nodes > b.nodes {
			return fmt.Errorf("%w: more than %d values", ErrInput, b.nodes)
		}
		switch x := v.(type) {
		case ast.String:
			size += len(x)
		case ast.Number:
			size += len(x)
		case ast.Object:
			var err error
			x.Foreach(func(k, val *ast.Term) {
				if err == nil {
					if ks, ok := k.Value.(ast.String); ok {
						size += len(ks)
					}
					err = walk(val.Value, depth+1)
				}
			})
			if err != nil {
				return err
			}
		case *ast.Array:
			for i := range x.Len() {
				if err := walk(x.Elem(i).Value, depth+1); err != nil {
					return err
				}
			}
		case ast.Set:
			var err error
			x.Foreach(func(t *ast.Term) {
				if err == nil {
					err = walk(t.Value, depth+1)
				}
			})
			if err != nil {
				return err
			}
		}
		if size > b.bytes {
			return fmt.Errorf("%w: more than %d bytes of strings", ErrInput, b.bytes)
		}
		return nil
	}
	return walk(v, 1)
}
