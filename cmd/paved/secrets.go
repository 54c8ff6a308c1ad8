package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pavedroad/paved/cmd/paved/analyzers"
	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"
)

func init() {
	register(command{name: "secrets", summary: "secrets in a tree, staged changes or git history (gitleaks' rules and paved's)", run: runSecrets})
}

// defaultBaseline is read when present and -baseline is not given.
const defaultBaseline = ".paved-secrets-baseline.json"

// secretsOptions are `paved secrets`' flags.
type secretsOptions struct {
	staged, history, verify bool
	baseline, writeBaseline string
	maxMB                   int
	perFragment             time.Duration
	logOpts                 string
}

func runSecrets(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "secrets", "[-staged | -history] [-baseline FILE] [-verify] [-format text|json|sarif] [-fail-on low|medium|high] [PATH]")
	var o secretsOptions
	fs.BoolVar(&o.staged, "staged", false, "scan the staged changes (for a pre-commit hook)")
	fs.BoolVar(&o.history, "history", false, "scan every commit of the git history (git log -p --all)")
	fs.StringVar(&o.logOpts, "log-opts", "", "git log options for -history instead of --all (e.g. origin/main..HEAD)")
	fs.StringVar(&o.baseline, "baseline", "", "accepted findings, each with a reason (default "+defaultBaseline+" in PATH when present)")
	fs.StringVar(&o.writeBaseline, "write-baseline", "", "write the findings to FILE as a baseline to complete with reasons, and exit")
	fs.BoolVar(&o.verify, "verify", false, "ask VAULT_ADDR whether each Vault token found is live (token lookup-self only)")
	fs.IntVar(&o.maxMB, "max-mb", 10, "skip files and diffs larger than this many megabytes")
	fs.DurationVar(&o.perFragment, "file-timeout", 30*time.Second, "give up on one file or one commit's diff of a file after this long")
	format := fs.String("format", "text", "output: text, json or sarif")
	failOn := fs.String("fail-on", "low", "exit 1 when a finding at or above this severity remains")
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitError
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	min, ok := parseFormatFailOn(e, "secrets", *format, *failOn)
	if !ok {
		return exitError
	}
	if len(pos) > 1 || (o.staged && o.history) {
		fmt.Fprintln(e.stderr, "paved secrets: want at most one PATH and at most one of -staged, -history")
		fs.Usage()
		return exitError
	}
	root := "."
	if len(pos) == 1 {
		root = pos[0]
	}
	r, err := scanSecrets(ctx, e, root, o)
	if err != nil {
		fmt.Fprintf(e.stderr, "paved secrets: %v\n", err)
		return exitError
	}
	if o.writeBaseline != "" {
		if err := writeBaselineFile(o.writeBaseline, r.Findings); err != nil {
			fmt.Fprintf(e.stderr, "paved secrets: %v\n", err)
			return exitError
		}
		fmt.Fprintf(e.stderr, "paved secrets: wrote %d entries to %s; give each a reason before using it\n", len(r.Findings), o.writeBaseline)
		return exitOK
	}
	if o.verify {
		verifyVault(ctx, e, r.Findings)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(e.stderr, "paved secrets: skipped %s\n", s)
	}
	if err := writeFindings(e.stdout, *format, r); err != nil {
		fmt.Fprintf(e.stderr, "paved secrets: %v\n", err)
		return exitError
	}
	if r.failing(min) > 0 {
		return exitFindings
	}
	return exitOK
}

// scanSecrets runs gitleaks' detector with gitleaks' and paved's rules
// over the source o selects, then drops the baseline's findings.
func scanSecrets(ctx context.Context, e *env, root string, o secretsOptions) (*findingsReport, error) {
	logging.Logger = zerolog.Nop() // gitleaks' own logging: paved reports
	det, err := analyzers.NewDetector()
	if err != nil {
		return nil, fmt.Errorf("gitleaks configuration: %w", err)
	}
	det.MaxTargetMegaBytes = o.maxMB
	det.MaxDecodeDepth = 5 // gitleaks' CLI default
	baselinePath := o.baseline
	if baselinePath == "" {
		if p := filepath.Join(root, defaultBaseline); fileExists(p) {
			baselinePath = p
		}
	}
	var base *baseline
	if baselinePath != "" {
		f, err := os.Open(baselinePath)
		if err != nil {
			return nil, err
		}
		base, err = readBaseline(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", baselinePath, err)
		}
	}
	if _, err := os.Stat(root); err != nil {
		return nil, err
	}
	var src sources.Source
	var progress *progressLine
	switch {
	case o.staged || o.history:
		if out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--git-dir").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("-staged and -history need a git repository: %s", strings.TrimSpace(string(out)))
		}
		var cmd *sources.GitCmd
		if o.staged {
			cmd, err = sources.NewGitDiffCmdContext(ctx, root, true)
		} else {
			cmd, err = sources.NewGitLogCmdContext(ctx, root, o.logOpts)
			if sh, _ := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--is-shallow-repository").Output(); strings.TrimSpace(string(sh)) == "true" {
				fmt.Fprintln(e.stderr, "paved secrets: shallow clone: commits before its first were not scanned (git fetch --unshallow)")
			}
			if f, ok := e.stderr.(*os.File); ok && isTerminal(f) {
				progress = &progressLine{w: f}
			}
		}
		if err != nil {
			return nil, err
		}
		src = &sources.Git{Cmd: cmd, Config: &det.Config, Remote: &sources.RemoteInfo{}, Sema: det.Sema}
	default:
		src = &sources.Files{Path: root, Config: &det.Config, Sema: det.Sema, MaxFileSize: o.maxMB * 1_000_000, FollowSymlinks: false}
	}

	var (
		mu       sync.Mutex
		found    []report.Finding
		tooBig   atomic.Int64
		timedOut atomic.Int64
		commits  sync.Map
		nCommits atomic.Int64
	)
	maxBytes := o.maxMB * 1_000_000
	err = src.Fragments(ctx, func(fr sources.Fragment, ferr error) error {
		if ferr != nil && fr.FilePath == "" {
			return fmt.Errorf("git failed, nothing was scanned cleanly: %w", ferr)
		}
		if ferr != nil || (len(fr.Raw) == 0 && fr.FilePath == "") {
			return nil
		}
		if fr.CommitSHA != "" {
			if _, seen := commits.LoadOrStore(fr.CommitSHA, true); !seen {
				n := nCommits.Add(1)
				progress.update(n)
			}
		}
		if isBaselineFile(fr.FilePath, baselinePath) {
			return nil // its fingerprints are hashes, not secrets
		}
		if len(fr.Raw) > maxBytes {
			tooBig.Add(1)
			return nil
		}
		fctx, cancel := context.WithTimeout(ctx, o.perFragment)
		//lint:ignore SA1019 gitleaks v8's DetectContext takes only the deprecated alias
		fs := det.DetectContext(fctx, detect.Fragment(fr))
		if fctx.Err() == context.DeadlineExceeded {
			timedOut.Add(1)
		}
		cancel()
		if len(fs) > 0 {
			mu.Lock()
			found = append(found, fs...)
			mu.Unlock()
		}
		return nil
	})
	progress.done(nCommits.Load())
	if err != nil && ctx.Err() == nil {
		return nil, err
	}
	r := &findingsReport{Command: "secrets"}
	if n := tooBig.Load(); n > 0 {
		r.Skipped = append(r.Skipped, fmt.Sprintf("%d files or diffs larger than %d MB", n, o.maxMB))
	}
	if n := timedOut.Load(); n > 0 {
		r.Skipped = append(r.Skipped, fmt.Sprintf("the rest of %d files or diffs that took longer than %s", n, o.perFragment))
	}
	for _, f := range found {
		fd := secretFinding(root, f)
		if base.accepts(fd) {
			r.Suppressed++
			continue
		}
		r.Findings = append(r.Findings, fd)
	}
	r.sort()
	return r, nil
}

func isBaselineFile(path, baselinePath string) bool {
	if path == "" {
		return false
	}
	if filepath.Base(path) == defaultBaseline {
		return true
	}
	if baselinePath == "" {
		return false
	}
	a, err1 := filepath.Abs(path)
	b, err2 := filepath.Abs(baselinePath)
	return err1 == nil && err2 == nil && a == b
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// secretFinding converts a gitleaks finding; the value itself is kept
// only as a SHA-256 fingerprint.
func secretFinding(root string, f report.Finding) finding {
	sev := analyzers.High.String()
	if f.RuleID == "generic-api-key" {
		sev = analyzers.Medium.String() // gitleaks' noisiest rule
	}
	file := f.File
	if rel, err := filepath.Rel(root, file); err == nil && !strings.HasPrefix(rel, "..") && filepath.IsAbs(file) {
		file = rel
	}
	file = filepath.ToSlash(strings.TrimPrefix(file, "./"))
	return finding{
		Rule: f.RuleID, Tool: "gitleaks", Severity: sev, CWE: 798, File: file, Line: f.StartLine, Column: f.StartColumn,
		Commit: f.Commit, Message: f.Description + " (" + redactSecret(f.Secret) + ")",
		Fix:         "remove it, rotate it at its issuer (a leaked value stays in git history), and load it at run time; or accept it in the baseline with a reason",
		Summary:     "secret matched by rule " + f.RuleID,
		Fingerprint: fingerprint(f.RuleID, file, f.Secret),
		secret:      f.Secret,
	}
}

func redactSecret(s string) string {
	if len(s) <= 8 {
		return "****"
	}
	return s[:4] + "****"
}

// fingerprint identifies a secret without holding it: stable across
// commits and line moves.
func fingerprint(rule, file, secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return rule + ":" + file + ":" + hex.EncodeToString(sum[:16])
}

// A baseline is the accepted findings, each with the reason it is
// accepted:
//
//	{"accepted": [{"fingerprint": "RULE:FILE:HASH", "reason": "a test fixture, never a real token"}]}
type baseline struct {
	Accepted []baselineEntry `json:"accepted"`
	byFP     map[string]bool
}

type baselineEntry struct {
	Fingerprint string `json:"fingerprint"`
	Reason      string `json:"reason"`
}

// maxBaselineBytes bounds a baseline file.
const maxBaselineBytes = 8 << 20

// readBaseline reads and checks a baseline: every entry needs a
// fingerprint and a reason that says why (the //paved:allow rule).
func readBaseline(r io.Reader) (*baseline, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBaselineBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBaselineBytes {
		return nil, fmt.Errorf("baseline larger than %d bytes", maxBaselineBytes)
	}
	var b baseline
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	b.byFP = make(map[string]bool, len(b.Accepted))
	for i, a := range b.Accepted {
		parts := strings.Split(a.Fingerprint, ":")
		if len(parts) < 3 || parts[0] == "" || len(parts[len(parts)-1]) != 32 {
			return nil, fmt.Errorf("baseline entry %d: fingerprint %q is not RULE:FILE:HASH", i+1, a.Fingerprint)
		}
		if !analyzers.ReasonOK(a.Reason) {
			return nil, fmt.Errorf("baseline entry %d (%s): reason %q does not say why it is accepted", i+1, a.Fingerprint, a.Reason)
		}
		b.byFP[a.Fingerprint] = true
	}
	return &b, nil
}

func (b *baseline) accepts(f finding) bool { return b != nil && b.byFP[f.Fingerprint] }

func writeBaselineFile(path string, fs []finding) error {
	b := baseline{Accepted: []baselineEntry{}}
	seen := map[string]bool{}
	for _, f := range fs {
		if !seen[f.Fingerprint] {
			seen[f.Fingerprint] = true
			b.Accepted = append(b.Accepted, baselineEntry{Fingerprint: f.Fingerprint, Reason: ""})
		}
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o600)
}

// vaultRules are the rules whose secret is a Vault token.
var vaultRules = map[string]bool{"vault-service-token": true, "vault-batch-token": true, "paved-vault-short-token": true}

// verifyVault asks VAULT_ADDR, for each Vault token found, whether it is
// live: GET /v1/auth/token/lookup-self, nothing else.
func verifyVault(ctx context.Context, e *env, fs []finding) {
	addr := strings.TrimRight(e.getenv("VAULT_ADDR"), "/")
	refuse := plaintextRemote(addr)
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a redirect would carry X-Vault-Token to another host
	}}
	checked := map[string]string{}
	for i := range fs {
		f := &fs[i]
		if !vaultRules[f.Rule] {
			continue
		}
		if addr == "" {
			f.Verified = "not checked: VAULT_ADDR is not set"
			continue
		}
		if refuse != "" {
			f.Verified = "not checked: " + refuse
			continue
		}
		if v, ok := checked[f.secret]; ok {
			f.Verified = v
			continue
		}
		f.Verified = lookupSelf(ctx, client, addr, f.secret)
		checked[f.secret] = f.Verified
	}
}

// plaintextRemote says why a token must not be sent to addr: http:// to a
// host that is not loopback ("" when addr is https or loopback).
func plaintextRemote(addr string) string {
	u, err := url.Parse(addr)
	if err != nil {
		return "VAULT_ADDR is not a URL"
	}
	if u.Scheme == "https" {
		return ""
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return ""
	}
	return "refusing to send a token over " + u.Scheme + ":// to " + u.Host + " (VAULT_ADDR must be https, or http on loopback)"
}

func lookupSelf(ctx context.Context, client *http.Client, addr, token string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/v1/auth/token/lookup-self", nil)
	if err != nil {
		return "not checked: " + err.Error()
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := client.Do(req)
	if err != nil {
		return "not checked: " + err.Error()
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var body struct {
			Data struct {
				Accessor    string   `json:"accessor"`
				DisplayName string   `json:"display_name"`
				Policies    []string `json:"policies"`
				TTL         int      `json:"ttl"`
			} `json:"data"`
		}
		err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body)
		d := body.Data
		if err != nil || d.Accessor == "" {
			return fmt.Sprintf("not checked: %s answered %s without a token's lookup-self data", addr, resp.Status)
		}
		return fmt.Sprintf("LIVE at %s (%s, policies %s, ttl %ds); revoke it now: vault token revoke -accessor %s (or VAULT_TOKEN=<the token> vault token revoke -self)",
			addr, d.DisplayName, strings.Join(d.Policies, ","), d.TTL, d.Accessor)
	case http.StatusForbidden, http.StatusUnauthorized:
		return "not live at " + addr + " (lookup-self refused)"
	}
	return fmt.Sprintf("not checked: %s answered %s", addr, resp.Status)
}

// progressLine prints the commits scanned on a terminal, at most once a
// second. A nil *progressLine prints nothing.
type progressLine struct {
	w    io.Writer
	mu   sync.Mutex
	last time.Time
}

func (p *progressLine) update(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) >= time.Second {
		p.last = time.Now()
		fmt.Fprintf(p.w, "\rpaved secrets: %d commits scanned", n)
	}
}

func (p *progressLine) done(n int64) {
	if p == nil {
		return
	}
	fmt.Fprintf(p.w, "\rpaved secrets: %d commits scanned\n", n)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
