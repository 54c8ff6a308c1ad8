package policytest_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pavedroad/paved/policy/policytest"
)

func TestRegoTestsOutcomes(t *testing.T) {
	got, err := policytest.RegoTests(context.Background(), os.DirFS("testdata/mixed"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mixed_test.test_alice_allowed: PASS",
		"mixed_test.test_bob_allowed: FAIL",
		"mixed_test.test_conflict: ERROR",
		"mixed_test.test_prints: PASS",
		"mixed_test.todo_test_later: SKIPPED",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results %v, want %v", len(got), got, want)
	}
	for i, r := range got {
		if r.String() != want[i] {
			t.Errorf("result %d = %q, want %q", i, r, want[i])
		}
	}
	if got[1].File != "mixed_test.rego" || got[1].Row != 7 {
		t.Errorf("bob's location = %s:%d, want mixed_test.rego:7", got[1].File, got[1].Row)
	}
	if !strings.Contains(got[2].Err, "eval_conflict_error") {
		t.Errorf("conflict error = %q", got[2].Err)
	}
	if got[3].Output != "limit is 3\n" {
		t.Errorf("print output = %q, want %q", got[3].Output, "limit is 3\n")
	}
}

func TestRegoTestsErr(t *testing.T) {
	err := policytest.RegoTestsErr(context.Background(), os.DirFS("testdata/mixed"))
	if !errors.Is(err, policytest.ErrRegoTestsFailed) {
		t.Fatalf("err = %v, want ErrRegoTestsFailed", err)
	}
	for _, name := range []string{"test_bob_allowed: FAIL", "test_conflict: ERROR"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%q does not name %q", err, name)
		}
	}
	if strings.Contains(err.Error(), "todo_test_later") || strings.Contains(err.Error(), "alice") {
		t.Errorf("%q names a test that did not fail", err)
	}
}

func TestRegoTestsCompileError(t *testing.T) {
	fsys := fstest.MapFS{"bad.rego": {Data: []byte("package bad\n\nallow if input.x ==\n")}}
	_, err := policytest.RegoTests(context.Background(), fsys)
	if err == nil || !strings.Contains(err.Error(), "bad.rego:") {
		t.Fatalf("err = %v, want a parse error naming bad.rego:line", err)
	}
}

func TestRegoTestsSkipsHidden(t *testing.T) {
	fsys := fstest.MapFS{
		"p.rego":          {Data: []byte("package p\n\ntest_ok if true\n")},
		".git/x.rego":     {Data: []byte("package hidden\n\ntest_never if false\n")},
		".hidden.rego":    {Data: []byte("not rego at all")},
		"sub/q_test.rego": {Data: []byte("package q\n\ntest_q if true\n")},
	}
	got, err := policytest.RegoTests(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].String() != "p.test_ok: PASS" || got[1].String() != "q.test_q: PASS" {
		t.Fatalf("got %v, want p.test_ok and q.test_q passing", got)
	}
}
