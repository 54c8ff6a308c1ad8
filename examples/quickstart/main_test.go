package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/testenv"
)

// quickstart is a running quickstart: its URL, its development CA file and a
// client that trusts that CA (and nothing else).
type quickstart struct {
	url, caFile string
	token       string            // from the printed "export TOKEN=" line
	exports     map[string]string // every printed "export NAME=value" line
	printed     []string
	client      *http.Client
}

// noEnv is an environment with nothing set: every stand-in, whatever the
// test process's own environment holds (the integration run's env file
// sets VAULT_ADDR, REDIS_ADDR and PAVED_OIDC_ISSUER).
func noEnv(string) string { return "" }

// startQuickstart runs the quickstart on a free loopback port with its
// stand-ins.
func startQuickstart(t *testing.T) quickstart {
	t.Helper()
	qs := startQuickstartEnv(t, nil)
	if qs.token == "" || qs.exports["TOKEN_NO_SCOPE"] == "" {
		t.Fatalf("the stand-in issuer's tokens were not printed: %v", qs.exports)
	}
	return qs
}

// startQuickstartEnv runs the quickstart on a free loopback port with the
// environment env (and nothing else).
func startQuickstartEnv(t *testing.T, env map[string]string) quickstart {
	t.Helper()
	return startQuickstartIn(t, env, t.TempDir())
}

// startQuickstartIn is startQuickstartEnv with the development CA's file
// in dir (-ca-dir).
func startQuickstartIn(t *testing.T, env map[string]string, dir string) quickstart {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-ca-dir", dir, "-quiet"}, func(k string) string { return env[k] }, pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("quickstart stopped: %v", err))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("quickstart stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("quickstart did not stop within 30s")
		}
	})

	lines := bufio.NewScanner(pr)
	var url string
	var printed []string
	exports := map[string]string{}
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		printed = append(printed, line)
		if u, ok := strings.CutPrefix(line, "paved quickstart listening on "); ok {
			url = u
		}
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			if k, v, ok := strings.Cut(kv, "="); ok {
				exports[k] = v
			}
		}
		if strings.HasPrefix(line, "Ctrl-C stops it") {
			break
		}
	}
	if url == "" {
		t.Fatalf("quickstart printed no URL (%v)", lines.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	caFile := filepath.Join(dir, httpx.DevCAFileName)
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA file holds no certificate")
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
	}
	t.Cleanup(client.CloseIdleConnections)
	return quickstart{url: url, caFile: caFile, token: exports["TOKEN"], exports: exports, printed: printed, client: client}
}

func TestQuickstartServes(t *testing.T) {
	qs := startQuickstart(t)
	url, client := qs.url, qs.client
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("URL %q: want https on loopback", url)
	}
	tests := []struct {
		method, path, body, contentType string
		header                          map[string]string
		status                          int
		wantType                        string
	}{
		{"GET", "/livez", "", "", nil, http.StatusOK, ""},
		{"GET", "/readyz", "", "", nil, http.StatusOK, ""},
		{"GET", "/hello", "", "", nil, http.StatusOK, "application/json"},
		{"GET", "/posture", "", "", nil, http.StatusUnauthorized, ""},
		{"POST", "/echo", `{"n":1}`, "application/json", nil, http.StatusOK, "application/json"},
		{"POST", "/echo", `not json`, "application/json", nil, http.StatusBadRequest, httpx.ContentTypeProblem},
		{"POST", "/echo", `{"n":1}`, "application/json", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, httpx.ContentTypeProblem},
		{"GET", "/panic", "", "", nil, http.StatusInternalServerError, httpx.ContentTypeProblem},
		{"GET", "/nope", "", "", nil, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, url+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.wantType != "" && !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.wantType) {
				t.Fatalf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.wantType)
			}
			if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
				t.Fatalf("HSTS %q", got)
			}
			if strings.Contains(string(body), "goroutine") {
				t.Fatalf("stack trace leaked: %s", body)
			}
		})
	}
}

func TestQuickstartProtectedRoutes(t *testing.T) {
	qs := startQuickstart(t)
	tests := []struct {
		path, auth string
		status     int
		challenge  string
	}{
		{"/me", "Bearer " + qs.token, http.StatusOK, ""},
		{"/orders", "Bearer " + qs.token, http.StatusOK, ""},
		{"/orders", "", http.StatusUnauthorized, "Bearer"},
		{"/orders", "Bearer not.a.token", http.StatusUnauthorized, `Bearer error="invalid_token"`},
		{"/me", "Basic YWxpY2U6c2VjcmV0", http.StatusUnauthorized, "Bearer"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, qs.url+tt.path, nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := qs.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s with %q: status %d, want %d: %s", tt.path, tt.auth, resp.StatusCode, tt.status, body)
		}
		if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, tt.challenge) || (tt.challenge == "") != (got == "") {
			t.Errorf("%s with %q: WWW-Authenticate %q, want prefix %q", tt.path, tt.auth, got, tt.challenge)
		}
		if strings.Contains(string(body), qs.token) {
			t.Errorf("%s: token echoed in the body", tt.path)
		}
	}
}

func TestQuickstartPostureListsOptOut(t *testing.T) {
	qs := startQuickstart(t)
	req, _ := http.NewRequest("GET", qs.url+"/posture", nil)
	req.Header.Set("Authorization", "Bearer "+qs.token)
	resp, err := qs.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var report struct {
		OptOuts []struct{ Component, Name, Reason string } `json:"opt_outs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
		t.Fatal(err)
	}
	for _, o := range report.OptOuts {
		if o.Component == "httpx" && o.Name == "allow-dev-certificate" && o.Reason != "" {
			return
		}
	}
	t.Fatalf("posture opt-outs %+v lack the dev certificate", report.OptOuts)
}

// GET /limited allows two requests a minute; the third gets 429
// problem+json with RateLimit and Retry-After naming the same instant.
func TestQuickstartRateLimit(t *testing.T) {
	qs := startQuickstart(t)
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		resp, err := qs.client.Get(qs.url + "/limited")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != want || h.Get("RateLimit-Policy") != `"demo";q=2;w=60` || !strings.HasPrefix(h.Get("RateLimit"), `"demo";r=`) {
			t.Fatalf("request %d: %d RateLimit-Policy %q RateLimit %q, want %d", i+1, resp.StatusCode, h.Get("RateLimit-Policy"), h.Get("RateLimit"), want)
		}
		if want != http.StatusTooManyRequests {
			continue
		}
		retry := h.Get("Retry-After")
		var p map[string]any
		if retry == "" || retry == "0" || h.Get("RateLimit") != `"demo";r=0;t=`+retry ||
			h.Get("Content-Type") != httpx.ContentTypeProblem || json.Unmarshal(body, &p) != nil ||
			p["status"] != float64(429) || p["policy"] != "demo" || fmt.Sprint(p["retry_after"]) != retry {
			t.Fatalf("429: Retry-After %q RateLimit %q Content-Type %q body %s", retry, h.Get("RateLimit"), h.Get("Content-Type"), body)
		}
	}
}

func TestQuickstartBadFlag(t *testing.T) {
	err := run(context.Background(), []string{"-no-such-flag"}, noEnv, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("unknown flag accepted")
	}
}

// TestQuickstartTestssl runs testssl.sh against the quickstart's TLS port:
// only TLS 1.2 and 1.3 may be offered and no finding may be rated MEDIUM or
// worse.
func TestQuickstartTestssl(t *testing.T) {
	bin := testenv.RequireTool(t, "testssl", "testssl.sh")
	qs := startQuickstart(t)
	host := strings.TrimPrefix(qs.url, "https://")
	out := filepath.Join(t.TempDir(), "testssl.json")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The quickstart's development CA is trusted explicitly, as a client would.
	cmd := exec.CommandContext(ctx, bin, "--quiet", "--warnings", "off", "--color", "0",
		"--add-ca", qs.caFile, "--jsonfile", out, host)
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testssl: %v\n%s", err, log)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var findings []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Finding  string `json:"finding"`
	}
	if err := json.Unmarshal(data, &findings); err != nil {
		t.Fatalf("testssl JSON: %v", err)
	}
	offered := map[string]string{}
	for _, f := range findings {
		switch f.ID {
		case "SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3":
			offered[f.ID] = f.Finding
		}
		switch f.Severity {
		case "MEDIUM", "HIGH", "CRITICAL":
			t.Errorf("testssl finding %s rated %s: %s", f.ID, f.Severity, f.Finding)
		}
	}
	for _, id := range []string{"SSLv2", "SSLv3", "TLS1", "TLS1_1"} {
		if !strings.HasPrefix(offered[id], "not offered") {
			t.Errorf("%s: %q, want not offered", id, offered[id])
		}
	}
	for _, id := range []string{"TLS1_2", "TLS1_3"} {
		if !strings.HasPrefix(offered[id], "offered") {
			t.Errorf("%s: %q, want offered", id, offered[id])
		}
	}
}

// The quickstart serves on loopback only, as its development certificate
// (localhost, 127.0.0.1, ::1) and the opt-out's reason say: any other
// -addr stops the start before anything listens.
func TestQuickstartLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:8443", "example.com:8443", "127.0.0.1"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a start that succeeds serves until then
		err := run(ctx, []string{"-addr", addr, "-quiet"}, noEnv, io.Discard, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "-addr") {
			t.Errorf("-addr %s: err = %v, want a refusal naming -addr", addr, err)
		}
	}
}
