package httpx_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pavedroad/paved/httpx"
)

func TestNotifyContextSIGTERM(t *testing.T) {
	ctx, stop := httpx.NotifyContext(context.Background())
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("context not cancelled by SIGTERM")
	}
}

// The response-writer wrapper keeps Flush, Hijack and ReadFrom working
// through http.ResponseController and io.Copy.
func TestWriterCapabilities(t *testing.T) {
	s := plainServer(t, nil)
	s.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "a")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		_, _ = io.Copy(w, strings.NewReader("bc"))
	})
	s.HandleFunc("GET /hijack", func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer c.Close()
		_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhj")
		_ = rw.Flush()
	})
	start(t, s)
	resp, err := http.Get("http://" + s.Addr().String() + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "abc" {
		t.Fatalf("stream body %q", b)
	}
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	if string(b) != "hj" {
		t.Fatalf("hijacked body %q", b)
	}
}

func TestProblemStatusDefaults(t *testing.T) {
	w := httptest.NewRecorder()
	httpx.Error(w, httptest.NewRequest("GET", "/", nil), http.StatusTeapot, "short and stout")
	p := problemOf(t, w)
	if w.Code != 418 || p["title"] != "I'm a teapot" || p["detail"] != "short and stout" {
		t.Fatalf("problem %d %v", w.Code, p)
	}
}

// The exported middleware, composed by hand on a plain mux, resolve the
// client behind a trusted proxy and keep its request ID.
func TestStandaloneChainBehindProxy(t *testing.T) {
	ip, err := httpx.ResolveClientIP(httpx.ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := httpx.ResolveClientIP(httpx.ClientIPConfig{TrustedProxies: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), "ClientIPConfig.TrustedProxies[0]") {
		t.Fatalf("bad proxy error = %v", err)
	}
	mux := http.NewServeMux()
	var gotIP, gotID string
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		gotIP, gotID = httpx.ClientIP(r).String(), httpx.RequestIDFrom(r.Context())
	})
	h := httpx.Chain(ip, httpx.RequestID, httpx.SecurityHeaders(httpx.ProfileAPI))(mux)
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.9.8.7:443"
	r.Header.Set("X-Forwarded-For", "203.0.113.50")
	r.Header.Set("X-Request-Id", "edge-42")
	w := do(h, r)
	if gotIP != "203.0.113.50" || gotID != "edge-42" || w.Header().Get("X-Request-Id") != "edge-42" {
		t.Fatalf("ip %q id %q header %q", gotIP, gotID, w.Header().Get("X-Request-Id"))
	}
	if w.Header().Get("Content-Security-Policy") != "default-src 'none'; frame-ancestors 'none'" {
		t.Fatal("headers missing")
	}
}

func TestReadyzCoalescesChecks(t *testing.T) {
	s := mustNew(t, plainConfig())
	var calls atomic.Int64
	s.AddCheck("db", httpx.CheckFunc(func(context.Context) error {
		calls.Add(1)
		time.Sleep(20 * time.Millisecond)
		return nil
	}))
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w := do(s, httptest.NewRequest("GET", "/readyz", nil)); w.Code != 200 {
				t.Errorf("readyz = %d", w.Code)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("check ran %d times for 20 probes within a second, want 1", n)
	}
	s.AddCheck("other", httpx.CheckFunc(func(context.Context) error { return nil }))
	do(s, httptest.NewRequest("GET", "/readyz", nil))
	if n := calls.Load(); n != 2 {
		t.Fatalf("check ran %d times after the set changed, want 2", n)
	}
}
