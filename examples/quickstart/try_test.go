package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A printedCommand is one command line the quickstart printed, with the
// statuses its comment claims.
type printedCommand struct {
	line   string // as printed: what a user pastes
	claim  string
	status []string // "200", or "200", "200", "429" for the loop
}

var claimStatus = regexp.MustCompile(`^((?:\d{3}, )*\d{3})\b`)

// printedCommands returns the curl commands (and the loop) the quickstart
// printed, in order. Each must claim its status in the comment line just
// above it.
func printedCommands(t *testing.T, printed []string) []printedCommand {
	t.Helper()
	var out []printedCommand
	for i, line := range printed {
		if !strings.HasPrefix(line, "curl ") && !strings.HasPrefix(line, "for ") {
			continue
		}
		var claim string
		if i > 0 {
			claim, _ = strings.CutPrefix(printed[i-1], "# ")
		}
		m := claimStatus.FindStringSubmatch(claim)
		if m == nil {
			t.Fatalf("printed command claims no status in the line above it:\n%s", line)
		}
		if strings.Contains(line, "#") {
			t.Errorf("printed command holds a #, which zsh does not read as a comment:\n%s", line)
		}
		out = append(out, printedCommand{line: line, claim: claim, status: strings.Split(m[1], ", ")})
	}
	return out
}

// bashCmd runs line in bash with the environment env, its output in
// stdout and stderr.
func bashCmd(bash, line string, env []string, stdout, stderr *bytes.Buffer) *exec.Cmd {
	cmd := exec.Command(bash, "-c", line)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd
}

var (
	againStatus = regexp.MustCompile(`run again before Retry-After has passed: ((?:\d{3}, )*\d{3})\b`)
	decisionID  = regexp.MustCompile(`"decision_id":"[0-9a-f]{32}"`)
	statusLine  = regexp.MustCompile(`(?m)^PAVED_STATUS=(\d{3})$`)
)

// runPrinted runs every command the quickstart printed, each as printed,
// in bash with the real curl, in an environment holding only what the
// printed export lines set (and tokens, which a test supplies when the
// issuer is real). It asserts the statuses each command claims, seen
// through a .curlrc that makes curl report each status on stderr: the
// command lines are not changed. It returns the commands.
func runPrinted(t *testing.T, qs quickstart, tokens map[string]string) []printedCommand {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on PATH: the printed commands are for bash")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl on PATH: cannot run the printed commands")
	}
	curlHome := t.TempDir()
	rc := "write-out = \"%{stderr}PAVED_STATUS=%{http_code}\\n\"\n"
	if err := os.WriteFile(filepath.Join(curlHome, ".curlrc"), []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + curlHome, "CURL_HOME=" + curlHome}
	for k, v := range tokens {
		env = append(env, k+"="+v)
	}
	// The printed export lines, as bash reads them, before each command.
	var exports strings.Builder
	for _, line := range qs.printed {
		if strings.HasPrefix(line, "export ") && !strings.Contains(line, "='<") { // not a placeholder: "bring your own"
			exports.WriteString(line + "\n")
		}
	}
	cmds := printedCommands(t, qs.printed)
	for _, c := range cmds {
		var stdout, stderr bytes.Buffer
		if err := bashCmd(bash, exports.String()+c.line, env, &stdout, &stderr).Run(); err != nil {
			t.Errorf("%s\n%v\n%s%s", c.line, err, stdout.Bytes(), stderr.Bytes())
			continue
		}
		var got []string
		for _, m := range statusLine.FindAllStringSubmatch(stderr.String(), -1) {
			got = append(got, m[1])
		}
		if !slices.Equal(got, c.status) {
			t.Errorf("%s\ngot statuses %v, the comment claims %v\n%s%s", c.line, got, c.status, stdout.Bytes(), stderr.Bytes())
			continue
		}
		o := strings.ToLower(stdout.String())
		if strings.Contains(c.claim, "decision_id") && !decisionID.MatchString(stdout.String()) {
			t.Errorf("%s\nclaims a decision_id, printed none:\n%s", c.line, stdout.Bytes())
		}
		if strings.Contains(c.claim, "WWW-Authenticate: Bearer") && !strings.Contains(o, "www-authenticate: bearer") {
			t.Errorf("%s\nclaims a WWW-Authenticate challenge:\n%s", c.line, stdout.Bytes())
		}
		if slices.Contains(c.status, "429") {
			for _, want := range []string{`ratelimit: "demo";r=0;t=`, "retry-after: "} {
				if !strings.Contains(o, want) {
					t.Errorf("%s\nprinted no %q:\n%s", c.line, want, stdout.Bytes())
				}
			}
			// A user runs it again at once (or restarts the quickstart on
			// the same Redis): the claim says what that gets.
			m := againStatus.FindStringSubmatch(c.claim)
			if m == nil {
				t.Errorf("%s\nits claim %q does not say what running it again gets", c.line, c.claim)
				continue
			}
			stdout.Reset()
			stderr.Reset()
			if err := bashCmd(bash, exports.String()+c.line, env, &stdout, &stderr).Run(); err != nil {
				t.Errorf("%s (again)\n%v\n%s%s", c.line, err, stdout.Bytes(), stderr.Bytes())
				continue
			}
			var again []string
			for _, m := range statusLine.FindAllStringSubmatch(stderr.String(), -1) {
				again = append(again, m[1])
			}
			if want := strings.Split(m[1], ", "); !slices.Equal(again, want) {
				t.Errorf("%s\nrun again: statuses %v, the comment claims %v", c.line, again, want)
			}
		}
	}
	return cmds
}

// The printed text starts with the walkthrough of the acceptance
// point, in order: an allowed call, one denied by auth, one denied by the
// policy with its decision ID, one rate-limited; then the SBOM, the
// provenance and the posture report.
func checkWalkthrough(t *testing.T, cmds []printedCommand) {
	t.Helper()
	want := []struct{ status, path string }{
		{"200", "/me"},
		{"401", "/me"},
		{"403", "/docs/2"},
		{"200, 200, 429", "/limited"},
		{"200", "/.well-known/sbom"},
		{"200", "/.well-known/sbom?format=provenance"},
		{"200", "/posture"},
	}
	if len(cmds) < len(want) {
		t.Fatalf("%d commands printed, want at least %d", len(cmds), len(want))
	}
	for i, w := range want {
		c := cmds[i]
		if strings.Join(c.status, ", ") != w.status || !strings.Contains(c.line+" ", w.path+" ") && !strings.Contains(c.line, w.path+`"`) {
			t.Errorf("command %d is %q, want %s on %s", i+1, c.line, w.status, w.path)
		}
	}
}

// The printed export lines work in bash whatever the development CA's
// path holds: a space, a backslash (a Windows path in Git Bash), a quote.
func TestQuickstartPrintedExportsQuoted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), `my dir\it's`)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	qs := startQuickstartIn(t, nil, dir)
	checkWalkthrough(t, runPrinted(t, qs, nil))
}

// Every command the quickstart prints works as printed, in bash with curl,
// and gets the status its comment claims: the proof that a new user who
// follows the printed text succeeds.
func TestQuickstartPrintedCommands(t *testing.T) {
	qs := startQuickstart(t)
	cmds := runPrinted(t, qs, nil)
	checkWalkthrough(t, cmds)
	if len(cmds) < 15 {
		t.Fatalf("ran %d printed commands, want every one of them", len(cmds))
	}
}
