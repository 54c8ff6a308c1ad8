package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// bomb is a billion laughs: 10^9 values from 90 lines.
const bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"

// TestBadInput: each malformed file is an error naming the file and
// line, and the good file beside them is still judged.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "good.yaml", goodPod)
	write(t, dir, "bad.yaml", goodPod+"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: [x\n")
	write(t, dir, "bomb.yaml", bomb)
	write(t, dir, "bad.tf", "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \n}\n")
	write(t, dir, "plan.json", "{\"format_version\": \"1.2\",\n \"planned_values\": [\n}")
	write(t, dir, "Dockerfile", "FROM a@sha256:00\nUSER 1\nRUN <<EOF\nnever ends\n")
	write(t, dir, "huge.yaml", strings.Repeat("# padding\n", 300_000))
	if err := os.Symlink(dir, filepath.Join(dir, "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling.yaml")); err != nil {
		t.Fatal(err)
	}
	c, err := New(context.Background(), Options{MaxFileBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	docs := 0
	if err := c.Run(context.Background(), []string{dir}, func(r FileResult) {
		docs += r.Documents
		for _, e := range r.Errors {
			rel, _ := filepath.Rel(dir, filepath.FromSlash(e.File))
			got = append(got, filepath.ToSlash(rel)+":"+itoa(e.Line)+": "+e.Err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := []string{
		"Dockerfile:3: unterminated heredoc",
		"bad.tf:2: Invalid expression",
		"bad.yaml:15: did not find expected ',' or ']'",
		"bomb.yaml:",
		"dangling.yaml:0: broken or looping symbolic link",
		"huge.yaml:0: 3000000 bytes, more than the 1048576 bytes allowed",
		"plan.json:3: invalid character '}'",
	}
	if len(got) != len(want) {
		t.Fatalf("errors:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	if !strings.Contains(got[3], "alias") {
		t.Errorf("bomb: %q", got[3])
	}
	// good.yaml and the first document of bad.yaml were judged; the loop
	// did not walk dir twice.
	if docs != 2 {
		t.Errorf("%d documents judged, want 2", docs)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestYAMLBombBoundedMemory: the billion laughs is refused after
// MaxYAMLNodes values, with little memory.
func TestYAMLBombBoundedMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Parse(KindKubernetes, "b.yaml", []byte(bomb), 1_000_000)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrYAMLBomb) {
		t.Fatalf("err = %v, want ErrYAMLBomb", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 512<<20 {
		t.Errorf("allocated %d MiB refusing a bomb", grew>>20)
	}
}

// TestRuleErrorFails: a rule that fails to evaluate makes the file
// failed, never passed.
func TestRuleErrorFails(t *testing.T) {
	pol := t.TempDir()
	write(t, pol, "bad.rego", "package paved.rules.org\n\ndeny contains {\"rule\": \"ORG-1\", \"msg\": \"x\"} if {\n\tto_number(input.doc.metadata.name) > 1\n}\n")
	c, err := New(context.Background(), Options{NoBuiltin: true, PolicyDirs: []string{pol}})
	if err != nil {
		t.Fatal(err)
	}
	r := c.File(context.Background(), write(t, t.TempDir(), "p.yaml", goodPod))
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Err, "policy:") || r.Errors[0].Line != 1 {
		t.Fatalf("errors %+v, findings %+v", r.Errors, r.Findings)
	}
}
