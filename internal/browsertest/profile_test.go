package browsertest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestSweepProfiles: a new profile replaces those whose run is gone (a
// panic or a kill skipped their cleanup), and leaves a live run's and a
// directory without an owner file. It needs no browser.
func TestSweepProfiles(t *testing.T) {
	root := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("no true(1) to get a finished PID: %v", err)
	}
	mk := func(name string, owner string) string {
		d := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Join(d, "Default"), 0o700); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(d, "paved-owner"), []byte(owner), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	stale := mk("paved-chromium-stale", strconv.Itoa(dead.Process.Pid))
	live := mk("paved-chromium-live", strconv.Itoa(os.Getpid()))
	unowned := mk("paved-chromium-unowned", "")
	garbled := mk("paved-chromium-garbled", "not a pid")
	other := mk("someone-else", strconv.Itoa(dead.Process.Pid))

	dir, err := newProfile(root)
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{stale: false, live: true, unowned: true, garbled: true, other: true, dir: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s: exists %t, want %t", filepath.Base(d), err == nil, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "paved-owner")); err != nil || string(b) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("owner of the new profile: %q, %v", b, err)
	}
	if err := removeProfile(dir); err != nil {
		t.Fatal(err)
	}
}
