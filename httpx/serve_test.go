package httpx_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// start serves s on a loopback port until the test ends.
func start(t *testing.T, s *httpx.Server) (stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	select {
	case <-s.Ready():
	case err := <-errc:
		t.Fatalf("Serve: %v", err)
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Serve did not return")
		}
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return stop
}

func devServer(t *testing.T, mut func(*httpx.Config)) (*httpx.Server, *httpx.DevCertificate) {
	t.Helper()
	dev, err := httpx.NewDevCertificate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := httpx.Config{
		Addr:         "127.0.0.1:0",
		Logger:       discard(),
		Posture:      new(paved.Posture),
		Certificates: dev,
		OptOuts:      []paved.OptOut{httpx.AllowDevCertificate("unit tests")},
	}
	if mut != nil {
		mut(&cfg)
	}
	s := mustNew(t, cfg)
	s.HandleFunc("GET /", okHandler)
	return s, dev
}

func TestTLSHandshakes(t *testing.T) {
	s, dev := devServer(t, nil)
	start(t, s)
	addr := s.Addr().String()
	tests := []struct {
		name    string
		cfg     *tls.Config
		ok      bool
		version uint16
	}{
		{"tls 1.3", &tls.Config{}, true, tls.VersionTLS13},
		{"tls 1.2 aead", &tls.Config{MaxVersion: tls.VersionTLS12}, true, tls.VersionTLS12},
		{"tls 1.1", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false, 0},
		{"tls 1.0", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}, false, 0},
		{"cbc only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}}, false, 0},
		{"p-256 only", &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256}}, true, tls.VersionTLS13},
		{"p-521 only", &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP521}}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg.Clone()
			c.RootCAs = dev.CertPool()
			c.ServerName = "localhost"
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, c)
			if !tt.ok {
				if err == nil {
					conn.Close()
					t.Fatal("handshake succeeded, want refusal")
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer conn.Close()
			if v := conn.ConnectionState().Version; v != tt.version {
				t.Fatalf("version = %x, want %x", v, tt.version)
			}
		})
	}
	// A real client over HTTP/2, trusting only the dev CA.
	cl := dev.Client()
	resp, err := cl.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" || resp.ProtoMajor != 2 {
		t.Fatalf("GET = %d %q over %s", resp.StatusCode, body, resp.Proto)
	}
}

func TestMTLS(t *testing.T) {
	clientCA, err := httpx.NewDevCertificate(t.TempDir(), "client.example")
	if err != nil {
		t.Fatal(err)
	}
	s, dev := devServer(t, func(c *httpx.Config) { c.ClientCAs = clientCA.CertPool() })
	s.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		cert, ok := httpx.ClientCertificate(r)
		if !ok {
			http.Error(w, "no client cert", 500)
			return
		}
		_, _ = io.WriteString(w, cert.Subject.CommonName)
	})
	start(t, s)
	url := "https://" + s.Addr().String() + "/whoami"

	// Without a client certificate: refused.
	if resp, err := dev.Client().Get(url); err == nil {
		resp.Body.Close()
		t.Fatal("request without client certificate succeeded")
	}
	// With one from the trusted client CA: identity visible to the handler.
	cl := dev.Client()
	cert, _ := clientCA.GetCertificate(nil)
	cl.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{*cert}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "client.example" {
		t.Fatalf("whoami = %d %q", resp.StatusCode, body)
	}
	// With a certificate from another CA: refused.
	other, _ := httpx.NewDevCertificate(t.TempDir(), "mallory.example")
	cl2 := dev.Client()
	oc, _ := other.GetCertificate(nil)
	cl2.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{*oc}
	if resp, err := cl2.Get(url); err == nil {
		resp.Body.Close()
		t.Fatal("request with an untrusted client certificate succeeded")
	}
}

func plainServer(t *testing.T, mut func(*httpx.Config)) *httpx.Server {
	t.Helper()
	cfg := plainConfig()
	cfg.Addr = "127.0.0.1:0"
	if mut != nil {
		mut(&cfg)
	}
	return mustNew(t, cfg)
}

func TestOversizedHeader(t *testing.T) {
	s := plainServer(t, nil)
	s.HandleFunc("GET /", okHandler)
	start(t, s)
	req, _ := http.NewRequest("GET", "http://"+s.Addr().String()+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 17<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || resp.Header.Get("Content-Type") != httpx.ContentTypeProblem {
		t.Fatalf("status = %d %q, want 431 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// A header just under the limit is fine.
	req.Header.Set("X-Big", strings.Repeat("a", 8<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
}

func TestOversizedBodyOverTheWire(t *testing.T) {
	s := plainServer(t, nil)
	s.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		okHandler(w, r)
	})
	start(t, s)
	resp, err := http.Post("http://"+s.Addr().String()+"/", "application/octet-stream", strings.NewReader(strings.Repeat("x", 2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || resp.Header.Get("Content-Type") != httpx.ContentTypeProblem {
		t.Fatalf("status = %d %s, want 413 problem", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestSlowHeaderSender(t *testing.T) {
	s := plainServer(t, func(c *httpx.Config) { c.ReadHeaderTimeout = time.Second }) // the floor
	s.HandleFunc("GET /", okHandler)
	start(t, s)
	addr := s.Addr().String()
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	began := time.Now()
	if _, err := io.WriteString(slow, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	// Another client is served meanwhile.
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("other client status = %d", resp.StatusCode)
	}
	// The slow one is cut off at ReadHeaderTimeout.
	_ = slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	n, err := slow.Read(buf)
	if err == nil && !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 408") {
		t.Fatalf("slow client got %q, want the connection closed", buf[:n])
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("slow connection still open after 5s")
	}
	if d := time.Since(began); d < 900*time.Millisecond || d > 4*time.Second {
		t.Fatalf("slow connection closed after %v, want about 1s", d)
	}
}

func TestSpoofedForwardedFor(t *testing.T) {
	var seen atomic.Value
	handler := func(w http.ResponseWriter, r *http.Request) { seen.Store(httpx.ClientIP(r).String()) }
	untrusted := plainServer(t, nil)
	untrusted.HandleFunc("GET /", handler)
	start(t, untrusted)
	req, _ := http.NewRequest("GET", "http://"+untrusted.Addr().String()+"/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.66")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := seen.Load(); got != "127.0.0.1" {
		t.Fatalf("client IP with spoofed XFF from untrusted peer = %v, want 127.0.0.1", got)
	}
	trusted := plainServer(t, func(c *httpx.Config) { c.ClientIP.TrustedProxies = []string{"127.0.0.1"} })
	trusted.HandleFunc("GET /", handler)
	start(t, trusted)
	for _, tt := range []struct{ xff, want string }{
		{"203.0.113.66", "203.0.113.66"},
		{"198.51.100.1, 203.0.113.66", "203.0.113.66"},
		{"203.0.113.66, not-an-ip", "127.0.0.1"},
	} {
		req, _ := http.NewRequest("GET", "http://"+trusted.Addr().String()+"/", nil)
		req.Header.Set("X-Forwarded-For", tt.xff)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := seen.Load(); got != tt.want {
			t.Fatalf("XFF %q from trusted proxy: client = %v, want %s", tt.xff, got, tt.want)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	s := plainServer(t, func(c *httpx.Config) { c.DrainTimeout = 5 * time.Second })
	entered := make(chan struct{})
	release := make(chan struct{})
	s.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	stop := start(t, s)
	addr := s.Addr().String()
	type result struct {
		body string
		err  error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			resc <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resc <- result{body: string(b)}
	}()
	<-entered
	stopc := make(chan error, 1)
	go func() { stopc <- stop() }()
	// New connections are refused once draining starts.
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting while draining")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if r := <-resc; r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request = %q, %v", r.body, r.err)
	}
	if err := <-stopc; err != nil {
		t.Fatalf("Serve after drain = %v, want nil", err)
	}
	if err := s.Serve(context.Background(), mustListen(t)); !errors.Is(err, httpx.ErrServerStarted) {
		t.Fatalf("second Serve = %v", err)
	}
}

func TestDrainDeadline(t *testing.T) {
	s := plainServer(t, func(c *httpx.Config) { c.DrainTimeout = 100 * time.Millisecond })
	entered := make(chan struct{})
	s.HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		time.Sleep(2 * time.Second)
	})
	stop := start(t, s)
	go func() {
		if resp, err := http.Get("http://" + s.Addr().String() + "/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	err := stop()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Serve = %v, want drain deadline error", err)
	}
}

func mustListen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestDevCAFileTrusted(t *testing.T) {
	s, dev := devServer(t, nil)
	start(t, s)
	if s.DevCAFile() != dev.CAFile() || !strings.HasSuffix(dev.CAFile(), httpx.DevCAFileName) {
		t.Fatalf("CA file %q / %q", s.DevCAFile(), dev.CAFile())
	}
	// A default client (system roots only) must not trust the dev CA.
	conn, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{ServerName: "localhost"})
	if err == nil {
		conn.Close()
		t.Fatal("dev certificate trusted by system roots")
	}
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL = %q", s.URL())
	}
}
