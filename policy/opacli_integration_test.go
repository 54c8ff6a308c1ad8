package policy_test

// Integration tests against OPA's own CLI (PAVED_OPA_BIN, built by
// scripts/services.d/opa.sh at the library's version): decisions equal
// `opa eval`'s, Rego test results equal `opa test`'s, and a signed bundle
// from a bundle server is accepted by `opa run` (and by the engine) with
// the same key, and rejected by both when tampered with.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/internal/testenv"
	"github.com/pavedroad/paved/policy"
	"github.com/pavedroad/paved/policy/policytest"
)

func requireOPA(t testing.TB) string {
	t.Helper()
	return testenv.Require(t, "PAVED_OPA_BIN")["PAVED_OPA_BIN"]
}

// quickstartInputs is the table both engines decide.
func quickstartInputs() map[string]map[string]any {
	who := func(sub string, roles ...string) map[string]any {
		r := make([]any, len(roles))
		for i, s := range roles {
			r[i] = s
		}
		return map[string]any{"sub": sub, "roles": r}
	}
	req := func(method, id string, p map[string]any) map[string]any {
		in := map[string]any{"method": method, "route": method + " /docs/{id}", "path": "/docs/" + id, "params": map[string]any{"id": id}, "client_ip": "127.0.0.1", "time": 1796126400000000000}
		if p != nil {
			in["principal"] = p
		}
		return in
	}
	return map[string]map[string]any{
		"owner reads":          req("GET", "1", who("quickstart-user", "reader")),
		"reader, not owner":    req("GET", "2", who("quickstart-user", "reader")),
		"unknown document":     req("GET", "404", who("quickstart-user", "reader")),
		"reader deletes":       req("DELETE", "1", who("quickstart-user", "reader")),
		"admin deletes":        req("DELETE", "2", who("root", "admin")),
		"editor writes own":    req("PUT", "2", who("someone-else", "editor")),
		"editor writes others": req("PUT", "1", who("someone-else", "editor")),
		"anonymous":            req("GET", "1", nil),
		"several roles":        req("PUT", "2", who("someone-else", "reader", "editor", "unknown")),
		"no route":             {"method": "GET"},
	}
}

// TestDecisionsEqualOPAEval: for every input of the table, the engine's
// decision (allow and reasons) is the value `opa eval` gives for the same
// query on the same files.
func TestDecisionsEqualOPAEval(t *testing.T) {
	opa := requireOPA(t)
	e := newQuickstartEngine(t, nil)
	for name, in := range quickstartInputs() {
		t.Run(name, func(t *testing.T) {
			raw, _ := json.Marshal(in)
			cmd := exec.Command(opa, "eval", "--format", "json", "--stdin-input", "--data", "../examples/quickstart/authz", quickstartQuery)
			cmd.Stdin = bytes.NewReader(raw)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("opa eval: %v: %s", err, stderrOf(err))
			}
			var res struct {
				Result []struct {
					Expressions []struct {
						Value struct {
							Allow   bool     `json:"allow"`
							Reasons []string `json:"reasons"`
						} `json:"value"`
					} `json:"expressions"`
				} `json:"result"`
			}
			if err := json.Unmarshal(out, &res); err != nil || len(res.Result) != 1 || len(res.Result[0].Expressions) != 1 {
				t.Fatalf("opa eval printed %s (%v)", out, err)
			}
			want := res.Result[0].Expressions[0].Value
			d, err := e.Decide(context.Background(), "http", json.RawMessage(raw))
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow != want.Allow || !slices.Equal(nonNil(d.Reasons), nonNil(want.Reasons)) {
				t.Fatalf("paved: allow %v reasons %q; opa eval: allow %v reasons %q", d.Allow, d.Reasons, want.Allow, want.Reasons)
			}
		})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestRegoTestsEqualOPATest: policytest's results (package, name,
// outcome, location) equal `opa test --format json` on the same
// directories, failing, erring and skipped tests included.
func TestRegoTestsEqualOPATest(t *testing.T) {
	opa := requireOPA(t)
	for _, dir := range []string{"../examples/quickstart/authz", "org", "policytest/testdata/mixed"} {
		t.Run(dir, func(t *testing.T) {
			got, err := policytest.RegoTests(context.Background(), os.DirFS(dir))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(opa, "test", "--format", "json", ".")
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil && stderrOf(err) != "" {
				t.Fatalf("opa test: %v: %s", err, stderrOf(err))
			}
			var results []struct {
				Location struct {
					File string `json:"file"`
					Row  int    `json:"row"`
				} `json:"location"`
				Package string          `json:"package"`
				Name    string          `json:"name"`
				Fail    bool            `json:"fail"`
				Skip    bool            `json:"skip"`
				Error   json.RawMessage `json:"error"`
			}
			if err := json.Unmarshal(out, &results); err != nil {
				t.Fatalf("opa test printed %s: %v", out, err)
			}
			var want []string
			for _, r := range results {
				outcome := "PASS"
				switch {
				case len(r.Error) > 0:
					outcome = "ERROR"
				case r.Skip:
					outcome = "SKIPPED"
				case r.Fail:
					outcome = "FAIL"
				}
				want = append(want, fmt.Sprintf("%s:%d %s.%s: %s", r.Location.File, r.Location.Row, strings.TrimPrefix(r.Package, "data."), r.Name, outcome))
			}
			slices.Sort(want)
			var have []string
			for _, r := range got {
				have = append(have, fmt.Sprintf("%s:%d %s", r.File, r.Row, r))
			}
			slices.Sort(have)
			if len(want) == 0 || strings.Join(have, "\n") != strings.Join(want, "\n") {
				t.Fatalf("policytest:\n%s\nopa test:\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// signedBundle builds the quickstart's policy as a bundle with OPA's
// bundle package, signed with key as keyID; tamper changes a module after
// signing.
func signedBundle(t testing.TB, key *rsa.PrivateKey, keyID, revision string, tamper bool) []byte {
	t.Helper()
	b, err := bundle.NewCustomReader(bundle.NewFSLoaderWithRoot(os.DirFS("../examples/quickstart/authz"), ".")).Read()
	if err != nil {
		t.Fatal(err)
	}
	b.Manifest.Revision = revision
	b.Manifest.Init()
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := b.GenerateSignature(bundle.NewSigningConfig(string(pemKey), "RS256", ""), keyID, false); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(b); err != nil {
		t.Fatal(err)
	}
	if !tamper {
		return buf.Bytes()
	}
	// Re-pack the archive with the policy's default flipped, keeping the
	// signatures file as it was.
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	changed := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if strings.HasSuffix(h.Name, "authz.rego") {
			body = bytes.Replace(body, []byte("default allow := false"), []byte("default allow := true"), 1)
			changed = true
		}
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write(body)
	}
	if !changed {
		t.Fatal("tamper: authz.rego not found in the bundle")
	}
	_ = tw.Close()
	_ = zw.Close()
	return out.Bytes()
}

// bundleServer serves one bundle at /bundles/authz.tar.gz and counts the
// fetches.
type bundleServer struct {
	mu      sync.Mutex
	body    []byte
	fetches int
}

func (s *bundleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body := s.body
	s.fetches++
	s.mu.Unlock()
	if r.URL.Path != "/bundles/authz.tar.gz" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	_, _ = w.Write(body)
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startOPA runs `opa run --server` with config on a free loopback port and
// returns its address and a function that returns its log so far.
func startOPA(t testing.TB, opa string, config string, args ...string) (string, func() string) {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	var logBuf syncBuffer
	cmd := exec.Command(opa, append([]string{"run", "--server", "--addr", addr, "--config-file", cfgFile, "--log-level", "info", "--disable-telemetry"}, args...)...)
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	opaPIDs.Store(addr, cmd.Process.Pid)
	t.Cleanup(func() {
		opaPIDs.Delete(addr)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("opa run did not answer /health within 30s: %v\n%s", err, logBuf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return addr, logBuf.String
}

// opaPIDs maps the address of each `opa run` startOPA started to its
// process ID.
var opaPIDs sync.Map

// procCPU is the user and system CPU time of process pid so far, from
// /proc (Linux); ok is false elsewhere.
func procCPU(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The fields after the command name (in parentheses, which may hold
	// spaces): state is field 3, utime 14, stime 15, in clock ticks.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	var ut, st int64
	if _, err := fmt.Sscan(f[11], &ut); err != nil {
		return 0, false
	}
	if _, err := fmt.Sscan(f[12], &st); err != nil {
		return 0, false
	}
	const clkTck = 100 // USER_HZ, 100 on every Linux platform Go supports
	return time.Duration(ut+st) * time.Second / clkTck, true
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bundlesHealthy polls opa's /health?bundles until it answers 200 or wait
// passes.
func bundlesHealthy(addr string, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for {
		resp, err := http.Get("http://" + addr + "/health?bundles")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func opaDecide(t testing.TB, client *http.Client, addr string, input []byte) (allow bool, reasons []string) {
	t.Helper()
	resp, err := client.Post("http://"+addr+"/v1/data/quickstart/authz/decision", "application/json", bytes.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Result *struct {
			Allow   bool     `json:"allow"`
			Reasons []string `json:"reasons"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Result == nil {
		t.Fatalf("opa answered %s: %v", resp.Status, err)
	}
	return out.Result.Allow, out.Result.Reasons
}

func opaBundleConfig(serverURL string, pub []byte) string {
	return fmt.Sprintf(`services:
  bundles:
    url: %s
bundles:
  authz:
    service: bundles
    resource: /bundles/authz.tar.gz
    polling:
      min_delay_seconds: 1
      max_delay_seconds: 2
    signing:
      keyid: k1
keys:
  k1:
    algorithm: RS256
    key: |
%s`, serverURL, indent(string(pub), "      "))
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestSignedBundleAcceptedByOPARun: the bundle server's signed bundle is
// activated by `opa run` and by the engine with the same public key, and
// both decide alike; the same bundle tampered with after signing is
// refused by both.
func TestSignedBundleAcceptedByOPARun(t *testing.T) {
	opa := requireOPA(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	for _, tt := range []struct {
		name   string
		tamper bool
	}{{"signed", false}, {"tampered", true}} {
		t.Run(tt.name, func(t *testing.T) {
			bs := &bundleServer{body: signedBundle(t, key, "k1", "rev-"+tt.name, tt.tamper)}
			srv := httptest.NewServer(bs)
			defer srv.Close()

			addr, logs := startOPA(t, opa, opaBundleConfig(srv.URL, pub))
			healthy := bundlesHealthy(addr, map[bool]time.Duration{false: 30 * time.Second, true: 4 * time.Second}[tt.tamper])

			engine, engineErr := policy.New(context.Background(), policy.Config{
				Bundle: policy.BundleConfig{
					URL:  srv.URL + "/bundles/authz.tar.gz",
					Keys: map[string]policy.VerificationKey{"k1": {Algorithm: "RS256", Key: string(pub)}},
				},
				Queries: []policy.QueryConfig{{Name: "http", Path: quickstartQuery}},
				Timeout: 5 * time.Second,
				Logger:  slog.New(slog.DiscardHandler), Posture: &paved.Posture{}, Events: paved.NopSink{},
			})
			if engineErr != nil {
				t.Fatal(engineErr)
			}
			rev, loaded := engine.Revision()

			if tt.tamper {
				if healthy {
					t.Fatalf("opa run activated the tampered bundle:\n%s", logs())
				}
				if !strings.Contains(logs(), "verif") && !strings.Contains(logs(), "digest") {
					t.Errorf("opa run's log does not say why it refused the bundle:\n%s", logs())
				}
				if loaded {
					t.Fatalf("the engine loaded the tampered bundle (revision %q)", rev)
				}
				return
			}
			if !healthy {
				t.Fatalf("opa run did not activate the signed bundle:\n%s", logs())
			}
			if !loaded || rev != "rev-signed" {
				t.Fatalf("engine revision %q loaded %v, want rev-signed", rev, loaded)
			}
			client := &http.Client{Timeout: 10 * time.Second}
			for name, in := range quickstartInputs() {
				raw, _ := json.Marshal(map[string]any{"input": in})
				allow, reasons := opaDecide(t, client, addr, raw)
				d, _ := engine.Decide(context.Background(), "http", in)
				if d.Allow != allow || !slices.Equal(nonNil(d.Reasons), nonNil(reasons)) {
					t.Errorf("%s: engine allow %v reasons %q; opa run allow %v reasons %q", name, d.Allow, d.Reasons, allow, reasons)
				}
				if d.BundleRevision != "rev-signed" {
					t.Errorf("%s: decision revision %q", name, d.BundleRevision)
				}
			}
		})
	}
}

// BenchmarkQuickstartVsSidecar decides the quickstart's RBAC decision (the
// owner reads document 1) in one run: through paved (no decision cache),
// through a plain prepared rego evaluation of the same files, and through
// `opa run --server` over loopback HTTP with a keep-alive client, the
// sidecar a service would otherwise call. The target is sidecar/paved >=
// 20.
//
//	PAVED_INTEGRATION=1 PAVED_OPA_BIN=~/.cache/paved/bin/opa-1.22.3 \
//	  go test -run '^$' -bench QuickstartVsSidecar -benchtime 1s -count 5 ./policy/
func BenchmarkQuickstartVsSidecar(b *testing.B) {
	opa := requireOPA(b)
	ctx := context.Background()
	in := quickstartInputs()["owner reads"]
	raw, _ := json.Marshal(in)

	e := newQuickstartEngine(b, nil) // 5s deadline, as the sidecar has none
	q := e.Query("http")
	pin := &policy.Input{Method: "GET", Path: "/docs/1", Route: "GET /docs/{id}", Params: map[string]string{"id": "1"}, ClientIP: "127.0.0.1",
		Time: time.Unix(0, 1796126400000000000), Principal: &paved.Principal{Subject: "quickstart-user", Roles: []string{"reader"}}}
	if d, err := q.Decide(ctx, pin); !d.Allow {
		b.Fatalf("paved denied: %v", err)
	}
	pq, err := rego.New(rego.Query(quickstartQuery), rego.Load([]string{"../examples/quickstart/authz"}, nil)).PrepareForEval(ctx)
	if err != nil {
		b.Fatal(err)
	}
	// At --log-level error, as a sidecar tuned for speed runs: at the
	// default info level opa run writes two JSON log lines per request.
	addr, logs := startOPA(b, opa, "{}\n", "--log-level", "error", "../examples/quickstart/authz")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	body, _ := json.Marshal(map[string]any{"input": in})
	if allow, _ := opaDecide(b, client, addr, body); !allow {
		b.Fatalf("opa run denied:\n%s", logs())
	}

	b.Run("paved", func(b *testing.B) {
		reportCPU(b, func() {
			if d, _ := q.Decide(ctx, pin); !d.Allow {
				b.Fatal("denied")
			}
		})
	})
	b.Run("plain-rego", func(b *testing.B) {
		var input any
		_ = json.Unmarshal(raw, &input)
		reportCPU(b, func() {
			rs, err := pq.Eval(ctx, rego.EvalInput(input))
			if err != nil || len(rs) != 1 {
				b.Fatal(err)
			}
		})
	})
	// The sidecar's CPU time is mostly in the opa process, which
	// cpu-ns/op (this process: the client) does not count: opa-cpu-ns/op
	// is the opa process's, and total-cpu-ns/op both, to compare with
	// paved's cpu-ns/op where a busy machine makes wall time meaningless.
	b.Run("opa-run-server", func(b *testing.B) {
		pid, _ := opaPIDs.Load(addr)
		opa0, ok := procCPU(pid.(int))
		self0, n := cpuTime(), 0
		reportCPU(b, func() {
			resp, err := client.Post("http://"+addr+"/v1/data/quickstart/authz/decision", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			n++
		})
		if opa1, ok1 := procCPU(pid.(int)); ok && ok1 && n > 0 {
			b.ReportMetric(float64(opa1-opa0)/float64(n), "opa-cpu-ns/op")
			b.ReportMetric(float64(opa1-opa0+cpuTime()-self0)/float64(n), "total-cpu-ns/op")
		}
	})
}
