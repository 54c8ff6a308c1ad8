// Package check is the engine behind `paved check`: it finds
// infrastructure files (Kubernetes manifests, Dockerfiles, GitHub Actions
// workflows, Terraform plan JSON and HCL2 source), parses each with the
// format's own well-kept parser, and judges every document with Rego
// through package policy: the same engine, compiled once, that a service
// uses at run time.
//
// Parsers: go.yaml.in/yaml/v3 (nodes, so that lines are known and alias
// expansion is counted and bounded), BuildKit's Dockerfile parser
// (github.com/moby/buildkit/frontend/dockerfile/parser), HashiCorp's HCL2
// (github.com/hashicorp/hcl/v2/hclsyntax) and encoding/json.
//
// Each document is given to the policy as
//
//	{"kind": "kubernetes"|"dockerfile"|"github-actions"|"terraform",
//	 "path": "deploy/app.yaml", "doc": <the document>,
//	 "resources": [...]}            // terraform only
//
// Terraform plan JSON and HCL source are both reduced to one list of
// resources ({"address", "type", "name", "values"}), nested blocks as
// arrays of objects the way a plan shows them, so that one rule judges
// both. A rule is a `deny` set in a package under data.paved.rules whose
// elements are objects {"rule": ID, "msg": ...}; the rule's severity,
// rationale and fix come from the pack's metadata or from the object.
// Policies written for conftest (package main, deny/violation of strings)
// are judged too, against the bare document, as conftest does.
package check
