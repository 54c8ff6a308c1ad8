package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	v := newVerifier(t, authtest.NewServer(t, authtest.Config{}))
	h := v.Require(auth.RequireScope("x"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Fatal("reached") }))
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
	v := newVerifier(t, srv, func(c *auth.Config) { c.Events = sink })
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

// TestRequirementErrors: a custom requirement's error is answered by the
// sentinel it wraps: anything wrapping ErrForbidden is a 403, with the
// reason of an *auth.Error when there is one; the text of a plain error
// never reaches the client.
func TestRequirementErrors(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	tok := srv.Mint(nil)
	tests := []struct {
		name      string
		err       error
		status    int
		challenge string
		reason    string
		detail    string
	}{
		{"wraps ErrForbidden", fmt.Errorf("%w: wrong tenant", auth.ErrForbidden), 403,
			`Bearer error="insufficient_scope", error_description="forbidden"`, "forbidden", "forbidden"},
		{"Deny", auth.Deny("wrong_tenant", "this API serves tenant t1 only"), 403,
			`Bearer error="insufficient_scope", error_description="wrong_tenant"`, "wrong_tenant", "this API serves tenant t1 only"},
		{"wrapped Deny", fmt.Errorf("tenant check: %w", auth.Deny("wrong_tenant", "t1 only")), 403,
			`Bearer error="insufficient_scope", error_description="wrong_tenant"`, "wrong_tenant", "t1 only"},
		{"Deny with a reason to clean", auth.Deny(`bad" reason`, "x"), 403,
			`Bearer error="insufficient_scope", error_description="bad__reason"`, "bad__reason", "x"},
		{"NewError step-up", auth.NewError(auth.ErrForbidden, auth.ReasonMFARequired, "step up"), 401,
			`Bearer error="insufficient_user_authentication", error_description="multi-factor authentication required"`, "mfa_required", "step up"},
		{"wraps ErrExpired", fmt.Errorf("session: %w", auth.ErrExpired), 401,
			`Bearer error="invalid_token", error_description="expired"`, "expired", "expired"},
		{"NewError ErrClaims", auth.NewError(auth.ErrClaims, "wrong_tenant_claim", "tid is not t1"), 401,
			`Bearer error="invalid_token", error_description="wrong_tenant_claim"`, "wrong_tenant_claim", "tid is not t1"},
		{"plain error", errors.New("policy engine down at 10.0.0.7"), 403,
			`Bearer error="insufficient_scope", error_description="forbidden"`, "forbidden", "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := v.Protect(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Fatal("reached") }),
				auth.RequirementFunc(func(*paved.Principal) error { return tt.err }))
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status || w.Header().Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("= %d %q, want %d %q", w.Code, w.Header().Get("WWW-Authenticate"), tt.status, tt.challenge)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body["reason"] != tt.reason || body["detail"] != tt.detail || body["status"] != float64(tt.status) {
				t.Fatalf("problem = %v, want reason %q detail %q", body, tt.reason, tt.detail)
			}
			if strings.Contains(w.Body.String(), "10.0.0.7") || strings.Contains(w.Body.String(), "wrong tenant") {
				t.Fatalf("problem echoes the error's text: %s", w.Body)
			}
		})
	}
}

// TestRequireReportsToTheVerifier: denials go to the verifier's own
// Events, and RequireMFA's control to its own Posture instance; nothing
// reaches the process-wide defaults.
func TestRequireReportsToTheVerifier(t *testing.T) {
	var defaults []paved.Event
	var mu sync.Mutex
	paved.SetDefaultSink(paved.SinkFunc(func(_ context.Context, e paved.Event) { mu.Lock(); defaults = append(defaults, e); mu.Unlock() }))
	t.Cleanup(func() { paved.SetDefaultSink(nil) })
	before := len(paved.DefaultPosture().Report().Controls)

	srv := authtest.NewServer(t, authtest.Config{})
	posture := &paved.Posture{}
	var own []paved.Event
	v := newVerifier(t, srv, func(c *auth.Config) {
		c.Posture, c.Name = posture, "orders-api"
		c.Events = paved.SinkFunc(func(_ context.Context, e paved.Event) { mu.Lock(); own = append(own, e); mu.Unlock() })
	})
	h := v.Protect(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), auth.RequireMFA("gold"))
	_ = v.Require(auth.RequireMFA()) // a second route, another setting
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+srv.Mint(map[string]any{"amr": []string{"pwd"}}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("status = %d", w.Code)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(defaults) != 0 {
		t.Fatalf("events went to the default sink: %+v", defaults)
	}
	var denied []paved.Event
	for _, e := range own {
		if e.Type == paved.EventAuthzDenied {
			denied = append(denied, e)
		}
	}
	if len(denied) != 1 || denied[0].Reason != auth.ReasonMFARequired || denied[0].Subject != authtest.DefaultSubject || denied[0].Component != auth.Component {
		t.Fatalf("denied events = %+v", denied)
	}
	var mfa *paved.Control
	for _, c := range posture.Report().Controls {
		if c.Name == "mfa-required" {
			mfa = &c
		}
	}
	if mfa == nil || mfa.Instance != "orders-api" || !mfa.Enabled || mfa.Detail != "amr mfa or two factors | amr mfa or two factors; or acr in gold" {
		t.Fatalf("mfa control = %+v", mfa)
	}
	if n := len(paved.DefaultPosture().Report().Controls); n != before {
		t.Fatalf("the default posture got %d new controls", n-before)
	}
}

// TestLoginRequire: requirements behind a Login report to its Events.
func TestLoginRequire(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	var got []paved.Event
	var mu sync.Mutex
	l, err := auth.NewLogin(context.Background(), auth.LoginConfig{
		Issuer: srv.Issuer(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURL: redirectURL,
		CookieKeys: [][]byte{key1}, HTTPClient: srv.Client(), Now: srv.Now, Logger: quiet, Posture: &paved.Posture{},
		Events: paved.SinkFunc(func(_ context.Context, e paved.Event) { mu.Lock(); got = append(got, e); mu.Unlock() }),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := appMux(l)
	mux.Handle("GET /admin", l.Protect(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), auth.RequireGroup("admins")))
	sess := signIn(t, srv, mux)
	w := serve(mux, "GET", "/admin", []*http.Cookie{sess})
	if w.Code != http.StatusForbidden {
		t.Fatalf("/admin = %d %s", w.Code, w.Body)
	}
	mu.Lock()
	defer mu.Unlock()
	last := got[len(got)-1]
	if last.Type != paved.EventAuthzDenied || last.Reason != auth.ReasonMissingGroup {
		t.Fatalf("last event = %+v", last)
	}
}

// TestEmptyBearer: "Authorization: Bearer " with nothing after it is an
// empty token, not another scheme, through a real server (which trims the
// trailing space).
func TestEmptyBearer(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	api := httptest.NewServer(v.Middleware()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("reached") })))
	defer api.Close()
	for _, h := range []string{"Bearer ", "Bearer", "bearer    ", "Basic YTpi"} {
		req, _ := http.NewRequest("GET", api.URL, nil)
		req.Header.Set("Authorization", h)
		resp, err := api.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		wantReason, wantDetail := auth.ReasonEmptyToken, "the bearer token is empty"
		if h == "Basic YTpi" {
			wantReason, wantDetail = auth.ReasonNoToken, "Authorization scheme is not Bearer"
		}
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer realm="api"` || body["reason"] != wantReason || body["detail"] != wantDetail {
			t.Fatalf("Authorization %q = %d %q %v, want 401 %s %q", h, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body, wantReason, wantDetail)
		}
	}
}
