package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/httpx"
)

func TestMiddleware(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := paved.PrincipalFrom(r.Context())
		_, _ = w.Write([]byte("hello " + p.Subject))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /read", v.Protect(ok, auth.RequireScope("orders:read")))
	mux.Handle("GET /write", v.Protect(ok, auth.RequireScope("orders:read", "orders:write")))
	mux.Handle("GET /admin", v.Protect(ok, auth.RequireRole("admin", "root"), auth.RequireGroup("ops")))
	mux.Handle("GET /mfa", v.Protect(ok, auth.RequireMFA("gold")))
	mux.Handle("GET /any", v.Middleware()(ok))

	reader := srv.Mint(map[string]any{"scope": "orders:read"})
	expired := srv.Mint(map[string]any{"exp": srv.Now().Add(-time.Hour).Unix(), "iat": srv.Now().Add(-2 * time.Hour).Unix()})
	tests := []struct {
		name      string
		path      string
		authz     []string
		status    int
		challenge string
		reason    string
	}{
		{"no token", "/any", nil, 401, `Bearer realm="api"`, "no_token"},
		{"basic scheme", "/any", []string{"Basic YTpi"}, 401, `Bearer realm="api"`, "no_token"},
		{"two headers", "/any", []string{"Bearer " + reader, "Bearer " + reader}, 401, `Bearer error="invalid_token", error_description="malformed"`, "malformed"},
		{"expired", "/any", []string{"Bearer " + expired}, 401, `Bearer error="invalid_token", error_description="expired"`, "expired"},
		{"garbage", "/any", []string{"Bearer abc.def.ghi"}, 401, `Bearer error="invalid_token", error_description="bad_json"`, "bad_json"},
		{"ok", "/read", []string{"Bearer " + reader}, 200, "", ""},
		{"lowercase scheme", "/read", []string{"bearer " + reader}, 200, "", ""},
		{"missing scope", "/write", []string{"Bearer " + reader}, 403, `Bearer error="insufficient_scope", error_description="insufficient_scope", scope="orders:read orders:write"`, "insufficient_scope"},
		{"missing role", "/admin", []string{"Bearer " + srv.Mint(map[string]any{"groups": []string{"ops"}})}, 403, `Bearer error="insufficient_scope", error_description="missing_role"`, "missing_role"},
		{"missing group", "/admin", []string{"Bearer " + srv.Mint(map[string]any{"roles": []string{"root"}})}, 403, `Bearer error="insufficient_scope", error_description="missing_group"`, "missing_group"},
		{"role and group", "/admin", []string{"Bearer " + srv.Mint(map[string]any{"roles": []string{"root"}, "groups": []string{"ops"}})}, 200, "", ""},
		{"no MFA", "/mfa", []string{"Bearer " + srv.Mint(map[string]any{"amr": []string{"pwd"}})}, 401, `Bearer error="insufficient_user_authentication", error_description="multi-factor authentication required"`, "mfa_required"},
		{"amr mfa", "/mfa", []string{"Bearer " + srv.Mint(map[string]any{"amr": []string{"mfa"}})}, 200, "", ""},
		{"two factors", "/mfa", []string{"Bearer " + srv.Mint(map[string]any{"amr": []string{"pwd", "hwk"}})}, 200, "", ""},
		{"acr gold", "/mfa", []string{"Bearer " + srv.Mint(map[string]any{"acr": "gold"})}, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.path, nil)
			r.Header.Set("Accept", "text/html") // a browser still gets 401, never a redirect
			for _, a := range tt.authz {
				r.Header.Add("Authorization", a)
			}
			r = r.WithContext(httpx.WithRequestID(r.Context(), "req-1"))
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			if tt.status == 200 {
				if w.Body.String() != "hello alice" {
					t.Fatalf("body = %q", w.Body)
				}
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != httpx.ContentTypeProblem {
				t.Fatalf("Content-Type = %q", ct)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control = %q", cc)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body["reason"] != tt.reason || body["status"] != float64(tt.status) || body["instance"] != "urn:request:req-1" {
				t.Fatalf("problem = %v", body)
			}
			for _, a := range tt.authz {
				if tok := strings.TrimPrefix(a, "Bearer "); len(tok) > 10 && strings.Contains(w.Body.String(), tok) {
					t.Fatal("problem body echoes the token")
				}
			}
		})
	}
}

func TestRequireWithoutPrincipal(t *testing.T) {
	h := auth.Require(auth.RequireScope("x"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Fatal("reached") }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 401 {
		t.Fatalf("status = %d", w.Code)
	}
}

func TestEvents(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	var mu sync.Mutex
	var got []paved.Event
	sink := paved.SinkFunc(func(_ context.Context, e paved.Event) { mu.Lock(); got = append(got, e); mu.Unlock() })
	v := newVerifier(t, srv, func(c *auth.Config) { c.Sink = sink })
	if _, err := v.Verify(context.Background(), srv.Mint(map[string]any{"amr": []string{"mfa"}})); err != nil {
		t.Fatal(err)
	}
	tok := srv.Mint(map[string]any{"aud": "nope"})
	_, _ = v.Verify(context.Background(), tok)
	if len(got) != 2 {
		t.Fatalf("events = %+v", got)
	}
	s, f := got[0], got[1]
	if s.Type != paved.EventAuthnSuccess || s.Outcome != paved.OutcomeSuccess || s.Subject != "alice" || s.Component != "auth" {
		t.Fatalf("success event = %+v", s)
	}
	attrs := map[string]string{}
	for _, a := range s.Attrs {
		attrs[a.Key] = a.Value.String()
	}
	if attrs["mfa"] != "true" || attrs["issuer"] != srv.Issuer() {
		t.Fatalf("success attrs = %v", attrs)
	}
	if f.Type != paved.EventAuthnFailure || f.Reason != auth.ReasonWrongAudience || f.Outcome != paved.OutcomeFailure {
		t.Fatalf("failure event = %+v", f)
	}
	for _, e := range got {
		for _, a := range e.Attrs {
			if strings.Contains(a.Value.String(), tok[:20]) {
				t.Fatal("event carries token material")
			}
		}
	}
}
