package browsertest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/testenv"
)

// EnvChromium names the Chromium binary; scripts/services.d/chromium.sh
// exports it for the integration run. Unset, PATH is searched.
const EnvChromium = "PAVED_CHROMIUM"

// EnvArtifacts is where screenshots of failed tests go; default a
// directory under os.TempDir.
const EnvArtifacts = "PAVED_ARTIFACTS"

// tabTimeout bounds everything one test does in its tab.
const tabTimeout = 90 * time.Second

// hstsHost is a name the browser resolves to 127.0.0.1 (through
// --host-resolver-rules): Chromium keeps no HSTS state for localhost or
// an IP address, so the HSTS test needs a real-looking host name. .test
// is reserved (RFC 6761), so the name can reach nothing else.
const hstsHost = "paved.test"

// suite is the one browser process every test shares, and the one dev
// certificate every paved server of the suite serves.
var suite struct {
	dev  *httpx.DevCertificate
	pins []string // SPKI hashes the browser accepts without a trusted root

	once    sync.Once
	skip    string // why there is no browser, in a unit run
	err     error  // why the browser did not start
	browser context.Context
	stop    context.CancelFunc
	profile string
}

func TestMain(m *testing.M) {
	code := run(m)
	os.Exit(code)
}

func run(m *testing.M) int {
	dev, err := httpx.NewDevCertificate("", "localhost", "127.0.0.1", hstsHost)
	if err != nil {
		fmt.Fprintln(os.Stderr, "browsertest: dev certificate:", err)
		return 1
	}
	defer dev.Close()
	suite.dev = dev
	leaf, _ := dev.GetCertificate(nil)
	// The stand-in OpenID provider (authtest) serves net/http/httptest's
	// built-in certificate; every httptest TLS server does.
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	provider := ts.Certificate()
	ts.Close()
	suite.pins = []string{spki(leaf.Leaf), spki(provider)}
	defer func() {
		if suite.stop != nil {
			suite.stop()
		}
		if suite.profile != "" {
			if err := removeProfile(suite.profile); err != nil {
				fmt.Fprintln(os.Stderr, "browsertest: the browser profile stays behind:", err)
			}
		}
	}()
	return m.Run()
}

// profilePrefix names the suite's browser profiles under os.TempDir.
const profilePrefix = "paved-chromium-"

// ownerFile, in a profile, holds the PID of the test binary that made it.
const ownerFile = "paved-owner"

// newProfile makes a browser profile directory under root, after removing
// the profiles that earlier runs left behind: a run that ends in a panic
// (go test -timeout) or a kill skips its deferred cleanup, and Chromium
// profiles weigh megabytes. The browser itself dies with the run
// (chromedp starts it with Pdeathsig).
func newProfile(root string) (string, error) {
	sweepProfiles(root)
	dir, err := os.MkdirTemp(root, profilePrefix)
	if err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600)
}

// sweepProfiles removes the profiles under root whose owner is no longer
// running. A profile without an owner file is left alone: another program
// may be making it.
func sweepProfiles(root string) {
	dirs, _ := filepath.Glob(filepath.Join(root, profilePrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(d)
	}
}

// processAlive reports whether a process with pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// removeProfile removes the profile directory, trying again for a few
// seconds: a Chromium helper process can still write there for a moment
// after the browser exits.
func removeProfile(dir string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.RemoveAll(dir)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// spki returns the base64 SHA-256 hash of cert's SubjectPublicKeyInfo, as
// --ignore-certificate-errors-spki-list wants it.
func spki(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// chromiumPath finds the browser: PAVED_CHROMIUM, else PATH.
func chromiumPath() (string, error) {
	if p := strings.TrimSpace(os.Getenv(EnvChromium)); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvChromium, p, err)
		}
		return p, nil
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium in PATH and " + EnvChromium + " unset")
}

// allocatorOptions are the browser's flags: headless, a fresh profile, no
// background traffic (this machine's closed network refuses it), and the
// explicit certificate pins.
func allocatorOptions(bin, profile string, pins []string) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		// Explicit pinning: a certificate whose chain holds one of these
		// public keys is accepted although no trusted root signed it.
		// Every other certificate error still fails the load.
		chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(pins, ",")),
		chromedp.Flag("host-resolver-rules", "MAP "+hstsHost+" 127.0.0.1"),
	}
	if os.Geteuid() == 0 {
		// Chromium's sandbox refuses to run as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	return opts
}

// requireBrowser returns the shared browser, starting it on first use. A
// unit run without Chromium skips t; the integration run fails it.
func requireBrowser(t *testing.T) context.Context {
	t.Helper()
	suite.once.Do(startBrowser)
	if suite.skip != "" {
		if testenv.Integration() {
			t.Fatalf("integration run (%s=1) but %s: scripts/services.sh install adds Debian's chromium", testenv.EnvIntegration, suite.skip)
		}
		t.Skipf("no browser: %s (install Debian's chromium, or run make test)", suite.skip)
	}
	if suite.err != nil {
		t.Fatalf("starting Chromium: %v", suite.err)
	}
	return suite.browser
}

func startBrowser() {
	bin, err := chromiumPath()
	if err != nil && os.Getenv(EnvChromium) != "" {
		// A browser named and missing is a mistake to show, not a
		// reason to skip.
		suite.err = err
		return
	}
	if err != nil {
		suite.skip = err.Error()
		return
	}
	profile, err := newProfile(os.TempDir())
	suite.profile = profile
	if err != nil {
		suite.err = err
		return
	}
	if err := writeProfilePrefs(profile); err != nil {
		suite.err = err
		return
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocatorOptions(bin, profile, suite.pins)...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	suite.stop = func() { cancelBrowser(); cancelAlloc() }
	// The first Run starts the browser and must carry no timeout: a
	// watchdog bounds the start instead.
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(browser) }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		err = errors.New("no DevTools connection within 60s")
		cancelBrowser()
	}
	if err != nil {
		suite.err = fmt.Errorf("%s: %w", bin, err)
		return
	}
	suite.browser = browser
}

// writeProfilePrefs writes the new profile's preferences: third-party
// cookies allowed (cookie_controls_mode 0), in regular and off-the-record
// contexts alike. Chromium blocks them by default, and then a cross-site
// subresource request carries no cookie whatever its SameSite: the
// SameSite checks need SameSite alone to decide.
func writeProfilePrefs(profile string) error {
	dir := filepath.Join(profile, "Default")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "Preferences"), []byte(`{"profile":{"cookie_controls_mode":0}}`), 0o600)
}

// tab is one test's page, in a browser context of its own (cookies, HSTS
// state, cache), with the screenshots it took along the way.
type tab struct {
	t   *testing.T // failures go here: see in
	ctx context.Context
	*tabLog
}

// tabLog is what a tab collected, shared by its copies for subtests.
type tabLog struct {
	mu    sync.Mutex
	shots []shot
	logs  []string // the browser's log entries, "source: text"
}

// in returns tb for the subtest t: the same page, with failures reported
// on t. A subtest must not fail through its parent's tab: FailNow from
// the subtest's goroutine on the parent ends the subtest as "called
// FailNow on a parent test", not with the failure's message.
func (tb *tab) in(t *testing.T) *tab { return &tab{t: t, ctx: tb.ctx, tabLog: tb.tabLog} }

type shot struct {
	name string
	png  []byte
}

// newTab opens a tab in a new browser context. When t fails, the tab's
// checkpoints and a final screenshot are written as artefacts.
func newTab(t *testing.T) *tab {
	t.Helper()
	return openTab(t, chromedp.WithNewBrowserContext())
}

func openTab(t *testing.T, opts ...chromedp.ContextOption) *tab {
	t.Helper()
	b := requireBrowser(t)
	tctx, cancelT := context.WithTimeout(b, tabTimeout)
	ctx, cancel := chromedp.NewContext(tctx, opts...)
	tb := &tab{t: t, ctx: ctx, tabLog: &tabLog{}}
	t.Cleanup(func() {
		if t.Failed() {
			tb.checkpoint("final")
			tb.writeArtifacts()
			tb.mu.Lock()
			t.Logf("the browser logged: %q", tb.logs)
			tb.mu.Unlock()
		}
		cancel()
		cancelT()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	// The browser's own log: CSP, framing and mixed-content refusals are
	// reported there with source "security".
	entries := chromedp.Events(ctx, cdplog.EntryAdded)
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("Log.enable: %v", err)
	}
	go func() {
		for ev, err := range entries {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.logs = append(tb.logs, string(ev.Entry.Source)+": "+ev.Entry.Text)
			tb.mu.Unlock()
		}
	}()
	return tb
}

// logged waits for the browser to log an entry holding every one of
// parts, and returns it.
func (tb *tab) logged(parts ...string) string {
	tb.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tb.mu.Lock()
		msgs := slices.Clone(tb.logs)
		tb.mu.Unlock()
	next:
		for _, m := range msgs {
			for _, p := range parts {
				if !strings.Contains(m, p) {
					continue next
				}
			}
			return m
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("the browser logged nothing with %q; it logged %q", parts, msgs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// findLog returns the first entry the browser logged so far that holds
// part, or "".
func (tb *tab) findLog(part string) string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, m := range tb.logs {
		if strings.Contains(m, part) {
			return m
		}
	}
	return ""
}

// checkpoint keeps a screenshot of what the tab shows now, written out
// only if the test fails.
func (tb *tab) checkpoint(name string) {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Logf("screenshot %q: %v", name, err)
		return
	}
	tb.mu.Lock()
	tb.shots = append(tb.shots, shot{name, png})
	tb.mu.Unlock()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// artifactDir returns a new directory for t's artefacts.
func artifactDir(t testing.TB) (string, error) {
	root := os.Getenv(EnvArtifacts)
	if root == "" {
		root = filepath.Join(os.TempDir(), "paved-browser-artifacts")
	}
	dir := filepath.Join(root, unsafeName.ReplaceAllString(t.Name(), "_")+"-"+time.Now().UTC().Format("20060102T150405.000"))
	return dir, os.MkdirAll(dir, 0o755)
}

func (tb *tab) writeArtifacts() {
	tb.mu.Lock()
	shots := tb.shots
	tb.mu.Unlock()
	if len(shots) == 0 {
		return
	}
	dir, err := artifactDir(tb.t)
	if err != nil {
		tb.t.Logf("artefacts: %v", err)
		return
	}
	for i, s := range shots {
		name := fmt.Sprintf("%02d-%s.png", i+1, unsafeName.ReplaceAllString(s.name, "_"))
		if err := os.WriteFile(filepath.Join(dir, name), s.png, 0o644); err != nil {
			tb.t.Logf("artefacts: %v", err)
			return
		}
	}
	tb.t.Logf("screenshots of what the browser saw: %s", dir)
}

// do runs the actions in the tab, failing the test on error.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// load is navigate that returns the error rather than failing the test.
// Its response can be nil without an error: chromedp now and then misses
// the response of a navigation that did happen (seen leaving a browser
// error page, and after a page that navigated by itself). Use response
// when the test reads it.
func (tb *tab) load(u string) (*network.Response, error) {
	return chromedp.Run(tb.ctx, chromedp.NavigateResponse(u))
}

// navigate loads u as a top-level navigation and returns the response,
// which may be nil (see load).
func (tb *tab) navigate(u string) *network.Response {
	tb.t.Helper()
	resp, err := tb.load(u)
	if err != nil {
		tb.t.Fatalf("navigate %s: %v", u, err)
	}
	return resp
}

// response is navigate for a test that reads the response: it fails the
// test, rather than panic, when chromedp missed it.
func (tb *tab) response(u string) *network.Response {
	tb.t.Helper()
	resp := tb.navigate(u)
	if resp == nil {
		tb.t.Fatalf("navigate %s: the browser loaded it, but chromedp saw no response", u)
	}
	return resp
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](tb *tab, expr string, opts ...chromedp.EvaluateOption) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// poll waits until a JavaScript expression is truthy and returns its
// value. It tries again when a navigation replaces the document under it.
func poll[T any](tb *tab, expr string) T {
	tb.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		// Short tries: a navigation can leave a try waiting on the
		// document it replaced.
		ctx, cancel := context.WithTimeout(tb.ctx, time.Second)
		v, err := chromedp.Run(ctx, chromedp.Poll[T](expr))
		cancel()
		if err == nil {
			return v
		}
		if time.Now().After(deadline) || tb.ctx.Err() != nil {
			tb.t.Fatalf("waiting for %s: %v", expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// frameDocument returns the location of the document the browser shows in
// the cross-origin iframe it was asked to load from src (an out-of-process
// frame, a target of its own): src itself when the frame loaded,
// "chrome-error://chromewebdata/" when the browser refused it.
func (tb *tab) frameDocument(src string) string {
	tb.t.Helper()
	res, err := chromedp.CallBrowser(tb.ctx, target.GetTargets, target.GetTargetsParams{})
	if err != nil {
		tb.t.Fatalf("targets: %v", err)
	}
	for _, ti := range res.TargetInfos {
		if ti.Type != "iframe" || ti.URL != src {
			continue
		}
		fctx, cancel := chromedp.NewContext(tb.ctx, chromedp.WithTargetID(ti.TargetID), chromedp.WithDetachOnCancel())
		defer cancel()
		loc, err := chromedp.Run(fctx, chromedp.Evaluate[string](`location.href`))
		if err != nil {
			tb.t.Fatalf("frame %s: %v", src, err)
		}
		return loc
	}
	tb.t.Fatalf("no iframe target for %s", src)
	return ""
}

// ---- servers ----

// startPaved starts an httpx server on a free loopback port with the
// suite's dev certificate and returns it with its URL on host (localhost
// or 127.0.0.1: two origins, and two sites, on one machine).
func startPaved(t *testing.T, host string, cfg httpx.Config, routes func(*httpx.Server)) (*httpx.Server, string) {
	t.Helper()
	return startPavedOn(t, listen(t), "https", host, cfg, routes)
}

// listen opens a free loopback port, for a server whose routes need its
// URL before it starts.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// startPavedOn is startPaved on ln, over scheme ("http" needs the
// AllowPlainHTTP opt-out in cfg; no certificate is then given).
func startPavedOn(t *testing.T, ln net.Listener, scheme, host string, cfg httpx.Config, routes func(*httpx.Server)) (*httpx.Server, string) {
	t.Helper()
	if scheme == "https" {
		cfg.Certificates = suite.dev
		cfg.OptOuts = append(cfg.OptOuts, httpx.AllowDevCertificate("browser tests on loopback: ephemeral local CA"))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Posture == nil {
		cfg.Posture = &paved.Posture{}
	}
	if cfg.Events == nil {
		cfg.Events = paved.NopSink{}
	}
	cfg.DrainTimeout = 200 * time.Millisecond
	srv, err := httpx.New(cfg)
	if err != nil {
		t.Fatalf("httpx.New: %v", err)
	}
	routes(srv)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	<-srv.Ready()
	return srv, scheme + "://" + net.JoinHostPort(host, portOf(ln.Addr()))
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// startOther starts a plain net/http TLS server on 127.0.0.1: "another
// site" with no paved controls, which frames, fetches and links to paved.
func startOther(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	ts.TLS = httpx.TLSConfig(suite.dev, nil, 0)
	ts.TLS.NextProtos = []string{"http/1.1"}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return "https://127.0.0.1:" + portOf(ts.Listener.Addr())
}

// html writes a small HTML page.
func html(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, "<!doctype html><html><head><meta charset=utf-8><title>paved browser test</title></head><body>"+body+"</body></html>")
}

// isPNG reports whether b starts with the PNG signature.
func isPNG(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }
