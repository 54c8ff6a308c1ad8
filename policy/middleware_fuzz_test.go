package policy_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/policy"
)

// FuzzAuthorizerInput feeds raw HTTP/1.1 requests (any method, target,
// header) through a mux to the authorizer's input builder and the engine:
// it must never panic, a request over the bounds must be refused with
// ErrInput, and every input built must be within them and decidable.
func FuzzAuthorizerInput(f *testing.F) {
	for _, s := range []string{
		"GET /docs/1 HTTP/1.1\r\nHost: a\r\nX-Tenant: acme\r\n\r\n",
		"GET /docs/%2F..%2F HTTP/1.1\r\nHost: a\r\nX-Tenant: a\r\nX-Tenant: b\r\n\r\n",
		"DELETE /files/a/b/c HTTP/1.1\r\nHost: a\r\nAccept-Language: " + strings.Repeat("x", 2000) + "\r\n\r\n",
		"GET /docs/\xff\xfe HTTP/1.1\r\nHost: a\r\nX-Tenant: \xc3\x28\r\n\r\n",
		"POST http://other/files/%00 HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		f.Add(s, "sub", "role")
	}
	e := newEngine(f, echoInput)
	a := newAuthorizer(f, policy.AuthorizerConfig{
		Engine: e, Query: "data.echo.decision",
		Headers:             []string{"X-Tenant", "Accept-Language"},
		MaxHeaderValueBytes: 512, MaxPathValueBytes: 256,
	})
	mux := http.NewServeMux()
	var built *policy.Input
	var buildErr error
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		built, buildErr = a.Input(r)
		a.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(w, r)
	})
	mux.Handle("/docs/{id}", h)
	mux.Handle("/files/{path...}", h)
	f.Fuzz(func(t *testing.T, raw, sub, role string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		r = r.WithContext(paved.WithPrincipal(r.Context(), &paved.Principal{Subject: sub, Roles: []string{role}, Claims: map[string]any{"c": sub}}))
		built, buildErr = nil, nil
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if built == nil && buildErr == nil {
			return // the mux did not route it
		}
		if buildErr != nil {
			if w.Code != http.StatusForbidden {
				t.Fatalf("input refused (%v) but status %d", buildErr, w.Code)
			}
			return
		}
		for k, v := range built.Params {
			if len(v) > 256 {
				t.Fatalf("param %s is %d bytes", k, len(v))
			}
		}
		for k, v := range built.Headers {
			if len(v) > 512 || k != strings.ToLower(k) {
				t.Fatalf("header %q is %d bytes", k, len(v))
			}
		}
		if _, err := built.Value(); err != nil {
			t.Fatalf("input %+v does not convert: %v", built, err)
		}
		if w.Code != http.StatusOK && w.Code != http.StatusForbidden {
			t.Fatalf("status %d", w.Code)
		}
	})
}
