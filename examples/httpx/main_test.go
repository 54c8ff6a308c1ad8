package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved/internal/testenv"
)

// TestRun starts the example, follows what it prints and stops it.
func TestRun(t *testing.T) {
	t.Setenv("REDIS_ADDR", "") // the in-memory limit, whatever the environment says
	runAndFollow(t, "memory", nil, printedCases)
}

// TestRunWithRedisDown points the limit at a Redis that never answers: the
// limited route fails closed (503), the others serve, and /readyz says
// degraded.
func TestRunWithRedisDown(t *testing.T) {
	addr := testenv.SilentListener(t)
	t.Setenv("REDIS_ADDR", addr)
	runAndFollow(t, "Redis at "+addr, nil, []getCase{
		{"/hello", 200, "text/plain; charset=utf-8", ""},
		{"/readyz", 200, "", `"status":"degraded"`},
		{"/limited", 503, "application/problem+json", `"reason":"rate_limit_unavailable"`},
	})
}

// TestRunWithRedis is the same with the route's limit in the integration
// run's Redis, under a key prefix of this run's, so that the count starts
// afresh without flushing anything.
func TestRunWithRedis(t *testing.T) {
	addr := testenv.RequireRedis(t)
	t.Setenv("REDIS_ADDR", addr)
	prefix := fmt.Sprintf("paved:rl:test-examples-httpx-%d:", time.Now().UnixNano())
	runAndFollow(t, "Redis at "+addr, []string{"-redis-prefix", prefix}, printedCases)

	// The count was kept in Redis, not in memory: the route's key is there.
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	keys, err := rdb.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Errorf("no key under %s in Redis: the limit was not kept there", prefix)
	}
}

// A getCase is a request and what it answers: status, Content-Type ("":
// any) and a piece of the body ("": any).
type getCase struct {
	path   string
	status int
	ctype  string
	body   string
}

// printedCases are the calls the program prints, and their answers.
var printedCases = []getCase{
	{"/hello", 200, "text/plain; charset=utf-8", ""},
	{"/fail", 409, "application/problem+json", ""},
	{"/readyz", 200, "", `"status":"ok"`},
	{"/limited", 200, "text/plain; charset=utf-8", ""},
	{"/limited", 200, "text/plain; charset=utf-8", ""},
	{"/limited", 429, "application/problem+json", ""},
}

func runAndFollow(t *testing.T, store string, args []string, cases []getCase) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-quiet"}, args...), pw)
		pw.Close()
	}()

	var printed []string
	var url, caFile string
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		line := lines.Text()
		printed = append(printed, line)
		if u, ok := strings.CutPrefix(line, "httpx example listening on "); ok {
			url, _, _ = strings.Cut(u, " ")
		}
		if f, ok := strings.CutPrefix(line, "  export PAVED_CA="); ok {
			caFile = f
		}
		if strings.HasPrefix(line, "Ctrl-C") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if url == "" || caFile == "" {
		t.Fatalf("no URL or CA file in %q", printed)
	}
	want := []string{
		"httpx example listening on " + url + " (rate limit store: " + store + ")",
		"  export PAVED_CA=" + caFile,
		`  curl --cacert "$PAVED_CA" -i ` + url + "/hello     # security headers, X-Request-Id, RateLimit fields",
		`  curl --cacert "$PAVED_CA" -i ` + url + "/fail      # 409 application/problem+json",
		`  curl --cacert "$PAVED_CA" ` + url + "/readyz",
		`  for i in 1 2 3; do curl --cacert "$PAVED_CA" -s -o /dev/null -w '%{http_code}\n' ` + url + "/limited; done   # 200 200 429",
		"opt-outs: [httpx/allow-dev-certificate: example on loopback]",
		"Ctrl-C stops it gracefully.",
	}
	if strings.Join(printed, "\n") != strings.Join(want, "\n") {
		t.Errorf("printed:\n%s\nwant:\n%s", strings.Join(printed, "\n"), strings.Join(want, "\n"))
	}

	// A client that trusts the printed CA file and nothing else.
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}

	for _, c := range cases {
		resp, err := client.Get(url + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("GET %s: %d %s, want %d", c.path, resp.StatusCode, body, c.status)
		}
		if ct := resp.Header.Get("Content-Type"); c.ctype != "" && ct != c.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, ct, c.ctype)
		}
		if !strings.Contains(string(body), c.body) {
			t.Errorf("GET %s: %s, want %s in it", c.path, body, c.body)
		}
		if resp.Header.Get("Strict-Transport-Security") == "" || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s: no HSTS or request ID in %v", c.path, resp.Header)
		}
		if c.path == "/hello" && string(body) != "hello, request "+resp.Header.Get("X-Request-Id")+"\n" {
			t.Errorf("GET /hello: %q", body)
		}
		if c.path == "/hello" && (resp.Header.Get("RateLimit") == "" || resp.Header.Get("RateLimit-Policy") == "") {
			t.Errorf("GET /hello: no RateLimit fields, as printed, in %v", resp.Header)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v after a graceful stop", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return within 30s of the stop")
	}
	if _, err := os.Stat(caFile); !os.IsNotExist(err) {
		t.Errorf("the CA file outlives the run: %v", err)
	}
}
