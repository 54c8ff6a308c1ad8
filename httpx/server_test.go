package httpx_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

func TestNewValidation(t *testing.T) {
	dev, err := httpx.NewDevCertificate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	plain := httpx.AllowPlainHTTP("mesh sidecar terminates TLS")
	devOK := httpx.AllowDevCertificate("dev")
	tests := []struct {
		name    string
		cfg     httpx.Config
		field   string
		wantErr string
		is      error
	}{
		{"no certificates, no opt-out", httpx.Config{}, "Config.Certificates", "no certificate source", httpx.ErrPlainHTTP},
		{"plain opt-out without reason", httpx.Config{OptOuts: []paved.OptOut{httpx.AllowPlainHTTP(" ")}}, "Config.OptOuts[0]", "the reason given to httpx.AllowPlainHTTP is empty", paved.ErrNoReason},
		{"foreign opt-out", httpx.Config{OptOuts: []paved.OptOut{paved.NewOptOut("auth", "x", "y"), plain}}, "Config.OptOuts[0]", "auth/x belongs to package auth, not httpx", nil},
		{"unknown opt-out", httpx.Config{OptOuts: []paved.OptOut{paved.NewOptOut("httpx", "no-tls-please", "y"), plain}}, "Config.OptOuts[0]", `unknown httpx opt-out "no-tls-please"`, nil},
		{"old opt-out name", httpx.Config{OptOuts: []paved.OptOut{paved.NewOptOut("httpx", "dev-certificate", "y"), plain}}, "Config.OptOuts[0]", `unknown httpx opt-out "dev-certificate"`, nil},
		{"certs and plain", httpx.Config{Certificates: dev, OptOuts: []paved.OptOut{plain, devOK}}, "Config.Certificates", "choose one", nil},
		{"dev cert without opt-out", httpx.Config{Certificates: dev}, "Config.Certificates", "add httpx.AllowDevCertificate(reason)", nil},
		{"dev opt-out without dev cert", httpx.Config{Certificates: httpx.CertificateFunc(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil }), OptOuts: []paved.OptOut{devOK}}, "Config.OptOuts", "not a *DevCertificate", nil},
		{"mtls with plain", httpx.Config{ClientCAs: x509.NewCertPool(), OptOuts: []paved.OptOut{plain}}, "Config.ClientCAs", "mutual TLS needs TLS", nil},
		{"tls 1.1 floor", httpx.Config{Certificates: dev, MinTLSVersion: tls.VersionTLS11, OptOuts: []paved.OptOut{devOK}}, "Config.MinTLSVersion", "0x302 is not a version", nil},
		{"bad addr", httpx.Config{Addr: "8443", OptOuts: []paved.OptOut{plain}}, "Config.Addr", `"8443" is not host:port`, nil},
		{"bad port", httpx.Config{Addr: "127.0.0.1:99999", OptOuts: []paved.OptOut{plain}}, "Config.Addr", "port must be a number", nil},
		{"negative timeout", httpx.Config{ReadHeaderTimeout: -1, OptOuts: []paved.OptOut{plain}}, "Config.ReadHeaderTimeout", "-1ns is outside the allowed range 1s to 1m", nil},
		{"negative drain", httpx.Config{DrainTimeout: -time.Second, OptOuts: []paved.OptOut{plain}}, "Config.DrainTimeout", "-1s is outside the allowed range 100ms to 10m", nil},
		{"negative header bytes", httpx.Config{MaxHeaderBytes: -1, OptOuts: []paved.OptOut{plain}}, "Config.MaxHeaderBytes", "-1 B is outside the allowed range 4 KiB to 1 MiB", nil},
		{"negative body bytes", httpx.Config{MaxBodyBytes: -1, OptOuts: []paved.OptOut{plain}}, "Config.MaxBodyBytes", "-1 B is outside the allowed range 1 B to 1 GiB", nil},
		{"bad profile", httpx.Config{Headers: 7, OptOuts: []paved.OptOut{plain}}, "Config.Headers", "HeaderProfile(7) is not a profile", nil},
		{"bad proxy", httpx.Config{ClientIP: httpx.ClientIPConfig{TrustedProxies: []string{"10.0.0.0/33"}}, OptOuts: []paved.OptOut{plain}}, "Config.ClientIP.TrustedProxies[0]", `"10.0.0.0/33" is not an address or prefix`, nil},
		{"bad forwarded header", httpx.Config{ClientIP: httpx.ClientIPConfig{Header: "X-Real-IP"}, OptOuts: []paved.OptOut{plain}}, "Config.ClientIP.Header", `"X-Real-IP" is not a forwarded header`, nil},
		{"bad origin", httpx.Config{TrustedOrigins: []string{"example.com"}, OptOuts: []paved.OptOut{plain}}, "Config.TrustedOrigins[0]", `"example.com"`, nil},
		{"origins and cors opt-out", httpx.Config{TrustedOrigins: []string{"https://a.example"}, OptOuts: []paved.OptOut{plain, httpx.DisableCrossOriginProtection("x")}}, "Config.TrustedOrigins", "choose one", nil},
		{"bad window", httpx.Config{RateLimit: httpx.RateLimitConfig{Policy: httpx.RatePolicy{Window: 1500 * time.Millisecond}}, OptOuts: []paved.OptOut{plain}}, "Config.RateLimit.Policy.Window", "1.5s is not a whole number of seconds from 1s to 24h", nil},
		{"window over a day", httpx.Config{RateLimit: httpx.RateLimitConfig{Policy: httpx.RatePolicy{Window: 48 * time.Hour}}, OptOuts: []paved.OptOut{plain}}, "Config.RateLimit.Policy.Window", "48h0m0s is not a whole number of seconds from 1s to 24h", nil},
		{"negative limit", httpx.Config{RateLimit: httpx.RateLimitConfig{Policy: httpx.RatePolicy{Limit: -1}}, OptOuts: []paved.OptOut{plain}}, "Config.RateLimit.Policy.Limit", "-1 is negative", nil},
		{"bad policy name", httpx.Config{RateLimit: httpx.RateLimitConfig{Policy: httpx.RatePolicy{Name: `a"b`}}, OptOuts: []paved.OptOut{plain}}, "Config.RateLimit.Policy.Name", `"a\"b" holds a character`, nil},
		{"negative max clients", httpx.Config{RateLimit: httpx.RateLimitConfig{MaxClients: -1}, OptOuts: []paved.OptOut{plain}}, "Config.RateLimit.MaxClients", "-1 is outside the allowed range 1000 to 10000000", nil},
		{"max clients with a store", httpx.Config{RateLimit: httpx.RateLimitConfig{MaxClients: 5000, Store: httpx.NewMemoryStore(10)}, OptOuts: []paved.OptOut{plain}}, "Config.RateLimit.MaxClients", "caps only the default in-memory store", nil},
		{"store opt-out misplaced", httpx.Config{OptOuts: []paved.OptOut{plain, paved.NewOptOut("redislimit", "allow-local-fallback", "x")}}, "Config.OptOuts[1]", "redislimit/allow-local-fallback belongs to package redislimit", nil},
		// A setting the opt-out would leave unused is an error, not silence.
		{"rate limit and its opt-out", httpx.Config{RateLimit: httpx.RateLimitConfig{Policy: httpx.RatePolicy{Limit: 5}}, OptOuts: []paved.OptOut{plain, httpx.DisableRateLimit("gateway")}}, "Config.RateLimit", "set, and Config.OptOuts holds httpx.DisableRateLimit", nil},
		{"rate-limit store and the opt-out", httpx.Config{RateLimit: httpx.RateLimitConfig{Store: httpx.NewMemoryStore(0)}, OptOuts: []paved.OptOut{plain, httpx.DisableRateLimit("gateway")}}, "Config.RateLimit", "set, and Config.OptOuts holds httpx.DisableRateLimit", nil},
		{"tls version with plain", httpx.Config{MinTLSVersion: tls.VersionTLS13, OptOuts: []paved.OptOut{plain}}, "Config.MinTLSVersion", "set, and Config.OptOuts holds httpx.AllowPlainHTTP", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Posture = new(paved.Posture)
			s, err := httpx.New(tt.cfg)
			if err == nil || s != nil {
				t.Fatalf("New = %v, %v; want error containing %q", s, err, tt.wantErr)
			}
			ces := paved.ConfigErrors(err)
			if len(ces) != 1 {
				t.Fatalf("New error = %v: %d ConfigErrors, want 1", err, len(ces))
			}
			ce := ces[0]
			if ce.Component != httpx.Component || ce.Field != tt.field || ce.Problem == "" || ce.Fix == "" || !strings.Contains(ce.Error(), tt.wantErr) {
				t.Fatalf("New error = %#v, want field %s, a problem and a fix, and a message containing %q", ce, tt.field, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "httpx: "+tt.field+": ") {
				t.Fatalf("message %q does not start with the component and field", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("New error = %v, want errors.Is %v", err, tt.is)
			}
			if len(tt.cfg.Posture.Report().Controls) != 0 {
				t.Fatal("a server that failed validation registered controls")
			}
		})
	}
}

// New reports every faulty field at once, each as its own ConfigError, in
// the order of Config's fields.
func TestNewReportsEveryField(t *testing.T) {
	_, err := httpx.New(httpx.Config{
		Posture:      new(paved.Posture),
		Addr:         "nope",
		ReadTimeout:  time.Hour,
		MaxBodyBytes: 2 << 30,
		OptOuts:      []paved.OptOut{httpx.AllowPlainHTTP("tests")},
	})
	var got []string
	for _, ce := range paved.ConfigErrors(err) {
		got = append(got, ce.Error())
	}
	want := []string{
		`httpx: Config.Addr: "nope" is not host:port (address nope: missing port in address); want host:port, such as "127.0.0.1:8443" or ":8443"`,
		`httpx: Config.ReadTimeout: 1h is outside the allowed range 1s to 10m; set it from 1s to 10m, or leave it 0 for the default 30s`,
		`httpx: Config.MaxBodyBytes: 2 GiB is outside the allowed range 1 B to 1 GiB; set it from 1 B to 1 GiB, or leave it 0 for the default 1 MiB`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("ConfigErrors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// An opt-out with an empty reason is reported as such, once, and not also
// as missing; a missing opt-out says it is missing. Both messages are
// exact.
func TestOptOutReasonMessages(t *testing.T) {
	tests := []struct {
		name    string
		optOuts []paved.OptOut
		want    string
		is, not error
	}{
		{"empty reason", []paved.OptOut{httpx.AllowPlainHTTP("")},
			`httpx: Config.OptOuts[0]: the reason given to httpx.AllowPlainHTTP is empty; say why this server leaves the secure default, such as httpx.AllowPlainHTTP("TLS ends at the mesh sidecar")`,
			paved.ErrNoReason, httpx.ErrPlainHTTP},
		{"blank reason", []paved.OptOut{httpx.DisableRateLimit("  "), httpx.AllowPlainHTTP("tests")},
			`httpx: Config.OptOuts[0]: the reason given to httpx.DisableRateLimit is empty; say why this server leaves the secure default, such as httpx.DisableRateLimit("the gateway in front limits every client")`,
			paved.ErrNoReason, httpx.ErrPlainHTTP},
		{"missing opt-out", nil,
			`httpx: Config.Certificates: no certificate source, and Config.OptOuts holds no httpx.AllowPlainHTTP; set a CertificateSource (NewFileCertificate, or NewDevCertificate with AllowDevCertificate), or add httpx.AllowPlainHTTP(reason) to Config.OptOuts`,
			httpx.ErrPlainHTTP, paved.ErrNoReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpx.New(httpx.Config{Posture: new(paved.Posture), OptOuts: tt.optOuts})
			if ces := paved.ConfigErrors(err); len(ces) != 1 || err.Error() != tt.want {
				t.Fatalf("New error =\n%v\n(%d ConfigErrors), want exactly\n%s", err, len(ces), tt.want)
			}
			if !errors.Is(err, tt.is) || errors.Is(err, tt.not) {
				t.Fatalf("errors.Is(%v): want %v, not %v", err, tt.is, tt.not)
			}
		})
	}
}

// Every duration and size is held between a floor and a ceiling, checked
// at the edges, and a non-default value shows in its posture control.
func TestConfigBounds(t *testing.T) {
	type bound struct {
		field  string
		set    func(*httpx.Config, int64)
		lo, hi int64
	}
	dur := func(f func(*httpx.Config) *time.Duration) func(*httpx.Config, int64) {
		return func(c *httpx.Config, v int64) { *f(c) = time.Duration(v) }
	}
	bounds := []bound{
		{"Config.ReadHeaderTimeout", dur(func(c *httpx.Config) *time.Duration { return &c.ReadHeaderTimeout }), int64(time.Second), int64(time.Minute)},
		{"Config.ReadTimeout", dur(func(c *httpx.Config) *time.Duration { return &c.ReadTimeout }), int64(time.Second), int64(10 * time.Minute)},
		{"Config.WriteTimeout", dur(func(c *httpx.Config) *time.Duration { return &c.WriteTimeout }), int64(time.Second), int64(10 * time.Minute)},
		{"Config.IdleTimeout", dur(func(c *httpx.Config) *time.Duration { return &c.IdleTimeout }), int64(time.Second), int64(10 * time.Minute)},
		{"Config.DrainTimeout", dur(func(c *httpx.Config) *time.Duration { return &c.DrainTimeout }), int64(100 * time.Millisecond), int64(10 * time.Minute)},
		{"Config.CheckTimeout", dur(func(c *httpx.Config) *time.Duration { return &c.CheckTimeout }), int64(10 * time.Millisecond), int64(time.Minute)},
		{"Config.MaxHeaderBytes", func(c *httpx.Config, v int64) { c.MaxHeaderBytes = int(v) }, 4 << 10, 1 << 20},
		{"Config.MaxBodyBytes", func(c *httpx.Config, v int64) { c.MaxBodyBytes = v }, 1, 1 << 30},
		{"Config.RateLimit.MaxClients", func(c *httpx.Config, v int64) { c.RateLimit.MaxClients = int(v) }, 1_000, 10_000_000},
	}
	for _, b := range bounds {
		t.Run(b.field, func(t *testing.T) {
			for _, v := range []int64{b.lo - 1, b.lo, b.hi, b.hi + 1} {
				if v == 0 {
					continue // zero means the default
				}
				cfg := plainConfig()
				// Room for the header timeout under the read timeout,
				// whichever of the two is probed.
				cfg.ReadTimeout, cfg.ReadHeaderTimeout = 10*time.Minute, time.Second
				b.set(&cfg, v)
				_, err := httpx.New(cfg)
				ces := paved.ConfigErrors(err)
				if ok := v >= b.lo && v <= b.hi; ok != (err == nil) {
					t.Fatalf("%s = %d: New error %v, want ok %v", b.field, v, err, ok)
				}
				if err != nil && (len(ces) != 1 || ces[0].Field != b.field || !strings.Contains(ces[0].Problem, "is outside the allowed range")) {
					t.Fatalf("%s = %d: New error %v, want one ConfigError for the field naming the range", b.field, v, err)
				}
			}
		})
	}
	// The header timeout may not outlast the read deadline that covers it,
	// and defaults to ReadTimeout when that is set lower.
	cfg := plainConfig()
	cfg.ReadTimeout, cfg.ReadHeaderTimeout = 5*time.Second, 6*time.Second
	if _, err := httpx.New(cfg); err == nil || !strings.Contains(err.Error(), "Config.ReadHeaderTimeout: 6s is above Config.ReadTimeout 5s") {
		t.Fatalf("header timeout over read timeout: %v", err)
	}
	cfg = plainConfig()
	cfg.ReadTimeout = 5 * time.Second
	mustNew(t, cfg)
	if d := controlDetail(t, cfg.Posture, "timeouts"); !strings.HasPrefix(d, "read-header 5s (default 10s), read 5s (default 30s),") {
		t.Fatalf("timeouts detail %q", d)
	}
}

// controlDetail returns the detail of the only instance's control name.
func controlDetail(t *testing.T, p *paved.Posture, name string) string {
	t.Helper()
	for _, c := range p.Report().Controls {
		if c.Name == name {
			return c.Detail
		}
	}
	t.Fatalf("no control %q in %+v", name, p.Report().Controls)
	return ""
}

// Settings at their defaults show plainly in the posture report; a
// changed one names its default.
func TestPostureDetailsNameDefaults(t *testing.T) {
	cfg := plainConfig()
	s := mustNew(t, cfg)
	_ = s
	for name, want := range map[string]string{
		"timeouts":    "read-header 10s, read 30s, write 1m, idle 2m, drain 20s, check 5s",
		"size-limits": "header 16 KiB (431), body 1 MiB (413)",
		"rate-limit":  `"default" 600 per 1m, burst 600, in memory, at most 100000 clients`,
	} {
		if got := controlDetail(t, cfg.Posture, name); got != want {
			t.Errorf("%s detail = %q, want %q", name, got, want)
		}
	}
	cfg = plainConfig()
	cfg.ReadTimeout, cfg.IdleTimeout, cfg.MaxHeaderBytes, cfg.MaxBodyBytes = 45*time.Second, 30*time.Second, 32<<10, 2<<20
	cfg.RateLimit = httpx.RateLimitConfig{Policy: httpx.RatePolicy{Name: "api", Limit: 100, Window: 10 * time.Second, Burst: 20}, MaxClients: 200_000}
	mustNew(t, cfg)
	for name, want := range map[string]string{
		"timeouts":    "read-header 10s, read 45s (default 30s), write 1m, idle 30s (default 2m), drain 20s, check 5s",
		"size-limits": "header 32 KiB (default 16 KiB) (431), body 2 MiB (default 1 MiB) (413)",
		"rate-limit":  `"api" 100 (default 600) per 10s (default 1m), burst 20 (default 100), in memory, at most 200000 (default 100000) clients`,
	} {
		if got := controlDetail(t, cfg.Posture, name); got != want {
			t.Errorf("%s detail = %q, want %q", name, got, want)
		}
	}
}

// Two servers sharing one Posture each report their own controls: a TLS
// server beside a plain one shows TLS on for the first, off for the
// second, and the score is the weaker one's.
func TestTwoServersOnePosture(t *testing.T) {
	posture := new(paved.Posture)
	dev, err := httpx.NewDevCertificate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv := mustNew(t, httpx.Config{Name: "public", Posture: posture, Logger: discard(), Certificates: dev,
		OptOuts: []paved.OptOut{httpx.AllowDevCertificate("tests")}})
	plainSrv := mustNew(t, httpx.Config{Posture: posture, Logger: discard(),
		OptOuts: []paved.OptOut{httpx.AllowPlainHTTP("the sidecar terminates TLS")}})
	if tlsSrv.Instance() != "public" || plainSrv.Instance() != "1" {
		t.Fatalf("instances %q and %q, want \"public\" and \"1\"", tlsSrv.Instance(), plainSrv.Instance())
	}
	rep := posture.Report()
	tlsOn := map[string]bool{}
	for _, c := range rep.Controls {
		if c.Component == httpx.Component && c.Name == "tls" {
			tlsOn[c.Instance] = c.Enabled
		}
	}
	if len(tlsOn) != 2 || !tlsOn["public"] || tlsOn["1"] {
		t.Fatalf("tls controls by instance = %v, want public on and 1 off", tlsOn)
	}
	var opt []string
	for _, o := range rep.OptOuts {
		opt = append(opt, o.Instance+":"+o.Name)
	}
	if strings.Join(opt, " ") != "1:allow-plain-http public:allow-dev-certificate" {
		t.Fatalf("opt-outs = %v", opt)
	}
	inst := rep.Instances()
	if len(inst) != 2 {
		t.Fatalf("instances = %+v", inst)
	}
	lo := min(inst[0].Score, inst[1].Score)
	if rep.Score() != lo || inst[0].Score == inst[1].Score {
		t.Fatalf("score %v, instances %+v: want the weaker instance's score", rep.Score(), inst)
	}
	for _, is := range inst {
		// The plain server has tls off; the TLS one has its dev
		// certificate off: each scores below 1, and the plain one lower.
		if is.Instance == "1" && is.Score != lo {
			t.Fatalf("plain server scores %v, not the lowest (%+v)", is.Score, inst)
		}
	}
}

func TestDefaultHeaders(t *testing.T) {
	s := mustNew(t, plainConfig())
	s.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "leaky/1.0")
		okHandler(w, r)
	})
	w := do(s, httptest.NewRequest("GET", "/hello", nil))
	if w.Code != 200 || w.Body.String() != "ok" {
		t.Fatalf("GET /hello = %d %q", w.Code, w.Body)
	}
	want := map[string]string{
		"Strict-Transport-Security":    "max-age=63072000; includeSubDomains",
		"Content-Security-Policy":      "default-src 'none'; frame-ancestors 'none'",
		"X-Content-Type-Options":       "nosniff",
		"X-Frame-Options":              "DENY",
		"Referrer-Policy":              "no-referrer",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
		"Cache-Control":                "no-store",
		"Ratelimit-Policy":             `"default";q=600;w=60`,
		"Ratelimit":                    `"default";r=599;t=1`,
		"Server":                       "",
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if id := w.Header().Get("X-Request-Id"); len(id) != 32 {
		t.Errorf("X-Request-Id = %q, want 32 hex characters", id)
	}
}

func TestHTMLProfileNonce(t *testing.T) {
	cfg := plainConfig()
	cfg.Headers = httpx.ProfileHTML
	s := mustNew(t, cfg)
	var nonce string
	s.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { nonce = httpx.CSPNonce(r) })
	w := do(s, httptest.NewRequest("GET", "/", nil))
	if len(nonce) < 22 {
		t.Fatalf("nonce = %q", nonce)
	}
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'nonce-"+nonce+"' 'strict-dynamic'") || !strings.Contains(csp, "object-src 'none'") {
		t.Fatalf("CSP = %q", csp)
	}
	var second string
	s.HandleFunc("GET /b", func(w http.ResponseWriter, r *http.Request) { second = httpx.CSPNonce(r) })
	do(s, httptest.NewRequest("GET", "/b", nil))
	if second == nonce {
		t.Fatal("nonce reused across requests")
	}
}

func TestCrossOrigin(t *testing.T) {
	cfg := plainConfig()
	cfg.TrustedOrigins = []string{"https://app.example.com"}
	var events []paved.Event
	cfg.Events = paved.SinkFunc(func(_ context.Context, e paved.Event) { events = append(events, e) })
	s := mustNew(t, cfg)
	s.HandleFunc("POST /orders", okHandler)
	tests := []struct {
		name, method, site, origin string
		want                       int
	}{
		{"same origin", "POST", "same-origin", "", 200},
		{"cross site post", "POST", "cross-site", "https://evil.example", 403},
		{"cross site origin only", "POST", "", "https://evil.example", 403},
		{"trusted origin", "POST", "cross-site", "https://app.example.com", 200},
		{"cross site get is safe", "GET", "cross-site", "https://evil.example", 405},
		{"no browser headers", "POST", "", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://api.example.com/orders", nil)
			if tt.site != "" {
				r.Header.Set("Sec-Fetch-Site", tt.site)
			}
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			w := do(s, r)
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.want, w.Body)
			}
			if tt.want == 403 {
				p := problemOf(t, w)
				if p["detail"] != "cross-origin request rejected" || p["reason"] != "cross_origin" || !strings.HasPrefix(p["instance"].(string), "urn:request:") {
					t.Fatalf("problem = %v", p)
				}
			}
		})
	}
	if len(events) != 2 || events[0].Type != paved.EventOriginRejected {
		t.Fatalf("events = %+v", events)
	}
}

func TestRecoverPanics(t *testing.T) {
	var logs syncBuffer
	cfg := plainConfig()
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	var events []paved.Event
	cfg.Events = paved.SinkFunc(func(_ context.Context, e paved.Event) { events = append(events, e) })
	s := mustNew(t, cfg)
	s.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Secret-Debug", "db=10.0.0.5")
		panic("database password is hunter2")
	})
	w := do(s, httptest.NewRequest("GET", "/boom", nil))
	if w.Code != 500 {
		t.Fatalf("status = %d", w.Code)
	}
	p := problemOf(t, w)
	id := w.Header().Get("X-Request-Id")
	if p["instance"] != "urn:request:"+id || p["status"] != float64(500) {
		t.Fatalf("problem = %v, request id %q", p, id)
	}
	if strings.Contains(w.Body.String(), "hunter2") || w.Header().Get("X-Secret-Debug") != "" {
		t.Fatal("panic detail leaked to the client")
	}
	if w.Header().Get("X-Frame-Options") != "DENY" {
		t.Fatal("security headers dropped on 500")
	}
	l := logs.String()
	if !strings.Contains(l, "panic recovered") || !strings.Contains(l, "server_test.go") || !strings.Contains(l, `"status":500`) {
		t.Fatalf("log lacks panic, stack or access line:\n%s", l)
	}
	if len(events) != 1 || events[0].Type != paved.EventPanicRecovered || events[0].RequestID != id {
		t.Fatalf("events = %+v", events)
	}
}

func TestAccessLogRedaction(t *testing.T) {
	var logs syncBuffer
	cfg := plainConfig()
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	cfg.AccessLogHeaders = []string{"Authorization", "Cookie", "User-Agent"}
	s := mustNew(t, cfg)
	s.HandleFunc("GET /items/{id}", okHandler)
	r := httptest.NewRequest("GET", "/items/7?page=2&access_token=abc123&api_key=k9&Password=pw1", nil)
	r.Header.Set("Authorization", "Bearer eyJsecret")
	r.Header.Set("Cookie", "session=s3cr3t")
	r.Header.Set("User-Agent", "test-agent")
	do(s, r)
	l := logs.String()
	for _, secret := range []string{"abc123", "k9", "pw1", "eyJsecret", "s3cr3t"} {
		if strings.Contains(l, secret) {
			t.Errorf("access log leaks %q:\n%s", secret, l)
		}
	}
	for _, want := range []string{`"query":"page=2&access_token=REDACTED&api_key=REDACTED&Password=REDACTED"`,
		`"header.authorization":"REDACTED"`, `"header.cookie":"REDACTED"`, `"header.user-agent":"test-agent"`,
		`"route":"GET /items/{id}"`, `"status":200`, `"client_ip":"192.0.2.1"`} {
		if !strings.Contains(l, want) {
			t.Errorf("access log lacks %s:\n%s", want, l)
		}
	}
}

func TestRedactQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a=1&b=2", "a=1&b=2"},
		{"token=x", "token=REDACTED"},
		{"a=1;code=xyz;b", "a=1;code=REDACTED;b"},
		{"client_secret=s&x=1&", "client_secret=REDACTED&x=1&"},
		{"%74oken=x", "%74oken=REDACTED"},
		{"sig", "sig"},
	}
	for _, tt := range tests {
		if got := httpx.RedactQuery(tt.in); got != tt.want {
			t.Errorf("RedactQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHealth(t *testing.T) {
	s := mustNew(t, plainConfig())
	w := do(s, httptest.NewRequest("GET", "/livez", nil))
	if w.Code != 200 || w.Body.String() != "{\"status\":\"ok\"}\n" {
		t.Fatalf("livez = %d %q", w.Code, w.Body)
	}
	w = do(s, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 200 || w.Body.String() != "{\"status\":\"ok\"}\n" {
		t.Fatalf("readyz without checks = %d %q", w.Code, w.Body)
	}
	s.AddCheck("db", httpx.CheckFunc(func(context.Context) error { return nil }))
	s.AddCheck("cache", httpx.CheckFunc(func(context.Context) error { return errors.New("dial tcp 10.0.0.9:6379: refused") }))
	w = do(s, httptest.NewRequest("GET", "/readyz", nil))
	want := `{"status":"fail","checks":[{"name":"cache","status":"fail"},{"name":"db","status":"ok"}]}` + "\n"
	if w.Code != 503 || w.Body.String() != want {
		t.Fatalf("readyz = %d %q, want 503 %q", w.Code, w.Body, want)
	}
	s.AddCheck("cache", nil)
	s.AddCheck("slow", httpx.CheckFunc(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }))
	s.AddCheck("panics", httpx.CheckFunc(func(context.Context) error { panic("x") }))
	cfg := plainConfig()
	cfg.CheckTimeout = 50 * time.Millisecond
	s2 := mustNew(t, cfg)
	s2.AddCheck("slow", httpx.CheckFunc(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }))
	s2.AddCheck("panics", httpx.CheckFunc(func(context.Context) error { panic("x") }))
	w = do(s2, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 503 || !strings.Contains(w.Body.String(), `{"name":"panics","status":"fail"},{"name":"slow","status":"fail"}`) {
		t.Fatalf("readyz with slow and panicking checks = %d %q", w.Code, w.Body)
	}
	w = do(s, httptest.NewRequest("POST", "/livez", nil))
	if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /livez = %d", w.Code)
	}
}

func TestPosture(t *testing.T) {
	cfg := plainConfig()
	cfg.OptOuts = append(cfg.OptOuts, httpx.DisableRateLimit("the gateway limits"))
	var logs syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	s := mustNew(t, cfg)
	rep := cfg.Posture.Report()
	got := map[string]bool{}
	for _, c := range rep.Controls {
		got[c.Name] = c.Enabled
	}
	for name, on := range map[string]bool{"tls": false, "rate-limit": false, "security-headers": true, "cross-origin-protection": true, "timeouts": true, "request-id": true} {
		if v, ok := got[name]; !ok || v != on {
			t.Errorf("control %s = %v (present %v), want %v", name, v, ok, on)
		}
	}
	if len(rep.OptOuts) != 2 || rep.OptOuts[0].Name != httpx.OptOutAllowPlainHTTP || rep.OptOuts[1].Reason != "the gateway limits" ||
		rep.OptOuts[1].Name != httpx.OptOutDisableRateLimit || rep.OptOuts[1].Instance != s.Instance() {
		t.Fatalf("opt-outs = %+v", rep.OptOuts)
	}
	if len(s.OptOuts()) != 2 {
		t.Fatalf("Server.OptOuts = %v", s.OptOuts())
	}
	// Without a rate limit there are no RateLimit fields.
	w := do(s, httptest.NewRequest("GET", "/livez", nil))
	if w.Header().Get("Ratelimit") != "" {
		t.Fatal("rate limit headers with the limit disabled")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg.Addr = "127.0.0.1:0"
	s2 := mustNew(t, cfg)
	if err := s2.ListenAndServe(ctx); err != nil {
		t.Fatal(err)
	}
	// Each instance's opt-outs are logged once: s2 is an instance of its
	// own, and logging again adds nothing.
	cfg.Posture.LogOptOuts(context.Background(), cfg.Logger)
	if n := strings.Count(logs.String(), "secure default opted out"); n != 4 {
		t.Fatalf("opt-outs logged %d times, want twice per instance:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "opt_out.instance=2"); n != 2 {
		t.Fatalf("second instance's opt-outs logged %d times, want 2:\n%s", n, logs.String())
	}
}

func TestHandleWithRootHandler(t *testing.T) {
	cfg := plainConfig()
	cfg.Handler = http.HandlerFunc(okHandler)
	s := mustNew(t, cfg)
	if w := do(s, httptest.NewRequest("GET", "/anything", nil)); w.Code != 200 || w.Body.String() != "ok" {
		t.Fatalf("root handler = %d %q", w.Code, w.Body)
	}
	if w := do(s, httptest.NewRequest("GET", "/livez", nil)); w.Code != 200 {
		t.Fatalf("livez with root handler = %d", w.Code)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Handle with Config.Handler set did not panic")
		}
	}()
	s.Handle("/x", http.NotFoundHandler())
}

func TestRequestIDTrust(t *testing.T) {
	cfg := plainConfig()
	cfg.ClientIP = httpx.ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8"}}
	s := mustNew(t, cfg)
	var seen string
	s.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { seen = httpx.RequestIDFrom(r.Context()) })
	tests := []struct {
		name, peer, inbound string
		keep                bool
	}{
		{"trusted proxy", "10.1.2.3:5000", "abc-123", true},
		{"untrusted peer", "203.0.113.9:5000", "abc-123", false},
		{"trusted but invalid", "10.1.2.3:5000", "bad id\x01", false},
		{"trusted but too long", "10.1.2.3:5000", strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			r.Header.Set("X-Request-Id", tt.inbound)
			w := do(s, r)
			got := w.Header().Get("X-Request-Id")
			if got != seen {
				t.Fatalf("header %q != context %q", got, seen)
			}
			if (got == tt.inbound) != tt.keep {
				t.Fatalf("request id = %q, keep inbound %v", got, tt.keep)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	cfg := plainConfig()
	cfg.MaxBodyBytes = 16
	s := mustNew(t, cfg)
	echo := func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read failed", http.StatusBadRequest) // becomes 413
			return
		}
		_, _ = w.Write(b)
	}
	s.HandleFunc("POST /small", echo)
	s.Handle("POST /big", httpx.BodyLimit(64)(http.HandlerFunc(echo)))
	s.HandleFunc("POST /ignore", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // ignores the error and writes nothing
	})
	tests := []struct {
		name, path string
		size       int
		chunked    bool
		want       int
	}{
		{"under limit", "/small", 16, false, 200},
		{"over limit, content-length", "/small", 17, false, 413},
		{"over limit, chunked", "/small", 40, true, 413},
		{"per-route larger limit", "/big", 40, false, 200},
		{"per-route limit exceeded", "/big", 65, true, 413},
		{"handler ignores error", "/ignore", 100, true, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Repeat("x", tt.size)
			r := httptest.NewRequest("POST", tt.path, strings.NewReader(body))
			if tt.chunked {
				r.ContentLength = -1
				r.Body = io.NopCloser(strings.NewReader(body))
			}
			w := do(s, r)
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d (%q)", w.Code, tt.want, w.Body)
			}
			if tt.want == 413 {
				p := problemOf(t, w)
				if p["status"] != float64(413) || strings.Contains(w.Body.String(), "read failed") {
					t.Fatalf("problem = %s", w.Body)
				}
			} else if w.Body.String() != body {
				t.Fatalf("body = %q", w.Body)
			}
		})
	}
}

func TestRateLimitResponses(t *testing.T) {
	cfg := plainConfig()
	cfg.RateLimit = httpx.RateLimitConfig{Policy: httpx.RatePolicy{Name: "api", Limit: 2, Window: 10 * time.Second}}
	var events []paved.Event
	cfg.Events = paved.SinkFunc(func(_ context.Context, e paved.Event) { events = append(events, e) })
	s := mustNew(t, cfg)
	s.HandleFunc("GET /", okHandler)
	steps := []struct {
		peer      string
		code      int
		rateLimit string
		retry     string
	}{
		{"198.51.100.7:1", 200, `"api";r=1;t=5`, ""},
		{"198.51.100.7:2", 200, `"api";r=0;t=10`, ""},
		{"198.51.100.7:3", 429, `"api";r=0;t=5`, "5"}, // t names the Retry-After instant
		{"198.51.100.8:1", 200, `"api";r=1;t=5`, ""},  // another client has its own bucket
		{"[2001:db8::1]:1", 200, `"api";r=1;t=5`, ""},
		{"[2001:db8::2]:1", 200, `"api";r=0;t=10`, ""}, // same /64
		{"[2001:db8::3]:1", 429, `"api";r=0;t=5`, "5"},
		{"[2001:db8:0:1::1]:1", 200, `"api";r=1;t=5`, ""}, // another /64
	}
	for i, st := range steps {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = st.peer
		w := do(s, r)
		if w.Code != st.code {
			t.Fatalf("step %d: status = %d, want %d", i, w.Code, st.code)
		}
		h := w.Header()
		if h.Get("RateLimit-Policy") != `"api";q=2;w=10` || h.Get("RateLimit") != st.rateLimit || h.Get("Retry-After") != st.retry {
			t.Fatalf("step %d: RateLimit-Policy %q RateLimit %q Retry-After %q; want RateLimit %q Retry-After %q",
				i, h.Get("RateLimit-Policy"), h.Get("RateLimit"), h.Get("Retry-After"), st.rateLimit, st.retry)
		}
		if st.code == 429 {
			p := problemOf(t, w)
			if p["title"] != "Too Many Requests" || p["retry_after"] != float64(5) || p["policy"] != "api" {
				t.Fatalf("step %d: problem %v", i, p)
			}
			if h.Get("X-Frame-Options") != "DENY" {
				t.Fatalf("step %d: security headers missing on 429", i)
			}
		}
	}
	if len(events) != 2 || events[0].Type != paved.EventRateLimited || events[0].Reason != "rate_limited" {
		t.Fatalf("events = %+v", events)
	}
	// Health endpoints are not limited.
	for range 5 {
		r := httptest.NewRequest("GET", "/livez", nil)
		r.RemoteAddr = "198.51.100.7:9"
		if w := do(s, r); w.Code != 200 {
			t.Fatalf("livez limited: %d", w.Code)
		}
	}
}

type failingStore struct{}

func (failingStore) Take(context.Context, string, httpx.RatePolicy) (httpx.RateDecision, error) {
	return httpx.RateDecision{}, httpx.ErrStoreUnavailable
}

func TestRateLimitStoreFailureDenies(t *testing.T) {
	cfg := plainConfig()
	cfg.RateLimit.Store = failingStore{}
	s := mustNew(t, cfg)
	called := false
	s.HandleFunc("GET /", func(http.ResponseWriter, *http.Request) { called = true })
	w := do(s, httptest.NewRequest("GET", "/", nil))
	if w.Code != 503 || called || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("status = %d, handler called %v", w.Code, called)
	}
	if p := problemOf(t, w); p["reason"] != "rate_limit_unavailable" {
		t.Fatalf("problem = %v", p)
	}
}

func TestKeyBySubject(t *testing.T) {
	cfg := plainConfig()
	cfg.RateLimit = httpx.RateLimitConfig{Policy: httpx.RatePolicy{Limit: 1, Window: time.Minute}, Key: httpx.KeyBySubject}
	s := mustNew(t, cfg)
	s.HandleFunc("GET /", okHandler)
	auth := func(sub string) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.ServeHTTP(w, r.WithContext(paved.WithPrincipal(r.Context(), &paved.Principal{Subject: sub, Issuer: "iss"})))
			})
		}
	}
	codes := []int{}
	for i, sub := range []string{"alice", "alice", "bob"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.10:" + string(rune('1'+i))
		codes = append(codes, do(auth(sub)(s), r).Code)
	}
	if codes[0] != 200 || codes[1] != 429 || codes[2] != 200 {
		t.Fatalf("codes = %v, want [200 429 200]", codes)
	}
}
