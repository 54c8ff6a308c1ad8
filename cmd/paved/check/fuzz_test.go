package check

import (
	"testing"
)

func fuzzParse(f *testing.F, kind string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		docs, err := Parse(kind, "f", src, 100_000)
		if err == nil {
			for _, d := range docs {
				if d.Input["kind"] == nil {
					t.Fatalf("document without kind: %v", d.Input)
				}
			}
		}
	})
}

func FuzzParseYAML(f *testing.F) {
	fuzzParse(f, KindKubernetes, goodPod, bomb, "a: &x {b: *x}\n", "---\n---\nkind: List\napiVersion: v1\nitems: [{kind: Pod, apiVersion: v1}]\n", "<<: *a\n")
}

func FuzzParseWorkflow(f *testing.F) {
	fuzzParse(f, KindGitHubActions, "on: push\njobs: {b: {steps: [{uses: a/b@v1}]}}\n")
}

func FuzzParseDockerfile(f *testing.F) {
	fuzzParse(f, KindDockerfile, "FROM a AS b\nENV A=1 B=2\nRUN <<EOF\nx\nEOF\nUSER 1\n", "# escape=`\nFROM a\n", "FROM a \\\n  b\n")
}

func FuzzParseHCL(f *testing.F) {
	fuzzParse(f, KindTerraform, "resource \"a\" \"b\" {\n  x = [1, \"a\", var.x]\n  y { z = true }\n  p = jsonencode({a = 1})\n}\n", "resource \"a\" \"b\" {\n  x = {(var.k) = 1}\n}\n")
}

func FuzzParseJSON(f *testing.F) {
	fuzzParse(f, "json", `{"format_version":"1.2","planned_values":{"root_module":{"resources":[{"address":"a.b","mode":"managed","type":"a","name":"b","values":{"x":1}}],"child_modules":[{"resources":[]}]}}}`, `{"apiVersion":"v1","kind":"Pod"}`, "[1,2")
}
