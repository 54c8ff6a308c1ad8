package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// TestGoModHasNoReplace: `go install MODULE@VERSION` refuses a go.mod with
// replace directives, so the checkout-only replace lives in go.work.
func TestGoModHasNoReplace(t *testing.T) {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Module.Mod.Path != "github.com/pavedroad/paved/cmd/paved" || len(f.Replace) != 0 || len(f.Exclude) != 0 {
		t.Errorf("go.mod: module %s, %d replace, %d exclude directives; want the CLI's path and none", f.Module.Mod.Path, len(f.Replace), len(f.Exclude))
	}
	work, err := os.ReadFile("go.work")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := modfile.ParseWork("go.work", work, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uses []string
	for _, u := range wf.Use {
		uses = append(uses, u.Path)
	}
	if strings.Join(uses, " ") != ". ../.." {
		t.Errorf("go.work uses %q, want . and ../..", uses)
	}
}

// TestGoInstallFromAProxy publishes the committed SDK and CLI as v0.0.1 to
// a module proxy on disk, the CLI's go.mod requiring the SDK at v0.0.1 and
// tidied as the release steps in go.mod say, then runs the one line a user
// runs: go install github.com/pavedroad/paved/cmd/paved@v0.0.1.
func TestGoInstallFromAProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI from a module proxy")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Run(); err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	tmp := t.TempDir()
	proxy := filepath.Join(tmp, "proxy")
	const version = "v0.0.1"
	publish := func(path, goMod string, write func(*os.File) error) {
		dir := filepath.Join(proxy, path, "@v")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range map[string]string{
			"list": version + "\n", version + ".info": `{"Version":"` + version + `","Time":"2026-12-01T00:00:00Z"}`, version + ".mod": goMod,
		} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		z, err := os.Create(filepath.Join(dir, version+".zip"))
		if err != nil {
			t.Fatal(err)
		}
		defer z.Close()
		if err := write(z); err != nil {
			t.Fatalf("zipping %s: %v", path, err)
		}
	}

	// The SDK, as committed (nested modules such as this one left out).
	const sdk = "github.com/pavedroad/paved"
	sdkMod, err := exec.Command("git", "-C", root, "show", "HEAD:go.mod").Output()
	if err != nil {
		t.Fatal(err)
	}
	publish(sdk, string(sdkMod), func(z *os.File) error {
		return zip.CreateFromVCS(z, module.Version{Path: sdk, Version: version}, root, "HEAD", "")
	})

	// The CLI, as committed, without go.work, requiring the SDK release.
	src := filepath.Join(tmp, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := exec.Command("git", "-C", root, "archive", "--format=tar", "HEAD", "cmd/paved")
	untar := exec.Command("tar", "-x", "-C", src)
	untar.Stdin, _ = archive.StdoutPipe()
	if err := untar.Start(); err != nil {
		t.Fatal(err)
	}
	if err := archive.Run(); err != nil {
		t.Fatal(err)
	}
	if err := untar.Wait(); err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(src, "cmd", "paved")
	os.Remove(filepath.Join(cli, "go.work"))
	os.Remove(filepath.Join(cli, "go.work.sum"))
	cache, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	upstream, _ := exec.Command("go", "env", "GOPROXY").Output()
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local", "GONOSUMDB="+sdk, "GOBIN="+filepath.Join(tmp, "bin"),
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(filepath.Join(strings.TrimSpace(string(cache)), "cache", "download"))+","+strings.TrimSpace(string(upstream)))
	goRun := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	goRun(cli, "mod", "edit", "-require="+sdk+"@"+version)
	goRun(cli, "mod", "tidy")
	cliMod, err := os.ReadFile(filepath.Join(cli, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	publish(sdk+"/cmd/paved", string(cliMod), func(z *os.File) error {
		return zip.CreateFromDir(z, module.Version{Path: sdk + "/cmd/paved", Version: version}, cli)
	})

	// The one line.
	goRun(tmp, "install", sdk+"/cmd/paved@"+version)
	var stderr bytes.Buffer
	help := exec.Command(filepath.Join(tmp, "bin", "paved"), "help")
	help.Stderr = &stderr
	if err := help.Run(); err != nil || !strings.Contains(stderr.String(), "audit") {
		t.Errorf("installed paved help: %v\n%s", err, stderr.String())
	}
}
