package httpx_test

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved/httpx"
)

// The header size the server counts (see Config.MaxHeaderBytes): name +
// value + 32 per field, the request line as four pseudo-fields.
func fieldSize(name, value string) int { return len(name) + len(value) + 32 }

// rawHTTP1 sends one HTTP/1.1 request over TLS with exactly the given
// header lines and returns the response and its body.
func rawHTTP1(t *testing.T, addr string, dev *httpx.DevCertificate, lines ...string) (*http.Response, string) {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: dev.CertPool(), ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\n"+strings.Join(lines, "\r\n")+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// want431 checks a 431 problem+json naming the limit.
func want431(t *testing.T, proto string, resp *http.Response, body string, limit int) {
	t.Helper()
	var p map[string]any
	if resp.StatusCode != 431 || resp.Header.Get("Content-Type") != httpx.ContentTypeProblem || json.Unmarshal([]byte(body), &p) != nil ||
		p["status"] != float64(431) || p["limit"] != float64(limit) || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("%s just over the limit: %d %q %s, want 431 problem+json with the security headers", proto, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// The documented header limit is the real one over TLS on both
// protocols: a header at the limit passes, one byte over gets 431
// problem+json from the server; far over, net/http's backstop answers.
func TestHeaderLimitOverTLS(t *testing.T) {
	const limit = httpx.DefaultMaxHeaderBytes
	s, dev := devServer(t, nil)
	start(t, s)
	addr := s.Addr().String()

	t.Run("HTTP/1.1", func(t *testing.T) {
		// :method GET, :scheme https, :authority localhost, :path /, X-Pad.
		base := fieldSize(":method", "GET") + fieldSize(":scheme", "https") + fieldSize(":authority", "localhost") +
			fieldSize(":path", "/") + fieldSize("X-Pad", "")
		pad := strings.Repeat("a", limit-base)
		resp, body := rawHTTP1(t, addr, dev, "Host: localhost", "X-Pad: "+pad)
		if resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("at the limit: %d %q, want 200", resp.StatusCode, body)
		}
		resp, body = rawHTTP1(t, addr, dev, "Host: localhost", "X-Pad: "+pad+"a")
		want431(t, "HTTP/1.1", resp, body, limit)
		// Past net/http's backstop (MaxHeaderBytes + 8 KiB of raw
		// header), net/http answers with its own plain-text 431.
		resp, body = rawHTTP1(t, addr, dev, "Host: localhost", "X-Pad: "+strings.Repeat("a", limit+8<<10))
		if resp.StatusCode != 431 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !resp.Close {
			t.Fatalf("past the backstop: %d %q %q, want net/http's plain 431", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})

	t.Run("HTTP/2", func(t *testing.T) {
		cl := dev.Client()
		tr := cl.Transport.(*http.Transport)
		tr.DisableCompression = true // no accept-encoding field
		defer tr.CloseIdleConnections()
		get := func(pad string) (*http.Response, string, error) {
			req, _ := http.NewRequest("GET", "https://"+addr+"/", nil)
			req.Header.Set("User-Agent", "t")
			req.Header.Set("X-Pad", pad)
			resp, err := cl.Do(req)
			if err != nil {
				return nil, "", err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 {
				t.Fatalf("served over %s, want HTTP/2", resp.Proto)
			}
			return resp, string(b), nil
		}
		base := fieldSize(":method", "GET") + fieldSize(":scheme", "https") + fieldSize(":authority", addr) +
			fieldSize(":path", "/") + fieldSize("user-agent", "t") + fieldSize("x-pad", "")
		pad := strings.Repeat("a", limit-base)
		resp, body, err := get(pad)
		if err != nil || resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("at the limit: %v %v %q, want 200", resp, err, body)
		}
		resp, body, err = get(pad + "a")
		if err != nil {
			t.Fatal(err)
		}
		want431(t, "HTTP/2", resp, body, limit)
		// Past the backstop net/http advertises in
		// SETTINGS_MAX_HEADER_LIST_SIZE, Go's client does not send.
		if _, _, err := get(strings.Repeat("a", limit+8<<10)); err == nil || !strings.Contains(err.Error(), "larger than peer's advertised limit") {
			t.Fatalf("past the backstop: %v, want the client to refuse", err)
		}
	})
}

// The Trailer field counts toward the limit like any other, on both
// protocols, though net/http takes it out of the request's header (it
// keeps the names it declares in Request.Trailer): a request whose Trailer
// field takes it one byte over the limit gets 431.
func TestHeaderLimitCountsTheTrailerField(t *testing.T) {
	const limit = httpx.DefaultMaxHeaderBytes
	s, dev := devServer(t, nil)
	s.HandleFunc("POST /", okHandler)
	start(t, s)
	addr := s.Addr().String()
	// One canonical trailer name, so that the field is counted exactly
	// as sent: "X-Aaa...".
	name := func(n int) string { return "X-A" + strings.Repeat("a", n-3) }

	t.Run("HTTP/1.1", func(t *testing.T) {
		base := fieldSize(":method", "GET") + fieldSize(":scheme", "https") + fieldSize(":authority", "localhost") +
			fieldSize(":path", "/") + fieldSize("transfer-encoding", "chunked") + fieldSize("trailer", "")
		send := func(trailer string) (*http.Response, string) {
			// rawHTTP1 ends the header; the chunked body is the empty
			// last chunk and an empty trailer section.
			return rawHTTP1(t, addr, dev, "Host: localhost", "Transfer-Encoding: chunked", "Trailer: "+trailer+"\r\n\r\n0\r")
		}
		if resp, body := send(name(limit - base)); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("at the limit: %d %q, want 200", resp.StatusCode, body)
		}
		resp, body := send(name(limit - base + 1))
		want431(t, "HTTP/1.1", resp, body, limit)
	})

	t.Run("HTTP/2", func(t *testing.T) {
		cl := dev.Client()
		tr := cl.Transport.(*http.Transport)
		tr.DisableCompression = true
		defer tr.CloseIdleConnections()
		base := fieldSize(":method", "POST") + fieldSize(":scheme", "https") + fieldSize(":authority", addr) +
			fieldSize(":path", "/") + fieldSize("trailer", "") + fieldSize("content-length", "1") + fieldSize("user-agent", "t")
		send := func(trailer string) (*http.Response, string) {
			req, _ := http.NewRequest("POST", "https://"+addr+"/", strings.NewReader("x"))
			req.Header.Set("User-Agent", "t")
			req.Trailer = http.Header{trailer: nil}
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 {
				t.Fatalf("served over %s, want HTTP/2", resp.Proto)
			}
			return resp, string(b)
		}
		if resp, body := send(name(limit - base)); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("at the limit: %d %q, want 200", resp.StatusCode, body)
		}
		resp, body := send(name(limit - base + 1))
		want431(t, "HTTP/2", resp, body, limit)
	})
}
