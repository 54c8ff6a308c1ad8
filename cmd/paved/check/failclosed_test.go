package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoRulesRefused: with the pack left out and no Rego in the policy
// directories, New refuses rather than passing every file.
func TestNoRulesRefused(t *testing.T) {
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "data.json"), []byte(`{"paved_rules": []}`), 0o644)
	// Rego in a package the decision never reads is no rule either.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "p.rego"), []byte("package kubernetes.admission\n\ndeny contains \"x\" if input.doc.kind == \"Pod\"\n"), 0o644)
	for _, o := range []Options{{NoBuiltin: true}, {NoBuiltin: true, PolicyDirs: []string{empty}}, {NoBuiltin: true, PolicyDirs: []string{other}}} {
		if _, err := New(context.Background(), o); !errors.Is(err, ErrNoRules) {
			t.Errorf("New(%+v) = %v, want ErrNoRules", o, err)
		}
	}
}

// TestUnknownFileNamed: a file named on the command line that paved
// check cannot read is an error, not a silent pass.
func TestUnknownFileNamed(t *testing.T) {
	c, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(p, []byte("hello\n"), 0o644)
	var got []FileResult
	if err := c.Run(context.Background(), []string{p}, func(r FileResult) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Errors) != 1 || !strings.Contains(got[0].Errors[0].Err, "not a file paved check reads") {
		t.Fatalf("results %+v, want one error naming the file as unreadable", got)
	}
}

// TestBareStarWaivesNothing: "*" as a rule would waive every rule (those
// added later too): the exceptions file refuses it, an inline one is a
// finding and waives nothing; a family prefix still works.
func TestBareStarWaivesNothing(t *testing.T) {
	dir := t.TempDir()
	ex := filepath.Join(dir, "ex.yaml")
	for _, r := range []string{"*", "K*", "K8S-*-X"} {
		os.WriteFile(ex, []byte("exceptions:\n  - rule: \""+r+"\"\n    reason: everything is fine\n"), 0o644)
		if _, err := LoadExceptions(ex); err == nil {
			t.Errorf("LoadExceptions with rule %q: no error", r)
		}
	}
	c, err := New(context.Background(), Options{Exceptions: []Exception{{Rule: "*", Reason: "r", Source: "x"}, {Rule: "K8S-PSS-*", Reason: "family", Source: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "p.yaml")
	os.WriteFile(p, []byte("# paved:allow * nothing to see\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: 'a:latest'}]}\n"), 0o644)
	res := c.File(context.Background(), p)
	var latest, star bool
	for _, f := range res.Findings {
		switch {
		case f.Rule == "K8S-LATEST-TAG":
			latest = f.Exception == ""
		case f.Rule == RuleExceptionNoReason && f.Line == 1:
			star = true
		case strings.HasPrefix(f.Rule, "K8S-PSS-") && f.Exception != "family":
			t.Errorf("%s not waived by the K8S-PSS-* family: %+v", f.Rule, f)
		}
	}
	if !latest || !star {
		t.Errorf("findings %+v: want K8S-LATEST-TAG not waived (%v) and a finding for the bare * (%v)", res.Findings, latest, star)
	}
}

// TestSymlinkOutsideRoot: a link under PATH that leads outside it (to /,
// say) is reported and not followed; a link inside PATH is followed, and
// a path named on the command line is taken whatever it links to.
func TestSymlinkOutsideRoot(t *testing.T) {
	out := t.TempDir()
	pod := []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: a, image: a}]}\n")
	os.WriteFile(filepath.Join(out, "x.yaml"), pod, 0o644)
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "in"), 0o755)
	os.WriteFile(filepath.Join(root, "in", "y.yaml"), pod, 0o644)
	for link, target := range map[string]string{"outdir": out, "out.yaml": filepath.Join(out, "x.yaml"), "inlink": filepath.Join(root, "in"), "passwd": "/etc/passwd"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Skip(err)
		}
	}
	c, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	judged, errs := map[string]bool{}, map[string]string{}
	err = c.Run(context.Background(), []string{root, filepath.Join(root, "out.yaml")}, func(r FileResult) {
		if len(r.Errors) > 0 {
			errs[filepath.Base(r.File)] = r.Errors[0].Err
		} else {
			judged[strings.TrimPrefix(r.File, filepath.ToSlash(root)+"/")] = true
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 2 || !strings.Contains(errs["outdir"], "leads outside") || !strings.Contains(errs["out.yaml"], "leads outside") {
		t.Errorf("errors %v, want outdir and out.yaml reported as leading outside", errs)
	}
	if len(judged) != 2 || !judged["in/y.yaml"] || !judged["out.yaml"] {
		t.Errorf("judged %v, want in/y.yaml and the named out.yaml (inlink is the same directory, walked once)", judged)
	}
}

// TestNamedDeviceRefused: a named path that is not a regular file (a
// device, a FIFO) is an error, not skipped.
func TestNamedDeviceRefused(t *testing.T) {
	c, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []FileResult
	if err := c.Run(context.Background(), []string{os.DevNull}, func(r FileResult) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Errors) != 1 || !strings.Contains(got[0].Errors[0].Err, "not a regular file") {
		t.Fatalf("results %+v, want one error: not a regular file", got)
	}
}

// TestHCLDeepNesting: HCL nested a million brackets deep is a parse
// error naming the line, not a stack overflow that kills the process
// (hclsyntax parses nesting by recursion). Without the bound this test
// crashes the test binary.
func TestHCLDeepNesting(t *testing.T) {
	n := 1_000_000
	src := "resource \"a\" \"b\" {\n  x = " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n}\n"
	_, err := Parse(KindTerraform, "deep.tf", []byte(src), 0)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || !strings.Contains(pe.Err.Error(), "nested deeper") {
		t.Fatalf("err %v, want a ParseError at line 2: nested deeper", err)
	}
	// A real module, with its usual nesting, still parses.
	ok := "resource \"a\" \"b\" {\n  x = jsonencode({a = [{b = [1, (2)]}]})\n  dynamic \"c\" {\n    for_each = {}\n  }\n}\n"
	if _, err := Parse(KindTerraform, "ok.tf", []byte(ok), 0); err != nil {
		t.Fatal(err)
	}
}

// TestYAMLBombAcrossDocuments: forty documents, each under the bound on
// its own (9^6 aliased values), are one bomb: the budget for alias
// expansion is the file's, not each document's (10 KB of YAML took
// 2.4 GB when it was reset per document).
func TestYAMLBombAcrossDocuments(t *testing.T) {
	one := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\na: &a [x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f"} {
		one += n + ": &" + n + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+", ", 9), ", ") + "]\n"
		prev = n
	}
	if _, err := Parse(KindKubernetes, "one.yaml", []byte(one), 1_000_000); err != nil {
		t.Fatalf("one document under the bound: %v", err)
	}
	src := strings.Repeat(one+"---\n", 40)
	if _, err := Parse(KindKubernetes, "many.yaml", []byte(src), 1_000_000); !errors.Is(err, ErrYAMLBomb) {
		t.Fatalf("40 documents: err %v, want ErrYAMLBomb", err)
	}
}

// TestTerraformObjectException: an exceptions-file entry's object names
// a Terraform resource by address, and waives that resource only.
func TestTerraformObjectException(t *testing.T) {
	c, err := New(context.Background(), Options{Exceptions: []Exception{{Rule: "TF-UNENCRYPTED-STORAGE", Object: "aws_ebs_volume.scratch", Reason: "scratch space, no data", Source: "ex.yaml"}}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "main.tf")
	os.WriteFile(p, []byte("resource \"aws_ebs_volume\" \"scratch\" {\n  size = 1\n}\nresource \"aws_ebs_volume\" \"data\" {\n  size = 1\n}\n"), 0o644)
	got := map[string]string{}
	for _, f := range c.File(context.Background(), p).Findings {
		if f.Rule == "TF-UNENCRYPTED-STORAGE" {
			got[f.Object] = f.Exception
		}
	}
	if len(got) != 2 || got["aws_ebs_volume.scratch"] != "scratch space, no data" || got["aws_ebs_volume.data"] != "" {
		t.Errorf("findings by object %v, want scratch waived and data not", got)
	}
}
