package sbom

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pavedroad/paved"
)

// requireToken is a stand-in for auth's middleware: 401 without
// "Authorization: Bearer good".
func requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good" {
			w.Header().Set("WWW-Authenticate", "Bearer")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func testHandler(t *testing.T, cfg HandlerConfig) http.Handler {
	t.Helper()
	if cfg.Build == nil {
		cfg.Build = mustBuild(t, testBuildInfoText)
	}
	if cfg.Posture == nil {
		cfg.Posture = new(paved.Posture)
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNewHandlerConfig(t *testing.T) {
	b := mustBuild(t, testBuildInfoText)
	tests := []struct {
		name  string
		cfg   HandlerConfig
		field string
	}{
		{"no protection", HandlerConfig{Build: b}, "HandlerConfig.Protect"},
		{"both", HandlerConfig{Build: b, Protect: requireToken, OptOuts: []paved.OptOut{AllowPublicSBOM("published anyway")}}, "HandlerConfig.Protect"},
		{"no reason", HandlerConfig{Build: b, OptOuts: []paved.OptOut{AllowPublicSBOM(" ")}}, "HandlerConfig.OptOuts[0]"},
		{"foreign opt-out", HandlerConfig{Build: b, Protect: requireToken, OptOuts: []paved.OptOut{paved.NewOptOut("httpx", "allow-plain-http", "mesh")}}, "HandlerConfig.OptOuts[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Posture = new(paved.Posture)
			h, err := NewHandler(tt.cfg)
			ces := paved.ConfigErrors(err)
			if h != nil || len(ces) == 0 || ces[0].Field != tt.field || ces[0].Component != Component {
				t.Fatalf("NewHandler = %v, %v; want a ConfigError on %s", h, err, tt.field)
			}
		})
	}
	var ce *paved.ConfigError
	_, err := NewHandler(HandlerConfig{Build: b, OptOuts: []paved.OptOut{AllowPublicSBOM("")}, Posture: new(paved.Posture)})
	if !errors.As(err, &ce) || !errors.Is(err, paved.ErrNoReason) {
		t.Errorf("empty reason: %v", err)
	}
}

func TestHandlerProtected(t *testing.T) {
	h := testHandler(t, HandlerConfig{Protect: requireToken})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", DefaultPath, nil))
	if rec.Code != http.StatusUnauthorized || rec.Body.Len() != 0 {
		t.Errorf("without a token: %d %q", rec.Code, rec.Body.String())
	}
	req := httptest.NewRequest("GET", DefaultPath, nil)
	req.Header.Set("Authorization", "Bearer good")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != MediaTypeSPDXJSON || rec.Header().Get("Cache-Control") != "private, no-cache" {
		t.Errorf("with a token: %d %v", rec.Code, rec.Header())
	}
}

func TestHandlerNegotiation(t *testing.T) {
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Read(bin) // a Build with a file, so that provenance is served
	if err != nil {
		t.Fatal(err)
	}
	h := testHandler(t, HandlerConfig{Build: b, OptOuts: []paved.OptOut{AllowPublicSBOM("test")}})
	tests := []struct {
		accept, query string
		status        int
		contentType   string
	}{
		{"", "", 200, MediaTypeSPDXJSON},
		{"*/*", "", 200, MediaTypeSPDXJSON},
		{"application/json", "", 200, MediaTypeSPDXJSON},
		{"application/spdx+json", "", 200, MediaTypeSPDXJSON},
		{"text/spdx", "", 200, "text/spdx; charset=utf-8"},
		{"text/*", "", 200, "text/spdx; charset=utf-8"},
		{"application/vnd.cyclonedx+json", "", 200, "application/vnd.cyclonedx+json; version=1.6"},
		{"Application/Vnd.CycloneDX+JSON; version=1.6", "", 200, "application/vnd.cyclonedx+json; version=1.6"},
		{"application/spdx+json;q=0.5, application/vnd.cyclonedx+json", "", 200, "application/vnd.cyclonedx+json; version=1.6"},
		{"application/vnd.cyclonedx+json;q=0.1, */*;q=0.9", "", 200, MediaTypeSPDXJSON},
		{"application/vnd.in-toto+json", "", 200, MediaTypeInToto},
		{"text/html", "", 406, "application/problem+json"},
		{"application/spdx+json;q=0", "", 406, "application/problem+json"},
		{"application/spdx+json;q=2", "", 406, "application/problem+json"},
		// q=0 refuses a format even when a wildcard matches it too: the
		// most specific range decides (RFC 9110 §12.5.1).
		{"application/spdx+json;q=0, */*", "", 200, "text/spdx; charset=utf-8"},
		{"*/*, application/spdx+json;q=0, text/spdx;q=0", "", 200, "application/vnd.cyclonedx+json; version=1.6"},
		{"application/json;q=0, */*;q=0.5", "", 200, "text/spdx; charset=utf-8"},
		{"text/*;q=0.5, text/spdx;q=0, */*;q=0.1", "", 200, MediaTypeSPDXJSON},
		{"*/*;q=0", "", 406, "application/problem+json"},
		{"text/html", "format=cyclonedx-json", 200, "application/vnd.cyclonedx+json; version=1.6"},
		{"", "format=spdx-tv", 200, "text/spdx; charset=utf-8"},
		{"", "format=provenance", 200, MediaTypeInToto},
		{"", "format=xml", 406, "application/problem+json"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", DefaultPath+"?"+tt.query, nil)
		if tt.accept != "" {
			req.Header.Set("Accept", tt.accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.status || rec.Header().Get("Content-Type") != tt.contentType || rec.Header().Get("Vary") != "Accept" {
			t.Errorf("Accept %q ?%s: %d %q (Vary %q); want %d %q", tt.accept, tt.query, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Vary"), tt.status, tt.contentType)
		}
		if tt.status == 200 && (rec.Header().Get("ETag") == "" || rec.Header().Get("Cache-Control") != "no-cache") {
			t.Errorf("Accept %q: headers %v", tt.accept, rec.Header())
		}
	}
}

func TestHandlerConditionalAndMethods(t *testing.T) {
	h := testHandler(t, HandlerConfig{OptOuts: []paved.OptOut{AllowPublicSBOM("test")}})
	get := func(method string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, DefaultPath, nil)
		for i := 0; i < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	first := get("GET")
	etag := first.Header().Get("ETag")
	if first.Code != 200 || !strings.HasPrefix(etag, `"`) || len(etag) != 34 || first.Header().Get("Content-Length") != itoa(first.Body.Len()) {
		t.Fatalf("GET: %d ETag %q length %q/%d", first.Code, etag, first.Header().Get("Content-Length"), first.Body.Len())
	}
	cdxTag := get("GET", "Accept", MediaTypeCycloneDXJSON).Header().Get("ETag")
	if cdxTag == etag {
		t.Errorf("two formats share the ETag %s", etag)
	}
	tests := []struct {
		name   string
		rec    *httptest.ResponseRecorder
		status int
		body   bool
	}{
		{"If-None-Match matches", get("GET", "If-None-Match", etag), 304, false},
		{"weak match", get("GET", "If-None-Match", `"x", W/`+etag), 304, false},
		{"star", get("GET", "If-None-Match", "*"), 304, false},
		{"other format's tag", get("GET", "If-None-Match", cdxTag), 200, true},
		{"HEAD", get("HEAD"), 200, false},
		{"POST", get("POST"), 405, true},
	}
	for _, tt := range tests {
		if tt.rec.Code != tt.status || (tt.rec.Body.Len() > 0) != tt.body {
			t.Errorf("%s: %d, %d bytes", tt.name, tt.rec.Code, tt.rec.Body.Len())
		}
	}
	if a := get("DELETE").Header().Get("Allow"); a != "GET, HEAD" {
		t.Errorf("Allow = %q", a)
	}
	if get("HEAD").Header().Get("Content-Length") != first.Header().Get("Content-Length") {
		t.Errorf("HEAD Content-Length differs from GET's")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestHandlerPosture(t *testing.T) {
	defer func(old string) { License = old }(License)
	License = ""
	tests := []struct {
		name     string
		cfg      HandlerConfig
		controls map[string]bool
		optOuts  int
	}{
		{"protected, undeclared", HandlerConfig{Protect: requireToken}, map[string]bool{"sbom-endpoint": true, "license-declared": false, "vcs-stamped": false}, 0},
		{"public, declared", HandlerConfig{OptOuts: []paved.OptOut{AllowPublicSBOM("open source")}, Options: Options{License: "MIT"}}, map[string]bool{"sbom-endpoint": false, "license-declared": true, "vcs-stamped": false}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := new(paved.Posture)
			tt.cfg.Posture = p
			tt.cfg.Name = "api"
			testHandler(t, tt.cfg)
			r := p.Report()
			got := map[string]bool{}
			for _, c := range r.Controls {
				if c.Component != Component || c.Instance != "api" {
					t.Errorf("control %+v", c)
				}
				got[c.Name] = c.Enabled
			}
			if len(got) != len(tt.controls) {
				t.Errorf("controls %v, want %v", got, tt.controls)
			}
			for k, v := range tt.controls {
				if got[k] != v {
					t.Errorf("control %s enabled = %v, want %v", k, got[k], v)
				}
			}
			if len(r.OptOuts) != tt.optOuts || tt.optOuts == 1 && (r.OptOuts[0].Name != OptOutAllowPublicSBOM || r.OptOuts[0].Reason != "open source") {
				t.Errorf("opt-outs %+v", r.OptOuts)
			}
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// The negotiation memo stays bounded whatever clients send, and answers
// as the parser does.
func TestHandlerMemoBounded(t *testing.T) {
	hh, err := newHandler(mustBuild(t, testBuildInfoText), Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * memoMax {
		req := httptest.NewRequest("GET", DefaultPath, nil)
		req.Header.Set("Accept", "text/spdx;q=0."+strconv.Itoa(i+1))
		rec := httptest.NewRecorder()
		hh.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/spdx; charset=utf-8" {
			t.Fatalf("request %d: %d %q", i, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	if n := len(*hh.memo.Load()); n != memoMax {
		t.Errorf("memo holds %d entries, want %d", n, memoMax)
	}
}

// Concurrent requests with ever new Accept headers (run with -race).
func TestHandlerConcurrent(t *testing.T) {
	h := testHandler(t, HandlerConfig{OptOuts: []paved.OptOut{AllowPublicSBOM("test")}, Logger: discardLogger()})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				req := httptest.NewRequest("GET", DefaultPath, nil)
				req.Header.Set("Accept", "application/vnd.cyclonedx+json;q=0."+strconv.Itoa(g*100+i+1))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					t.Errorf("status %d", rec.Code)
					return
				}
			}
		})
	}
	wg.Wait()
}
