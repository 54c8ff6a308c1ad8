package policy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

type testKey struct {
	priv string // PEM
	pub  string // PEM
}

var (
	keyOnce    sync.Once
	keyA, keyB testKey
)

func testKeys(t testing.TB) (testKey, testKey) {
	t.Helper()
	keyOnce.Do(func() {
		gen := func() testKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
			return testKey{
				priv: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
				pub:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
			}
		}
		keyA, keyB = gen(), gen()
	})
	return keyA, keyB
}

// allowPolicy answers data.b.allow with data.b.answer.
const allowPolicy = "package b\n\ndefault allow := false\n\nallow if data.b.answer == true\n"

// makeBundle builds a bundle archive with the policy above, answer as its
// data and revision in its manifest, signed with key under keyID unless
// key is empty.
func makeBundle(t testing.TB, revision string, answer bool, key, keyID string) []byte {
	t.Helper()
	b := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: revision, Roots: &[]string{"b"}},
		Data:     map[string]any{"b": map[string]any{"answer": answer}},
		Modules: []bundle.ModuleFile{{
			URL: "/b/policy.rego", Path: "/b/policy.rego", Raw: []byte(allowPolicy),
			Parsed: ast.MustParseModule(allowPolicy),
		}},
	}
	if key != "" {
		if err := b.GenerateSignature(bundle.NewSigningConfig(key, "RS256", ""), keyID, false); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// makeTampered signs a bundle, then changes its data before writing it.
func makeTampered(t testing.TB, key, keyID string) []byte {
	t.Helper()
	b := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: "r1", Roots: &[]string{"b"}},
		Data:     map[string]any{"b": map[string]any{"answer": false}},
		Modules: []bundle.ModuleFile{{
			URL: "/b/policy.rego", Path: "/b/policy.rego", Raw: []byte(allowPolicy),
			Parsed: ast.MustParseModule(allowPolicy),
		}},
	}
	if err := b.GenerateSignature(bundle.NewSigningConfig(key, "RS256", ""), keyID, false); err != nil {
		t.Fatal(err)
	}
	b.Data = map[string]any{"b": map[string]any{"answer": true}}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawTarball builds an archive of the given entries as they are.
func rawTarball(t testing.TB, entries map[string]string, typ byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range entries {
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: typ}
		if typ == tar.TypeSymlink {
			h.Size, h.Linkname = 0, body
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ != tar.TypeSymlink {
			if _, err := tw.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func writeFile(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bundle.tar.gz")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func bundleConfig(file, url string, keys map[string]VerificationKey) Config {
	return Config{
		Bundle:  BundleConfig{File: file, URL: url, Keys: keys},
		Queries: []QueryConfig{{Name: "allow", Path: "data.b.allow", Pure: true}},
		Timeout: 2 * time.Second,
		Logger:  discard, Posture: &paved.Posture{}, Events: paved.NopSink{},
	}
}

func TestBundleFileVerification(t *testing.T) {
	a, b := testKeys(t)
	keys := map[string]VerificationKey{"a": {Key: a.pub}}
	signed := makeBundle(t, "r1", true, a.priv, "a")
	tampered := makeTampered(t, a.priv, "a")
	big := make([]byte, 2<<10)
	tests := []struct {
		name string
		data []byte
		keys map[string]VerificationKey
		max  int64
		want string // "" for success, else a piece of the error
	}{
		{"signed", signed, keys, 0, ""},
		{"unsigned file without keys", makeBundle(t, "r1", true, "", ""), nil, 0, ""},
		{"unsigned file with keys", makeBundle(t, "r1", true, "", ""), keys, 0, "missing .signatures.json"},
		{"wrong key", makeBundle(t, "r1", true, b.priv, "a"), keys, 0, "failed to verify JWT signature: crypto/rsa: verification error"},
		{"unknown key id", makeBundle(t, "r1", true, a.priv, "zz"), keys, 0, "verification key corresponding to ID zz not found"},
		// GHSA-g2pf-6v5v-qcc8: OPA before 1.21.3 accepted this one.
		{"empty key id", makeBundle(t, "r1", true, a.priv, ""), keys, 0, "verification key ID is empty"},
		{"tampered data", tampered, keys, 0, "data.json: digest mismatch"},
		{"truncated", signed[:len(signed)/2], keys, 0, "bad bundle archive"},
		{"garbage", []byte("<html>oops</html>"), keys, 0, "bad bundle archive"},
		{"path traversal", rawTarball(t, map[string]string{"../../etc/x.rego": "package x"}, tar.TypeReg), nil, 0, "leaves the bundle"},
		{"symlink", rawTarball(t, map[string]string{"/b/p.rego": "/etc/passwd"}, tar.TypeSymlink), nil, 0, "not a regular file"},
		{"oversized", rawTarball(t, map[string]string{"/data.json": `{"x":"` + string(bytes.Repeat([]byte("a"), 4<<10)) + `"}`}, tar.TypeReg), nil, 2 << 10, "larger than"},
		{"oversized compressed", append(signed, big...), keys, int64(len(signed) + 1<<10), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := bundleConfig(writeFile(t, tt.data), "", tt.keys)
			cfg.Bundle.MaxBytes = tt.max
			e, err := New(context.Background(), cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				d, err := e.Decide(context.Background(), "allow", nil)
				if err != nil || !d.Allow || d.BundleRevision != "r1" {
					t.Fatalf("decision %+v, %v", d, err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrLoad) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// bundleServer serves whatever bundle is set, with an ETag.
type bundleServer struct {
	mu       sync.Mutex
	body     []byte
	status   int
	delay    time.Duration
	requests atomic.Int64
	notMod   atomic.Int64
}

func (s *bundleServer) set(body []byte, status int) {
	s.mu.Lock()
	s.body, s.status = body, status
	s.mu.Unlock()
}

func (s *bundleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	body, status, delay := s.body, s.status, s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if r.Header.Get("If-None-Match") == etag {
		s.notMod.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Write(body)
}

func TestRemoteBundleLastGoodStays(t *testing.T) {
	a, _ := testKeys(t)
	srv := &bundleServer{}
	srv.set(makeBundle(t, "r1", true, a.priv, "a"), http.StatusOK)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cfg := bundleConfig("", ts.URL+"/bundle.tar.gz", map[string]VerificationKey{"a": {Key: a.pub}})
	ctx := context.Background()
	e, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Check(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	fetch := func() error { return e.remote.fetch(ctx) }
	decide := func() Decision {
		d, _ := e.Decide(ctx, "allow", nil)
		return d
	}
	if d := decide(); !d.Allow || d.BundleRevision != "r1" {
		t.Fatalf("first: %+v", d)
	}
	// Unchanged: 304, nothing swapped.
	if err := fetch(); err != nil || srv.notMod.Load() != 1 {
		t.Fatalf("304: %v, %d", err, srv.notMod.Load())
	}
	bad := []struct {
		name   string
		body   []byte
		status int
	}{
		{"down", nil, http.StatusServiceUnavailable},
		{"garbage", []byte("not a bundle at all"), http.StatusOK},
		{"unsigned", makeBundle(t, "r2", false, "", ""), http.StatusOK},
		{"does not compile", rawTarball(t, map[string]string{"/b/p.rego": "package b\nallow if {"}, tar.TypeReg), http.StatusOK},
	}
	for _, tt := range bad {
		srv.set(tt.body, tt.status)
		if err := fetch(); err == nil {
			t.Fatalf("%s: fetch succeeded", tt.name)
		}
		err := e.Check(ctx)
		if !errors.Is(err, httpx.ErrDegraded) {
			t.Fatalf("%s: readiness %v, want degraded", tt.name, err)
		}
		if d := decide(); !d.Allow || d.BundleRevision != "r1" {
			t.Fatalf("%s: last good bundle not serving: %+v", tt.name, d)
		}
	}
	// Slow: the client's timeout ends the fetch; last good stays.
	srv.set(makeBundle(t, "r2", false, a.priv, "a"), http.StatusOK)
	srv.mu.Lock()
	srv.delay = time.Second
	srv.mu.Unlock()
	e.remote.client = &http.Client{Timeout: 50 * time.Millisecond}
	if err := fetch(); err == nil || !errors.Is(e.Check(ctx), httpx.ErrDegraded) {
		t.Fatalf("slow: %v", err)
	}
	// A client of the service's own without a Timeout: the fetch is
	// bounded all the same.
	e.remote.client = &http.Client{}
	e.remote.timeout = 50 * time.Millisecond
	if err := fetch(); err == nil || !errors.Is(e.Check(ctx), httpx.ErrDegraded) {
		t.Fatalf("slow, client without timeout: %v", err)
	}
	srv.mu.Lock()
	srv.delay = 0
	srv.mu.Unlock()
	// A good new bundle swaps in and clears the cache.
	if s := e.snap.Load(); s.cache.Len() != 1 {
		t.Fatalf("cache holds %d", s.cache.Len())
	}
	if err := fetch(); err != nil {
		t.Fatal(err)
	}
	if err := e.Check(ctx); err != nil {
		t.Fatalf("recovered: %v", err)
	}
	if d := decide(); d.Allow || d.BundleRevision != "r2" || d.Cached {
		t.Fatalf("after swap: %+v", d)
	}
}

func TestRemoteNotReadyUntilLoaded(t *testing.T) {
	a, _ := testKeys(t)
	srv := &bundleServer{}
	srv.set(nil, http.StatusNotFound)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cfg := bundleConfig("", ts.URL+"/b.tar.gz", map[string]VerificationKey{"a": {Key: a.pub}})
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Check(context.Background()); !errors.Is(err, ErrNotLoaded) || errors.Is(err, httpx.ErrDegraded) {
		t.Fatalf("readiness %v", err)
	}
	if d, err := e.Decide(context.Background(), "allow", nil); d.Allow || d.Cause != CauseNotLoaded || !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("%+v %v", d, err)
	}
	// Run retries with backoff and loads the bundle once it is served.
	e.remote.backoff.Base = 5 * time.Millisecond
	e.remote.backoff.Cap = 20 * time.Millisecond
	srv.set(makeBundle(t, "r1", true, a.priv, "a"), http.StatusOK)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	for e.Check(ctx) != nil && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if rev, ok := e.Revision(); !ok || rev != "r1" {
		t.Fatalf("revision %q %v", rev, ok)
	}
}

func TestRemoteConfig(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"unsigned without opt-out", bundleConfig("", "https://b.example/b.tar.gz", nil), "Config.Bundle.Keys"},
		{"plain http off loopback", bundleConfig("", "http://b.example/b.tar.gz", map[string]VerificationKey{"a": {Key: "k"}}), "Config.Bundle.URL"},
		{"key id not in keys", func() Config {
			c := bundleConfig("", "https://b.example/b.tar.gz", map[string]VerificationKey{"a": {Key: "k"}})
			c.Bundle.KeyID = "b"
			return c
		}(), "Config.Bundle.KeyID"},
		{"two sources", func() Config {
			c := bundleConfig("x.tar.gz", "https://b.example/b.tar.gz", map[string]VerificationKey{"a": {Key: "k"}})
			return c
		}(), "Config"},
		{"opt-out without reason", func() Config {
			c := bundleConfig("", "https://b.example/b.tar.gz", nil)
			c.OptOuts = []paved.OptOut{AllowUnsignedBundle(" ")}
			return c
		}(), "Config.OptOuts[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.cfg)
			ces := paved.ConfigErrors(err)
			found := false
			for _, ce := range ces {
				found = found || ce.Field == tt.field
			}
			if !found {
				t.Fatalf("err = %v, want a ConfigError on %s", err, tt.field)
			}
		})
	}
}

func TestUnsignedRemoteOptOut(t *testing.T) {
	srv := &bundleServer{}
	srv.set(makeBundle(t, "r1", true, "", ""), http.StatusOK)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cfg := bundleConfig("", ts.URL+"/b.tar.gz", nil)
	cfg.OptOuts = []paved.OptOut{AllowUnsignedBundle("bundle server is a sidecar on loopback")}
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := e.Decide(context.Background(), "allow", nil); err != nil || !d.Allow {
		t.Fatalf("%+v %v", d, err)
	}
	r := cfg.Posture.Report()
	if len(r.OptOuts) != 1 || r.OptOuts[0].Name != OptOutAllowUnsignedBundle {
		t.Fatalf("posture opt-outs %+v", r.OptOuts)
	}
	for _, c := range r.Controls {
		if c.Name == "bundle-signature" && c.Enabled {
			t.Fatalf("control %+v", c)
		}
	}
}

// A bundle server on loopback that redirects to plain http elsewhere: the
// engine's own client refuses the redirect before following it, and the
// final URL of a service's own client is checked all the same. Unsigned
// (opted out), so that only the transport protects the bundle.
func TestRemoteRedirectOffLoopbackRefused(t *testing.T) {
	srv := &bundleServer{}
	srv.set(makeBundle(t, "r1", true, "", ""), http.StatusOK)
	mux := http.NewServeMux()
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://bundles.example/b.tar.gz", http.StatusFound)
	})
	mux.Handle("/", srv)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	cfg := bundleConfig("", ts.URL+"/moved", nil)
	cfg.OptOuts = []paved.OptOut{AllowUnsignedBundle("bundle server is a sidecar on loopback")}
	// Every host name dials the test server, as a DNS or proxy an
	// attacker controls would.
	dialAll := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", ts.Listener.Addr().String())
	}}
	for _, tt := range []struct {
		name   string
		client func(e *Engine) *http.Client
	}{
		{"engine's client", func(e *Engine) *http.Client {
			c := *e.remote.client
			c.Transport = dialAll
			return &c
		}},
		{"service's client", func(*Engine) *http.Client { return &http.Client{Transport: dialAll, Timeout: 5 * time.Second} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg.Posture = &paved.Posture{}
			e, err := New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			e.remote.client = tt.client(e)
			before := srv.requests.Load()
			err = e.remote.fetch(context.Background())
			if err == nil || !strings.Contains(err.Error(), "neither https nor loopback") {
				t.Fatalf("fetch: %v", err)
			}
			if _, ok := e.Revision(); ok {
				t.Fatal("a bundle loaded through the redirect")
			}
			// The engine's client never sent the request off loopback.
			if n := srv.requests.Load() - before; tt.name == "engine's client" && n != 0 {
				t.Fatalf("%d requests followed the redirect", n)
			}
		})
	}
}

func TestRunTwiceRefused(t *testing.T) {
	srv := &bundleServer{}
	srv.set(nil, http.StatusNotFound)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	a, _ := testKeys(t)
	e, err := New(context.Background(), bundleConfig("", ts.URL+"/b.tar.gz", map[string]VerificationKey{"a": {Key: a.pub}}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	for !e.remote.running.Load() {
		time.Sleep(time.Millisecond)
	}
	if err := e.Run(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Run: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	// Once it has returned, Run may be called again.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := e.Run(ctx2); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after Run: %v", err)
	}
}

// A service's own client, given through Config.Bundle.Client, gets the
// engine's refusal of a redirect off https and loopback before the
// redirected request is sent (its headers, an Authorization say, never
// leave), and its own redirect policy still runs after that check.
func TestServiceClientRedirectRefusedBeforeSending(t *testing.T) {
	srv := &bundleServer{}
	srv.set(makeBundle(t, "r1", true, "", ""), http.StatusOK)
	mux := http.NewServeMux()
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://bundles.example/b.tar.gz", http.StatusFound)
	})
	mux.HandleFunc("/same", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/b.tar.gz", http.StatusFound)
	})
	mux.Handle("/", srv)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	dialAll := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", ts.Listener.Addr().String())
	}}
	defer dialAll.CloseIdleConnections()
	var own atomic.Int32
	client := &http.Client{Transport: dialAll, Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		own.Add(1)
		return nil
	}}
	for _, tt := range []struct {
		path            string
		wantRequests    int64
		wantOwnPolicies int32
	}{
		{"/moved", 0, 0}, // refused before the request off loopback is sent
		{"/same", 1, 1},  // on loopback: followed, and the service's own policy ran
	} {
		cfg := bundleConfig("", ts.URL+tt.path, nil)
		cfg.OptOuts = []paved.OptOut{AllowUnsignedBundle("bundle server is a sidecar on loopback")}
		cfg.Posture = &paved.Posture{}
		cfg.Bundle.Client = client
		before, ownBefore := srv.requests.Load(), own.Load()
		if _, err := New(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		if n := srv.requests.Load() - before; n != tt.wantRequests {
			t.Fatalf("%s: %d requests reached the bundle path, want %d", tt.path, n, tt.wantRequests)
		}
		if n := own.Load() - ownBefore; n != tt.wantOwnPolicies {
			t.Fatalf("%s: the service's CheckRedirect ran %d times, want %d", tt.path, n, tt.wantOwnPolicies)
		}
	}
}
