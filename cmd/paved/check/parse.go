package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"go.yaml.in/yaml/v3"
)

// A Document is one thing the policy judges.
type Document struct {
	// Input is the policy input: kind, path, doc (and resources).
	Input map[string]any
	// Line is where the document starts (1-based).
	Line int
	// Object names the document.
	Object string
	// Locate returns the line of a path into doc, or 0.
	Locate func(p []any) int
}

// A ParseError is a file that does not parse, at Line.
type ParseError struct {
	Line int
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *ParseError) Unwrap() error { return e.Err }

// ErrYAMLBomb is a YAML document whose aliases expand past the bound.
var ErrYAMLBomb = errors.New("YAML aliases expand to more values than allowed (an alias bomb?)")

// Detect returns the kind of a file by its name, or "" for one paved
// check does not read.
func Detect(name string) string {
	slash := filepath.ToSlash(name)
	base := path.Base(slash)
	lower := strings.ToLower(base)
	ext := path.Ext(lower)
	switch {
	case strings.HasSuffix(lower, ".dockerignore"): // BuildKit's Dockerfile.dockerignore is an ignore list, not a Dockerfile
		return ""
	case lower == "dockerfile" || lower == "containerfile" || strings.HasPrefix(lower, "dockerfile.") || strings.HasSuffix(lower, ".dockerfile"):
		return KindDockerfile
	case (ext == ".yml" || ext == ".yaml") && strings.Contains("/"+slash, "/.github/workflows/"):
		return KindGitHubActions
	case ext == ".yml" || ext == ".yaml":
		return KindKubernetes
	case ext == ".tf":
		return KindTerraform
	case ext == ".json":
		return "json"
	}
	return ""
}

// Parse parses src, the content of file name of the given kind, into
// documents. A malformed file gives a *ParseError (with the documents
// before the fault, for YAML). maxNodes bounds YAML alias expansion.
func Parse(kind, name string, src []byte, maxNodes int) ([]Document, error) {
	switch kind {
	case KindKubernetes, KindGitHubActions:
		return parseYAML(kind, name, src, maxNodes)
	case KindDockerfile:
		return parseDockerfile(name, src)
	case KindTerraform:
		return parseHCL(name, src)
	case "json":
		return parseJSON(name, src)
	}
	return nil, nil
}

// yamlConv turns a yaml.Node into JSON-like values, counting every value
// it makes (an alias counts its whole expansion again), so that a billion
// laughs stops at the bound rather than at the memory's end.
type yamlConv struct {
	n, max int
	// aliased counts the values made by expanding aliases in the whole
	// file (never reset between documents: forty small bombs in one
	// stream must not each get the full budget); inAlias is > 0 while
	// an alias is expanded.
	aliased, inAlias int
}

func (c *yamlConv) value(n *yaml.Node, depth int) (any, error) {
	c.n++
	if c.inAlias > 0 {
		c.aliased++
	}
	if c.n > c.max || c.aliased > c.max {
		return nil, &ParseError{Line: n.Line, Err: ErrYAMLBomb}
	}
	if depth > 150 {
		return nil, &ParseError{Line: n.Line, Err: errors.New("YAML nested deeper than 150")}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth)
	case yaml.AliasNode:
		c.inAlias++
		defer func() { c.inAlias-- }()
		return c.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, x := range n.Content {
			v, err := c.value(x, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				mv, err := c.value(v, depth+1)
				if err != nil {
					return nil, err
				}
				merge := func(m any) {
					if mm, ok := m.(map[string]any); ok {
						for kk, vv := range mm {
							if _, set := out[kk]; !set {
								out[kk] = vv
							}
						}
					}
				}
				if l, ok := mv.([]any); ok {
					for _, m := range l {
						merge(m)
					}
				} else {
					merge(mv)
				}
				continue
			}
			key := k.Value
			if k.Kind != yaml.ScalarNode {
				kv, err := c.value(k, depth+1)
				if err != nil {
					return nil, err
				}
				b, _ := json.Marshal(kv)
				key = string(b)
			}
			vv, err := c.value(v, depth+1)
			if err != nil {
				return nil, err
			}
			out[key] = vv
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			b, err := strconv.ParseBool(strings.ToLower(n.Value))
			if err != nil {
				return n.Value, nil
			}
			return b, nil
		case "!!int":
			if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
				return json.Number(strconv.FormatInt(i, 10)), nil
			}
			return n.Value, nil
		case "!!float":
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
			}
			return n.Value, nil
		}
		return n.Value, nil
	}
	return nil, nil
}

// locateYAML returns the line of path p under node n.
func locateYAML(n *yaml.Node, p []any) int {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, step := range p {
		for n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		switch s := step.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == s {
					line = n.Content[i].Line
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return line
			}
			n = next
		default:
			i, ok := index(step)
			if !ok || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		}
	}
	return line
}

func index(v any) (int, bool) {
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		return int(i), err == nil
	case float64:
		return int(x), true
	case int:
		return x, true
	}
	return 0, false
}

func parseYAML(kind, name string, src []byte, maxNodes int) ([]Document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []Document
	conv := &yamlConv{max: maxNodes}
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err != nil {
			if err.Error() == "EOF" {
				return docs, nil
			}
			return docs, yamlError(err)
		}
		conv.n = 0
		v, err := conv.value(&n, 0)
		if err != nil {
			return docs, err
		}
		if v == nil {
			continue
		}
		line := n.Line
		if len(n.Content) > 0 {
			line = n.Content[0].Line
		}
		node := &n
		mk := func(doc any, object string, locate func([]any) int) Document {
			return Document{Input: map[string]any{"kind": kind, "path": name, "doc": doc}, Line: line, Object: object, Locate: locate}
		}
		m, _ := v.(map[string]any)
		if kind == KindGitHubActions {
			docs = append(docs, mk(v, "workflow", func(p []any) int { return locateYAML(node, p) }))
			continue
		}
		if m == nil || m["kind"] == nil || m["apiVersion"] == nil {
			continue // not a Kubernetes object (a values file, say)
		}
		if k, _ := m["kind"].(string); strings.HasSuffix(k, "List") {
			items, _ := m["items"].([]any)
			for i, it := range items {
				i := i
				docs = append(docs, mk(it, objectName(it), func(p []any) int {
					return locateYAML(node, append([]any{"items", i}, p...))
				}))
			}
			continue
		}
		docs = append(docs, mk(v, objectName(v), func(p []any) int { return locateYAML(node, p) }))
	}
}

func objectName(v any) string {
	m, _ := v.(map[string]any)
	k, _ := m["kind"].(string)
	md, _ := m["metadata"].(map[string]any)
	n, _ := md["name"].(string)
	return k + "/" + n
}

// yamlError turns yaml.v3's "yaml: line N: msg" into a ParseError.
func yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		rest := msg[len("line "):]
		if i := strings.Index(rest, ":"); i > 0 {
			if l, e := strconv.Atoi(rest[:i]); e == nil {
				return &ParseError{Line: l, Err: errors.New(strings.TrimSpace(rest[i+1:]))}
			}
		}
	}
	if strings.Contains(msg, "excessive aliasing") {
		return &ParseError{Err: ErrYAMLBomb}
	}
	return &ParseError{Err: errors.New(msg)}
}

func parseDockerfile(name string, src []byte) ([]Document, error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		line := 0
		var le *parser.LocationError
		if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
			line = le.Locations[0][0].Start.Line
			err = le.Unwrap()
		}
		return nil, &ParseError{Line: line, Err: err}
	}
	var ins []any
	for _, c := range res.AST.Children {
		var vals []any
		for n := c.Next; n != nil; n = n.Next {
			vals = append(vals, n.Value)
		}
		flags := make([]any, 0, len(c.Flags))
		for _, f := range c.Flags {
			flags = append(flags, f)
		}
		if vals == nil {
			vals = []any{}
		}
		ins = append(ins, map[string]any{
			"cmd": strings.ToLower(c.Value), "value": vals, "flags": flags, "original": c.Original,
			"line": json.Number(strconv.Itoa(c.StartLine)), "json": c.Attributes["json"],
		})
	}
	if ins == nil {
		ins = []any{}
	}
	return []Document{{Input: map[string]any{"kind": KindDockerfile, "path": name, "doc": ins}, Line: 1, Object: "Dockerfile"}}, nil
}

// parseJSON reads a Terraform plan (terraform show -json) or a
// Kubernetes object in JSON.
func parseJSON(name string, src []byte) ([]Document, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		line := 1
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		off := int64(-1)
		if errors.As(err, &se) {
			off = se.Offset
		} else if errors.As(err, &te) {
			off = te.Offset
		} else {
			off = int64(len(src))
		}
		if off >= 0 && off <= int64(len(src)) {
			line += bytes.Count(src[:off], []byte("\n"))
		}
		return nil, &ParseError{Line: line, Err: err}
	}
	m, _ := v.(map[string]any)
	if m == nil {
		return nil, nil
	}
	if _, ok := m["format_version"]; ok && (m["planned_values"] != nil || m["resource_changes"] != nil || m["values"] != nil) {
		return []Document{{Input: map[string]any{"kind": KindTerraform, "path": name, "format": "plan", "doc": v, "resources": planResources(m)}, Line: 1, Object: "plan"}}, nil
	}
	if m["apiVersion"] != nil && m["kind"] != nil {
		return []Document{{Input: map[string]any{"kind": KindKubernetes, "path": name, "doc": v}, Line: 1, Object: objectName(v)}}, nil
	}
	return nil, nil
}

// planResources lists the managed resources a plan will leave, from
// planned_values (or a state's values), child modules included.
func planResources(m map[string]any) []any {
	out := []any{}
	var mod func(any)
	mod = func(x any) {
		mm, _ := x.(map[string]any)
		if mm == nil {
			return
		}
		rs, _ := mm["resources"].([]any)
		for _, r := range rs {
			rm, _ := r.(map[string]any)
			if rm == nil || rm["mode"] == "data" {
				continue
			}
			vals, _ := rm["values"].(map[string]any)
			if vals == nil {
				vals = map[string]any{}
			}
			out = append(out, map[string]any{"address": rm["address"], "type": rm["type"], "name": rm["name"], "values": vals, "line": json.Number("1")})
		}
		cms, _ := mm["child_modules"].([]any)
		for _, cm := range cms {
			mod(cm)
		}
	}
	for _, key := range []string{"planned_values", "values"} {
		if pv, ok := m[key].(map[string]any); ok {
			mod(pv["root_module"])
			return out
		}
	}
	return out
}

// parseHCL reads Terraform HCL2 source: each resource block becomes a
// resource whose values are its attributes (literal values evaluated, an
// expression that refers to anything kept as "${...}" source text) and its
// nested blocks (arrays of objects, as a plan shows them).
func parseHCL(name string, src []byte) ([]Document, error) {
	if line := hclTooDeep(src, maxHCLDepth); line > 0 {
		// hclsyntax parses nesting by recursion: a few MB of "[" grow
		// the stack past Go's limit, a crash no recover can catch.
		return nil, &ParseError{Line: line, Err: fmt.Errorf("brackets nested deeper than %d", maxHCLDepth)}
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.Pos{Line: 1, Column: 1, Byte: 0})
	if diags.HasErrors() {
		d := diags[0]
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		return nil, &ParseError{Line: line, Err: errors.New(msg)}
	}
	body := f.Body.(*hclsyntax.Body)
	resources := []any{}
	for _, b := range body.Blocks {
		if b.Type != "resource" || len(b.Labels) != 2 {
			continue
		}
		resources = append(resources, map[string]any{
			"address": b.Labels[0] + "." + b.Labels[1], "type": b.Labels[0], "name": b.Labels[1],
			"values": hclBody(b.Body, src), "line": json.Number(strconv.Itoa(b.DefRange().Start.Line)),
		})
	}
	return []Document{{Input: map[string]any{"kind": KindTerraform, "path": name, "format": "hcl", "doc": map[string]any{}, "resources": resources}, Line: 1, Object: "module"}}, nil
}

func hclBody(b *hclsyntax.Body, src []byte) map[string]any {
	out := make(map[string]any, len(b.Attributes)+len(b.Blocks))
	for n, a := range b.Attributes {
		out[n] = hclExpr(a.Expr, src)
	}
	for _, blk := range b.Blocks {
		if blk.Type == "dynamic" || blk.Type == "lifecycle" {
			continue
		}
		l, _ := out[blk.Type].([]any)
		out[blk.Type] = append(l, hclBody(blk.Body, src))
	}
	return out
}

func hclExpr(e hclsyntax.Expression, src []byte) any {
	if v, d := e.Value(hclEval); !d.HasErrors() && v.IsWhollyKnown() {
		return ctyJSON(v)
	}
	switch x := e.(type) {
	case *hclsyntax.TupleConsExpr:
		l := make([]any, 0, len(x.Exprs))
		for _, it := range x.Exprs {
			l = append(l, hclExpr(it, src))
		}
		return l
	case *hclsyntax.ObjectConsExpr:
		m := map[string]any{}
		for _, it := range x.Items {
			k, d := it.KeyExpr.Value(nil)
			key := ""
			if !d.HasErrors() && k.Type() == cty.String && k.IsKnown() {
				key = k.AsString()
			} else {
				r := it.KeyExpr.Range()
				key = string(r.SliceBytes(src))
			}
			m[key] = hclExpr(it.ValueExpr, src)
		}
		return m
	}
	r := e.Range()
	return "${" + string(r.SliceBytes(src)) + "}"
}

// hclEval offers the pure functions a literal policy document is built
// with; anything that refers to a variable, a resource or another
// function stays "${...}".
var hclEval = &hcl.EvalContext{Functions: map[string]function.Function{
	"jsonencode": stdlib.JSONEncodeFunc,
	"tolist":     stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
	"toset":      stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
	"tostring":   stdlib.MakeToFunc(cty.String),
	"tonumber":   stdlib.MakeToFunc(cty.Number),
	"tobool":     stdlib.MakeToFunc(cty.Bool),
}}

func ctyJSON(v cty.Value) any {
	if v.IsNull() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Number:
		return json.Number(v.AsBigFloat().Text('g', -1))
	case t == cty.Bool:
		return v.True()
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			out = append(out, ctyJSON(ev))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			out[k.AsString()] = ctyJSON(ev)
		}
		return out
	}
	return nil
}

// maxHCLDepth bounds the nesting of brackets in HCL source; real
// Terraform stays far below it.
const maxHCLDepth = 500

// hclTooDeep returns the line at which src's brackets ((, [, {) nest
// deeper than max, or 0. It counts every bracket, those in strings too,
// so it may stop a file earlier than the parser would, never later.
func hclTooDeep(src []byte, max int) int {
	depth, line := 0, 1
	for _, b := range src {
		switch b {
		case '\n':
			line++
		case '(', '[', '{':
			depth++
			if depth > max {
				return line
			}
		case ')', ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return 0
}
