package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// A panic after the response has started cannot become a clean 500. The
// response must then be aborted (as net/http does for
// http.ErrAbortHandler), so that the client sees a broken response rather
// than a truncated body that looks complete.
func TestPanicAfterHeadersAbortsResponse(t *testing.T) {
	var logs syncBuffer
	s := plainServer(t, func(c *httpx.Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	s.HandleFunc("GET /partial", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		_ = http.NewResponseController(w).Flush()
		panic("database password is hunter2")
	})
	start(t, s)
	resp, err := http.Get("http://" + s.Addr().String() + "/partial")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("truncated response %d %q read without error: want the response aborted", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "hunter2") {
		t.Fatal("panic value leaked")
	}
	l := logs.String()
	if !strings.Contains(l, "panic recovered") || !strings.Contains(l, "hardening_test.go") {
		t.Fatalf("panic or stack not logged:\n%s", l)
	}
	if !strings.Contains(l, `"msg":"http request"`) || !strings.Contains(l, `"path":"/partial"`) || !strings.Contains(l, `"aborted":true`) {
		t.Fatalf("aborted request missing from the access log:\n%s", l)
	}

	// The standalone middleware behaves the same on a plain net/http
	// server, and the access log around it still records the request.
	var logs2 syncBuffer
	h := httpx.Chain(httpx.AccessLog(slog.New(slog.NewJSONHandler(&logs2, nil))), httpx.Recover(discard(), paved.NopSink{}))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "partial")
			_ = http.NewResponseController(w).Flush()
			panic("boom")
		}))
	ts := httptest.NewServer(h)
	defer ts.Close()
	resp, err = http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("Recover: truncated response %q read without error", body)
	}
	if l := logs2.String(); !strings.Contains(l, `"status":200`) || !strings.Contains(l, `"aborted":true`) {
		t.Fatalf("AccessLog around Recover: %s", l)
	}
}

// http.ErrAbortHandler is passed on to net/http untouched: no 500 is
// written, nothing is logged as a panic, no event is emitted, but the
// request still appears in the access log.
func TestErrAbortHandlerPassedOn(t *testing.T) {
	var logs syncBuffer
	var events []paved.Event
	cfg := plainConfig()
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	cfg.Events = paved.SinkFunc(func(_ context.Context, e paved.Event) { events = append(events, e) })
	s := mustNew(t, cfg)
	s.HandleFunc("GET /abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	w := httptest.NewRecorder()
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want http.ErrAbortHandler re-raised", v)
			}
		}()
		s.ServeHTTP(w, httptest.NewRequest("GET", "/abort", nil))
	}()
	if w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
		t.Fatalf("aborted request got a response: %d %q", w.Code, w.Body)
	}
	l := logs.String()
	if strings.Contains(l, "panic recovered") || len(events) != 0 {
		t.Fatalf("ErrAbortHandler treated as a crash: events %v\n%s", events, l)
	}
	if !strings.Contains(l, `"path":"/abort"`) || !strings.Contains(l, `"aborted":true`) {
		t.Fatalf("aborted request missing from the access log:\n%s", l)
	}

	// The standalone middleware re-raises it as well.
	h := httpx.Recover(discard(), paved.NopSink{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Fatalf("Recover: recovered %v, want http.ErrAbortHandler", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}()
}

// A certificate source that is a typed nil passes a nil check on the
// interface but fails every handshake; New must reject it and name the
// field.
func TestNewRejectsNilCertificateSource(t *testing.T) {
	for name, src := range map[string]httpx.CertificateSource{
		"nil *FileCertificate": (*httpx.FileCertificate)(nil),
		"nil CertificateFunc":  httpx.CertificateFunc(nil),
	} {
		t.Run(name, func(t *testing.T) {
			s, err := httpx.New(httpx.Config{Certificates: src, Posture: new(paved.Posture), Logger: discard()})
			var ce *paved.ConfigError
			if err == nil || s != nil || !errors.As(err, &ce) || ce.Field != "Config.Certificates" || !strings.Contains(err.Error(), "Config.Certificates") {
				t.Fatalf("New = %v, %v; want a ConfigError for Config.Certificates", s, err)
			}
		})
	}
}

// An inbound request ID is accepted only when the peer is a proxy the
// server itself trusts, even when an outer ResolveClientIP trusted it.
func TestRequestIDTrustFollowsServerConfig(t *testing.T) {
	outer, err := httpx.ResolveClientIP(httpx.ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, plainConfig()) // trusts no proxy
	var id, ip string
	s.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		id, ip = httpx.RequestIDFrom(r.Context()), httpx.ClientIP(r).String()
	})
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:5000"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	r.Header.Set("X-Request-Id", "forged-id")
	do(outer(s), r)
	if ip != "10.1.2.3" {
		t.Fatalf("client IP = %s, want the peer", ip)
	}
	if id == "forged-id" {
		t.Fatal("request ID accepted from a peer the server does not trust")
	}
}

// A denial always carries a Retry-After of at least one second, even when
// the store says the wait is zero or a fraction of a second.
func TestRetryAfterNeverZero(t *testing.T) {
	for _, ra := range []time.Duration{0, time.Nanosecond, 999 * time.Millisecond, time.Second + time.Nanosecond} {
		want := "1"
		if ra > time.Second {
			want = "2"
		}
		cfg := plainConfig()
		cfg.RateLimit.Store = fixedStore{httpx.RateDecision{Allowed: false, RetryAfter: ra}}
		s := mustNew(t, cfg)
		s.HandleFunc("GET /", okHandler)
		w := do(s, httptest.NewRequest("GET", "/", nil))
		if w.Code != 429 || w.Header().Get("Retry-After") != want {
			t.Fatalf("RetryAfter %v: status %d Retry-After %q, want 429 %q", ra, w.Code, w.Header().Get("Retry-After"), want)
		}
		if p := problemOf(t, w); p["retry_after"] != float64(want[0]-'0') {
			t.Fatalf("RetryAfter %v: problem %v", ra, p)
		}
	}
}

type fixedStore struct{ d httpx.RateDecision }

func (f fixedStore) Take(context.Context, string, httpx.RatePolicy) (httpx.RateDecision, error) {
	return f.d, nil
}

// A readiness check that ignores its context still cannot hold /readyz
// past CheckTimeout.
func TestReadyzCheckIgnoringContext(t *testing.T) {
	cfg := plainConfig()
	cfg.CheckTimeout = 100 * time.Millisecond
	s := mustNew(t, cfg)
	block := make(chan struct{})
	defer close(block)
	s.AddCheck("stuck", httpx.CheckFunc(func(context.Context) error { <-block; return nil }))
	began := time.Now()
	w := do(s, httptest.NewRequest("GET", "/readyz", nil))
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("readyz took %v with CheckTimeout 100ms", d)
	}
	if want := `{"status":"fail","checks":[{"name":"stuck","status":"fail"}]}` + "\n"; w.Code != 503 || w.Body.String() != want {
		t.Fatalf("readyz = %d %q, want 503 %q", w.Code, w.Body, want)
	}
}

// While the server drains, /readyz says so, so that a load balancer stops
// sending new work; /livez stays ok.
func TestReadyzWhileDraining(t *testing.T) {
	s := plainServer(t, func(c *httpx.Config) { c.DrainTimeout = 5 * time.Second })
	entered, release := make(chan struct{}), make(chan struct{})
	s.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	stop := start(t, s)
	go func() {
		if resp, err := http.Get("http://" + s.Addr().String() + "/slow"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	stopc := make(chan error, 1)
	go func() { stopc <- stop() }()
	deadline := time.Now().Add(3 * time.Second)
	for {
		w := do(s, httptest.NewRequest("GET", "/readyz", nil))
		if w.Code == 503 && w.Body.String() == "{\"status\":\"draining\"}\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz while draining = %d %q", w.Code, w.Body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if w := do(s, httptest.NewRequest("GET", "/livez", nil)); w.Code != 200 {
		t.Fatalf("livez while draining = %d", w.Code)
	}
	close(release)
	if err := <-stopc; err != nil {
		t.Fatalf("drain = %v", err)
	}
}

// Certificate files that vanish, or a certificate that no longer matches
// its key (a rotation half done), keep the certificate in service; the
// completed rotation is then picked up.
func TestFileCertificateMissingAndMismatched(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	now := time.Now()
	rp := newReloadingPair(t, dir)
	cf, kf, logs := rp.cf, rp.kf, rp.logs
	cn := func() string { return rp.cn(t) }
	bump := rp.bump
	_ = os.Remove(cf)
	_ = os.Remove(kf)
	if got := cn(); got != "one.example" {
		t.Fatalf("with files gone CN = %q", got)
	}
	if !strings.Contains(logs.String(), "unreadable") {
		t.Fatalf("missing files not logged:\n%s", logs.String())
	}
	// Half a rotation: the new certificate, but a key from elsewhere.
	writePair(t, dir, "two.example", now.Add(-time.Hour), now.Add(time.Hour))
	_, okf := writePair(t, other, "three.example", now.Add(-time.Hour), now.Add(time.Hour))
	foreign, err := os.ReadFile(okf)
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(kf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kf, foreign, 0o600); err != nil {
		t.Fatal(err)
	}
	bump()
	if got := cn(); got != "one.example" {
		t.Fatalf("with a mismatched key CN = %q", got)
	}
	if !strings.Contains(logs.String(), "new certificate rejected") {
		t.Fatalf("mismatch not logged:\n%s", logs.String())
	}
	// The rotation completes.
	if err := os.WriteFile(kf, good, 0o600); err != nil {
		t.Fatal(err)
	}
	bump()
	if got := cn(); got != "two.example" {
		t.Fatalf("after the rotation completed CN = %q", got)
	}
}

// optOutStore is a third-party store that leaves a secure default and says
// so, as redislimit.Store does with AllowLocalFallback.
type optOutStore struct {
	httpx.Store
	o []paved.OptOut
}

func (s optOutStore) OptOuts() []paved.OptOut { return s.o }

// Every opt-out a store reports reaches the posture report, and one
// without a reason is a configuration error naming the field.
func TestStoreOptOutsRecorded(t *testing.T) {
	cfg := plainConfig()
	acme := paved.NewOptOut("acme", "limits-best-effort", "the edge enforces the hard limit")
	cfg.RateLimit.Store = optOutStore{httpx.NewMemoryStore(0), []paved.OptOut{acme}}
	s := mustNew(t, cfg)
	found := false
	inst := acme
	inst.Instance = s.Instance()
	for _, o := range cfg.Posture.Report().OptOuts {
		found = found || o == inst
	}
	if !found || len(s.OptOuts()) != 2 || s.OptOuts()[1] != inst {
		t.Fatalf("store opt-out missing: posture %+v, server %+v", cfg.Posture.Report().OptOuts, s.OptOuts())
	}

	cfg = plainConfig()
	cfg.RateLimit.Store = optOutStore{httpx.NewMemoryStore(0), []paved.OptOut{paved.NewOptOut("acme", "x", " ")}}
	_, err := httpx.New(cfg)
	var ce *paved.ConfigError
	if !errors.As(err, &ce) || ce.Field != "Config.RateLimit.Store" || !errors.Is(err, paved.ErrNoReason) {
		t.Fatalf("store opt-out without reason: New error = %v, want a ConfigError for Config.RateLimit.Store", err)
	}
}

// A per-route BodyLimit still answers 413 when middleware between the
// server and the route has replaced the request body.
func TestBodyLimitAfterBodyReplaced(t *testing.T) {
	s := mustNew(t, plainConfig())
	rewrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = io.NopCloser(r.Body) // as a decompressing or teeing middleware does
			h.ServeHTTP(w, r)
		})
	}
	s.Handle("POST /small", rewrap(httpx.BodyLimit(8)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "read failed", http.StatusBadRequest)
			return
		}
		okHandler(w, r)
	}))))
	w := do(s, httptest.NewRequest("POST", "/small", strings.NewReader(strings.Repeat("x", 100))))
	if w.Code != 413 {
		t.Fatalf("status = %d %q, want 413", w.Code, w.Body)
	}
	if p := problemOf(t, w); p["status"] != float64(413) || strings.Contains(w.Body.String(), "read failed") {
		t.Fatalf("problem = %s", w.Body)
	}
	if w := do(s, httptest.NewRequest("POST", "/small", strings.NewReader("12345678"))); w.Code != 200 {
		t.Fatalf("body at the limit: status = %d %q", w.Code, w.Body)
	}
}

// Headers that carry sessions, passwords, credentials or signatures are
// redacted like Authorization and Cookie when the access log is asked to
// include them.
func TestAccessLogRedactsCredentialHeaders(t *testing.T) {
	var logs syncBuffer
	cfg := plainConfig()
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	secret := map[string]string{
		"X-Session-Id":     "sess-0001",
		"X-Password":       "pw-0002",
		"X-Amz-Credential": "cred-0003",
		"X-Hub-Signature":  "sha1=sig-0004",
		"X-Cookie":         "c-0005",
		"Authorization":    "Bearer tok-0006",
	}
	for h := range secret {
		cfg.AccessLogHeaders = append(cfg.AccessLogHeaders, h)
	}
	cfg.AccessLogHeaders = append(cfg.AccessLogHeaders, "User-Agent")
	s := mustNew(t, cfg)
	s.HandleFunc("GET /", okHandler)
	r := httptest.NewRequest("GET", "/", nil)
	for h, v := range secret {
		r.Header.Set(h, v)
	}
	r.Header.Set("User-Agent", "agent-0007")
	do(s, r)
	l := logs.String()
	for h, v := range secret {
		if strings.Contains(l, v) || !strings.Contains(l, `"header.`+strings.ToLower(h)+`":"REDACTED"`) {
			t.Errorf("header %s not redacted:\n%s", h, l)
		}
	}
	if !strings.Contains(l, `"header.user-agent":"agent-0007"`) {
		t.Errorf("ordinary header redacted:\n%s", l)
	}
}

// NewFileCertificate, like every validating constructor, reports a pair
// it cannot load as a *ConfigError naming the field.
func TestNewFileCertificateErrorNamesField(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	cf, kf := writePair(t, dir, "one.example", now.Add(-2*time.Hour), now.Add(-time.Hour)) // expired
	for name, cfg := range map[string]httpx.FileCertificateConfig{
		"missing cert": {CertFile: dir + "/nope.crt", KeyFile: kf},
		"expired":      {CertFile: cf, KeyFile: kf},
	} {
		_, err := httpx.NewFileCertificate(cfg)
		var ce *paved.ConfigError
		if !errors.As(err, &ce) || ce.Field != "FileCertificateConfig.CertFile" || !strings.Contains(err.Error(), ce.Field) {
			t.Errorf("%s: NewFileCertificate error = %v, want a ConfigError naming FileCertificateConfig.CertFile", name, err)
		}
	}
}

// draft-ietf-httpapi-ratelimit-headers: when a response carries both
// Retry-After and RateLimit, the reset parameter t SHOULD name the same
// point in time as Retry-After.
func TestRateLimitResetMatchesRetryAfter(t *testing.T) {
	cases := []httpx.RateDecision{
		{Allowed: false, Remaining: 0, Reset: 10 * time.Second, RetryAfter: 5 * time.Second},
		{Allowed: false, Remaining: 0, Reset: 0, RetryAfter: 0},
		{Allowed: false, Remaining: 0, Reset: 90 * time.Second, RetryAfter: 1500 * time.Millisecond},
	}
	for _, d := range cases {
		cfg := plainConfig()
		cfg.RateLimit.Store = fixedStore{d}
		s := mustNew(t, cfg)
		s.HandleFunc("GET /", okHandler)
		w := do(s, httptest.NewRequest("GET", "/", nil))
		ra := w.Header().Get("Retry-After")
		if w.Code != 429 || ra == "" || ra == "0" || w.Header().Get("RateLimit") != `"default";r=0;t=`+ra {
			t.Fatalf("decision %+v: %d RateLimit %q Retry-After %q; want t equal to Retry-After", d, w.Code, w.Header().Get("RateLimit"), ra)
		}
	}
}

// A handler that sets a Server header and writes nothing still sends no
// Server header: net/http then writes the response itself.
func TestNoServerHeaderOnEmptyResponse(t *testing.T) {
	empty := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "leaky/1.0")
	})
	s := plainServer(t, nil)
	s.Handle("GET /", empty)
	start(t, s)
	resp, err := http.Get("http://" + s.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Server") != "" {
		t.Fatalf("server: %d Server %q", resp.StatusCode, resp.Header.Get("Server"))
	}
	ts := httptest.NewServer(httpx.SecurityHeaders(httpx.ProfileAPI)(empty))
	defer ts.Close()
	resp, err = http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Server") != "" {
		t.Fatalf("SecurityHeaders: %d Server %q", resp.StatusCode, resp.Header.Get("Server"))
	}
}

// An inbound request ID from a trusted proxy is kept only when it is 1 to
// 64 characters of [A-Za-z0-9._:-], so it cannot forge log lines or
// headers.
func TestRequestIDValidation(t *testing.T) {
	cfg := plainConfig()
	cfg.ClientIP = httpx.ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8"}}
	s := mustNew(t, cfg)
	s.HandleFunc("GET /", okHandler)
	for in, keep := range map[string]bool{
		strings.Repeat("a", 64):          true,
		"edge-1.z_9:Q":                   true,
		"a\nrequest_id=forged":           false,
		"a\r\nX-Evil: 1":                 false,
		`a"b`:                            false,
		"a b":                            false,
		"ünï":                            false,
		"a\tb":                           false,
		"%0a":                            false,
		"a,b":                            false,
		"{\"json\":1}":                   false,
		strings.Repeat("a", 64) + "b":    false,
		"urn:request:0123456789abcdefff": true,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.5:1"
		r.Header["X-Request-Id"] = []string{in}
		got := do(s, r).Header().Get("X-Request-Id")
		if (got == in) != keep {
			t.Errorf("inbound %q: request id %q, keep %v", in, got, keep)
		}
		if !keep && len(got) != 32 {
			t.Errorf("inbound %q: replacement %q is not a fresh 128-bit ID", in, got)
		}
	}
}

// The draft makes r and t non-negative Integers; a store that reports a
// negative remaining count or reset still yields a valid field.
func TestRateLimitFieldNonNegative(t *testing.T) {
	cfg := plainConfig()
	cfg.RateLimit.Store = fixedStore{httpx.RateDecision{Allowed: true, Remaining: -3, Reset: -time.Second}}
	s := mustNew(t, cfg)
	s.HandleFunc("GET /", okHandler)
	w := do(s, httptest.NewRequest("GET", "/", nil))
	if got := w.Header().Get("RateLimit"); w.Code != 200 || got != `"default";r=0;t=0` {
		t.Fatalf("%d RateLimit %q, want %q", w.Code, got, `"default";r=0;t=0`)
	}
}

// A store's opt-out weakens the server as any other opt-out does: it
// shows as a disabled control of the server's instance, so the score
// counts it, as a DisableRateLimit would.
func TestStoreOptOutLowersScore(t *testing.T) {
	cfg := plainConfig()
	acme := paved.NewOptOut("acme", "limits-best-effort", "the edge enforces the hard limit")
	cfg.RateLimit.Store = optOutStore{httpx.NewMemoryStore(0), []paved.OptOut{acme}}
	s := mustNew(t, cfg)
	base := plainConfig()
	mustNew(t, base)
	var got *paved.Control
	r := cfg.Posture.Report()
	for i, c := range r.Controls {
		if c.Name == "rate-limit-store" {
			got = &r.Controls[i]
		}
	}
	if got == nil || got.Enabled || got.Instance != s.Instance() || got.Detail != "opt-out acme/limits-best-effort" {
		t.Fatalf("rate-limit-store control = %+v, want it disabled, naming the store's opt-out", got)
	}
	if with, without := r.Score(), base.Posture.Report().Score(); with >= without {
		t.Fatalf("score with the store's opt-out %v, without %v: want it lower", with, without)
	}
	for _, c := range base.Posture.Report().Controls {
		if c.Name == "rate-limit-store" {
			t.Fatalf("a store without opt-outs has a rate-limit-store control: %+v", c)
		}
	}
}

// A server's opt-outs are logged when it is made, so that one served by
// an http.Server of the caller's (through Handler) logs them too, once
// however many servers share the posture.
func TestOptOutsLoggedWithoutServe(t *testing.T) {
	var logs syncBuffer
	cfg := plainConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	mustNew(t, cfg)
	mustNew(t, cfg)
	if n := strings.Count(logs.String(), "opt_out.name=allow-plain-http"); n != 2 {
		t.Fatalf("allow-plain-http logged %d times for two servers, want once each:\n%s", n, logs.String())
	}
}

// A check that wraps ErrDegraded keeps the server ready (200) and says
// "degraded"; the transitions ready -> degraded -> ready are emitted as
// readiness events.
func TestReadyzDegraded(t *testing.T) {
	var (
		mu     sync.Mutex
		events []paved.Event
		fail   atomic.Pointer[error]
	)
	set := func(err error) { fail.Store(&err) }
	set(nil)
	sink := paved.SinkFunc(func(_ context.Context, e paved.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	})
	s := plainServer(t, func(c *httpx.Config) { c.Events = sink })
	s.AddCheck("store", httpx.CheckFunc(func(context.Context) error {
		return *fail.Load()
	}))
	probe := func(wantCode int, wantStatus string) {
		t.Helper()
		s.AddCheck("store", httpx.CheckFunc(func(context.Context) error { // reset the 1 s cache
			return *fail.Load()
		}))
		w := do(s, httptest.NewRequest("GET", "/readyz", nil))
		if w.Code != wantCode || !strings.Contains(w.Body.String(), `"status":"`+wantStatus+`"`) {
			t.Fatalf("readyz = %d %s, want %d %q", w.Code, w.Body, wantCode, wantStatus)
		}
	}
	probe(200, "ok")
	set(fmt.Errorf("vault unreachable: %w", httpx.ErrDegraded))
	probe(200, "degraded")
	set(errors.New("down"))
	probe(503, "fail")
	set(nil)
	probe(200, "ok")
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, e := range events {
		if e.Type == paved.EventReadiness {
			got = append(got, e.Reason)
		}
	}
	if want := []string{"degraded", "fail", "ready"}; !slices.Equal(got, want) {
		t.Fatalf("readiness events %v, want %v", got, want)
	}
}
