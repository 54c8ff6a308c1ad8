package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/sources"
)

const (
	fakeVaultToken = "hvs.Q7pLm2Xv9Rt4Bn6Jc8Hd1Fs3"
	fakeSecretID   = "6a1e3f2c-9b8d-4c7e-a5f1-0d2b3c4e5f60"
)

func secretsEnv(getenv map[string]string) (*env, *strings.Builder, *strings.Builder) {
	var out, errb strings.Builder
	return &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return getenv[k] }}, &out, &errb
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "commit.gpgsign=false"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestSecretsTree: paved's rules find short Vault tokens and AppRole
// secret-ids that gitleaks' defaults miss; the baseline accepts a finding
// only with a reason; exit statuses follow -fail-on.
func TestSecretsTree(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"config/app.env": "VAULT_TOKEN=" + fakeVaultToken + "\n",
		"approle.hcl":    `secret_id = "` + fakeSecretID + `"` + "\n",
		"clean.go":       "package clean\n\nconst passwordField = \"password\"\n",
	})
	e, out, errb := secretsEnv(nil)
	if code := runSecrets(context.Background(), e, []string{"-format", "json", dir}); code != exitFindings {
		t.Fatalf("exit %d %s", code, errb)
	}
	var r findingsReport
	if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range r.Findings {
		got[f.File] = f.Rule
		if strings.Contains(out.String(), fakeVaultToken) || strings.Contains(out.String(), fakeSecretID) {
			t.Fatal("output holds a secret value")
		}
	}
	want := map[string]string{"config/app.env": "paved-vault-short-token", "approle.hcl": "paved-vault-approle-secret-id"}
	if len(got) != 2 || got["config/app.env"] != want["config/app.env"] || got["approle.hcl"] != want["approle.hcl"] {
		t.Fatalf("findings %v, want %v", got, want)
	}
	// A baseline entry without a reason is refused; with one it accepts.
	base := filepath.Join(t.TempDir(), "base.json")
	e, _, _ = secretsEnv(nil)
	if code := runSecrets(context.Background(), e, []string{"-write-baseline", base, dir}); code != exitOK {
		t.Fatal(code)
	}
	e, _, errb = secretsEnv(nil)
	if code := runSecrets(context.Background(), e, []string{"-baseline", base, dir}); code != exitError || !strings.Contains(errb.String(), "does not say why") {
		t.Fatalf("reasonless baseline: exit %d %s", code, errb)
	}
	data, _ := os.ReadFile(base)
	fixed := strings.ReplaceAll(string(data), `"reason": ""`, `"reason": "fixture token from the dev server, revoked at once"`)
	if err := os.WriteFile(base, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	e, out, errb = secretsEnv(nil)
	if code := runSecrets(context.Background(), e, []string{"-baseline", base, "-format", "sarif", dir}); code != exitOK {
		t.Fatalf("baseline: exit %d %s %s", code, out, errb)
	}
	validateSARIF(t, out.String(), 0)
	e, out, _ = secretsEnv(nil)
	if code := runSecrets(context.Background(), e, []string{"-format", "sarif", dir}); code != exitFindings {
		t.Fatal(code)
	}
	validateSARIF(t, out.String(), 2)
}

// TestSecretsGit: -staged sees a staged secret before it is committed;
// -history sees one that a later commit deleted.
func TestSecretsGit(t *testing.T) {
	dir := writeTree(t, map[string]string{"README": "hello\n"})
	git(t, dir, "init", "-q")
	git(t, dir, "add", "README")
	git(t, dir, "commit", "-q", "-m", "one")
	if err := os.WriteFile(filepath.Join(dir, "token.txt"), []byte("token: "+fakeVaultToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "token.txt")
	e, out, errb := secretsEnv(nil)
	if code := runSecrets(context.Background(), e, []string{"-staged", dir}); code != exitFindings || !strings.Contains(out.String(), "token.txt:1:") {
		t.Fatalf("staged: exit %d\n%s\n%s", code, out, errb)
	}
	git(t, dir, "commit", "-q", "-m", "two")
	git(t, dir, "rm", "-q", "token.txt")
	git(t, dir, "commit", "-q", "-m", "three")
	e, out, _ = secretsEnv(nil)
	if code := runSecrets(context.Background(), e, []string{"-staged", dir}); code != exitOK {
		t.Fatalf("nothing staged: exit %d %s", code, out)
	}
	e, out, errb = secretsEnv(nil)
	if code := runSecrets(context.Background(), e, []string{"-history", dir}); code != exitFindings || !strings.Contains(out.String(), ":token.txt:1:") {
		t.Fatalf("history: exit %d\n%s\n%s", code, out, errb)
	}
}

// TestSecretsBadInput: a file over -max-mb is skipped and said; a binary
// file does not stop the scan.
func TestSecretsBadInput(t *testing.T) {
	big := strings.Repeat("a", 2_000_001)
	dir := writeTree(t, map[string]string{"big.txt": big + "\n" + fakeVaultToken, "blob.bin": "\x00\x01\x02" + strings.Repeat("\xff", 1000), "ok.env": "T=" + fakeVaultToken + "\n"})
	e, out, errb := secretsEnv(nil)
	code := runSecrets(context.Background(), e, []string{"-max-mb", "1", dir})
	if code != exitFindings || !strings.Contains(out.String(), "ok.env:1:") || strings.Contains(out.String(), "big.txt") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
}

// TestSecretsVerify: -verify asks lookup-self and nothing else, prints
// how to revoke a live token, and says when it cannot tell.
func TestSecretsVerify(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.Path)
		if r.Header.Get("X-Vault-Token") != fakeVaultToken {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte(`{"data": {"accessor": "acc123", "display_name": "token-ci", "policies": ["default"], "ttl": 3600}}`))
	}))
	defer srv.Close()
	dir := writeTree(t, map[string]string{"a.env": "T=" + fakeVaultToken + "\n"})
	e, out, _ := secretsEnv(map[string]string{"VAULT_ADDR": srv.URL})
	if code := runSecrets(context.Background(), e, []string{"-verify", dir}); code != exitFindings {
		t.Fatal(code)
	}
	if !strings.Contains(out.String(), "verify: LIVE at "+srv.URL+" (token-ci, policies default, ttl 3600s); revoke it now: vault token revoke -accessor acc123") {
		t.Errorf("output:\n%s", out)
	}
	if len(paths) != 1 || paths[0] != "GET /v1/auth/token/lookup-self" {
		t.Errorf("requests %q", paths)
	}
	e, out, _ = secretsEnv(nil)
	runSecrets(context.Background(), e, []string{"-verify", dir})
	if !strings.Contains(out.String(), "verify: not checked: VAULT_ADDR is not set") {
		t.Errorf("without VAULT_ADDR:\n%s", out)
	}
}

// TestSecretsGitleaksFixtures: on gitleaks' own test fixtures paved
// secrets finds every finding gitleaks alone (its default configuration)
// finds, at the same file, line and value.
func TestSecretsGitleaksFixtures(t *testing.T) {
	matches, _ := filepath.Glob(filepath.Join(gomodcache(t), "github.com/zricethezav/gitleaks/v8@v8.30.1/testdata/repos"))
	if len(matches) == 0 {
		t.Skip("gitleaks' module is not in the module cache")
	}
	for _, fixture := range []string{"nogit", "small", "staged", "symlinks"} {
		root := filepath.Join(matches[0], fixture)
		alone, err := detect.NewDetectorDefaultConfig()
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := alone.DetectSource(context.Background(), &sources.Files{Path: root, Config: &alone.Config, Sema: alone.Sema})
		if err != nil {
			t.Fatal(err)
		}
		e, _, _ := secretsEnv(nil)
		ours, err := scanSecrets(context.Background(), e, root, secretsOptions{maxMB: 10, perFragment: 30_000_000_000})
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, f := range ours.Findings {
			have[f.File+":"+itoa(f.Line)+":"+f.secret] = true
		}
		found := 0
		for _, f := range theirs {
			rel, _ := filepath.Rel(root, f.File)
			if have[filepath.ToSlash(rel)+":"+itoa(f.StartLine)+":"+f.Secret] {
				found++
			} else {
				t.Errorf("%s: gitleaks alone finds %s at %s:%d; paved secrets does not", fixture, f.RuleID, rel, f.StartLine)
			}
		}
		t.Logf("%s: gitleaks alone %d, paved %d (recall %d/%d)", fixture, len(theirs), len(ours.Findings), found, len(theirs))
	}
}

// TestSecretsVerifyRefusesPlaintext: -verify sends a found token only over
// https, or http to a loopback address, and never follows a redirect
// (Go's client would carry X-Vault-Token to the new host).
func TestSecretsVerifyRefusesPlaintext(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.env": "T=" + fakeVaultToken + "\n"})
	e, out, _ := secretsEnv(map[string]string{"VAULT_ADDR": "http://vault.example.com:8200"})
	runSecrets(context.Background(), e, []string{"-verify", dir})
	if !strings.Contains(out.String(), "verify: not checked: refusing to send a token over http:// to vault.example.com:8200") {
		t.Errorf("http:// off loopback:\n%s", out)
	}
	var elsewhere []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere = append(elsewhere, r.Header.Get("X-Vault-Token"))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	e, out, _ = secretsEnv(map[string]string{"VAULT_ADDR": srv.URL})
	runSecrets(context.Background(), e, []string{"-verify", dir})
	if len(elsewhere) != 0 || !strings.Contains(out.String(), "verify: not checked: "+srv.URL+" answered 307 Temporary Redirect") {
		t.Errorf("redirect followed (%d requests elsewhere):\n%s", len(elsewhere), out)
	}
	if strings.Contains(out.String(), fakeVaultToken) {
		t.Errorf("token printed:\n%s", out)
	}
}

// TestSecretsHistoryShallow: -history on a shallow clone scans what the
// clone holds and says that older history was not scanned.
func TestSecretsHistoryShallow(t *testing.T) {
	src := t.TempDir()
	git(t, src, "init", "-q")
	for i, body := range []string{"T=" + fakeVaultToken + "\n", "clean\n", "clean again\n"} {
		if err := os.WriteFile(filepath.Join(src, "a.env"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		git(t, src, "add", "a.env")
		git(t, src, "commit", "-q", "-m", "c"+string(rune('0'+i)))
	}
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, src, "clone", "-q", "--depth", "1", "file://"+src, clone)
	e, out, errb := secretsEnv(nil)
	if code := runSecrets(context.Background(), e, []string{"-history", clone}); code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	if !strings.Contains(errb.String(), "paved secrets: shallow clone: commits before its first were not scanned (git fetch --unshallow)") {
		t.Errorf("stderr:\n%s", errb)
	}
	e, out, errb = secretsEnv(nil)
	if code := runSecrets(context.Background(), e, []string{"-history", src}); code != exitFindings || strings.Contains(errb.String(), "shallow") {
		t.Errorf("full history: exit %d\n%s\n%s", code, out, errb)
	}
}

// TestSecretsBadSource: a PATH that does not exist, or -history and
// -staged outside a git repository, fail (exit 2) instead of passing
// after scanning nothing; a repository without commits has nothing to scan.
func TestSecretsBadSource(t *testing.T) {
	notGit := t.TempDir()
	for _, args := range [][]string{
		{filepath.Join(notGit, "missing")},
		{"-history", filepath.Join(notGit, "missing")},
		{"-history", notGit},
		{"-staged", notGit},
	} {
		e, out, errb := secretsEnv(nil)
		if code := runSecrets(context.Background(), e, args); code != exitError || !strings.Contains(errb.String(), "paved secrets: ") {
			t.Errorf("%q: exit %d\n%s\n%s", args, code, out, errb)
		}
	}
	empty := t.TempDir()
	git(t, empty, "init", "-q")
	for _, mode := range []string{"-history", "-staged"} {
		e, out, errb := secretsEnv(nil)
		if code := runSecrets(context.Background(), e, []string{mode, empty}); code != exitOK {
			t.Errorf("%s on a repository without commits: exit %d\n%s\n%s", mode, code, out, errb)
		}
	}
}
