package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/httpx"
)

// tokenRewriter lets a test change the provider's token responses (and
// answer refresh grants itself), as a provider that behaves differently
// from authtest would.
type tokenRewriter struct {
	base http.RoundTripper
	// rewrite edits the JSON body of a successful token response to a
	// grant_type grant; nil leaves it.
	rewrite func(grant string, body map[string]any)
	// refuseRefresh answers every refresh grant with 400 invalid_grant.
	refuseRefresh bool
	// beforeRefresh, when set, runs before a refresh grant is forwarded.
	beforeRefresh func()
}

func (tr *tokenRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	grant := ""
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") && r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		f, _ := url.ParseQuery(string(b))
		grant = f.Get("grant_type")
	}
	if grant == "refresh_token" {
		if tr.beforeRefresh != nil {
			tr.beforeRefresh()
		}
		if tr.refuseRefresh {
			return jsonResponse(r, http.StatusBadRequest, map[string]any{"error": "invalid_grant"}), nil
		}
	}
	resp, err := tr.base.RoundTrip(r)
	if err != nil || grant == "" || tr.rewrite == nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	tr.rewrite(grant, body)
	return jsonResponse(r, http.StatusOK, body), nil
}

func jsonResponse(r *http.Request, status int, body any) *http.Response {
	b, _ := json.Marshal(body)
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b)), Request: r}
}

// recorder collects log records and events.
type recorder struct {
	mu     sync.Mutex
	logs   []slog.Record
	events []paved.Event
}

func (rc *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (rc *recorder) Handle(_ context.Context, r slog.Record) error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.logs = append(rc.logs, r)
	return nil
}
func (rc *recorder) WithAttrs([]slog.Attr) slog.Handler { return rc }
func (rc *recorder) WithGroup(string) slog.Handler      { return rc }
func (rc *recorder) sink() paved.Sink {
	return paved.SinkFunc(func(_ context.Context, e paved.Event) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.events = append(rc.events, e)
	})
}

// logsContaining returns the records whose message contains s.
func (rc *recorder) logsContaining(s string) []slog.Record {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []slog.Record
	for _, r := range rc.logs {
		if strings.Contains(r.Message, s) {
			out = append(out, r)
		}
	}
	return out
}

// eventsOf returns the events of type typ, each as "reason attr=value...".
func (rc *recorder) eventsOf(typ paved.EventType, attrs ...string) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, e := range rc.events {
		if e.Type != typ {
			continue
		}
		s := e.Reason
		for _, a := range e.Attrs {
			if slices.Contains(attrs, a.Key) {
				s += " " + a.Key + "=" + a.Value.String()
			}
		}
		out = append(out, s)
	}
	return out
}

// loginCfg is newLogin's configuration, to modify.
func loginCfg(srv *authtest.Server) auth.LoginConfig {
	return auth.LoginConfig{
		Issuer: srv.Issuer(), ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURL: redirectURL,
		CookieKeys: [][]byte{key1}, HTTPClient: srv.Client(), Now: srv.Now, Logger: quiet, Posture: &paved.Posture{},
		PostLogoutRedirectURL: "https://app.example.test/bye", Events: paved.NopSink{}, Scopes: offline,
	}
}

func mustLogin(t *testing.T, cfg auth.LoginConfig) *auth.Login {
	t.Helper()
	l, err := auth.NewLogin(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// authorizeQuery runs /login (with query q) and returns the parameters of
// the authorization request.
func authorizeQuery(t *testing.T, mux http.Handler, q string) url.Values {
	t.Helper()
	w := serve(mux, "GET", "/login?"+q, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("/login = %d", w.Code)
	}
	u, err := url.Parse(w.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// TestOfflineAccessAsksForConsent: offline_access goes with prompt=consent
// (OpenID Connect Core 11: without it the provider must ignore
// offline_access), added to a prompt the service set; the default login
// asks for neither.
func TestOfflineAccessAsksForConsent(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	tests := []struct {
		name       string
		scopes     []string
		prompt     string
		wantPrompt string
		wantScope  string
	}{
		{"default", nil, "", "", "openid profile email"},
		{"offline_access", offline, "", "consent", "openid profile email offline_access"},
		{"offline_access with prompt login", offline, "login", "login consent", "openid profile email offline_access"},
		{"offline_access with consent already", []string{"openid", "offline_access"}, "select_account consent", "select_account consent", "openid offline_access"},
		{"prompt login without offline_access", nil, "login", "login", "openid profile email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loginCfg(srv)
			cfg.Scopes = tt.scopes
			if tt.prompt != "" {
				cfg.AuthParams = url.Values{"prompt": {tt.prompt}}
			}
			q := authorizeQuery(t, appMux(mustLogin(t, cfg)), "return_to=/app")
			if q.Get("prompt") != tt.wantPrompt || q.Get("scope") != tt.wantScope || len(q["prompt"]) > 1 {
				t.Fatalf("authorization request prompt %q scope %q, want prompt %q scope %q", q["prompt"], q.Get("scope"), tt.wantPrompt, tt.wantScope)
			}
		})
	}
	// The caller's AuthParams are not changed.
	cfg := loginCfg(srv)
	cfg.AuthParams = url.Values{"prompt": {"login"}}
	mustLogin(t, cfg)
	if cfg.AuthParams.Get("prompt") != "login" {
		t.Fatalf("NewLogin changed the caller's AuthParams: %v", cfg.AuthParams)
	}
}

// TestAuthParams: a service adds authorization parameters, LoginHandler
// passes a login_hint on, and parameters that would break the flow are
// refused, every one at once.
func TestAuthParams(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	cfg := loginCfg(srv)
	cfg.AuthParams = url.Values{
		"max_age": {"300"}, "acr_values": {"urn:example:mfa"}, "ui_locales": {"fr"},
		"resource": {"https://a.example/", "https://b.example/"}, "audience": {"orders-api"},
	}
	mux := appMux(mustLogin(t, cfg))
	q := authorizeQuery(t, mux, "return_to=/app&login_hint=alice%40example.test")
	for k, want := range map[string][]string{
		"max_age": {"300"}, "acr_values": {"urn:example:mfa"}, "ui_locales": {"fr"}, "audience": {"orders-api"},
		"resource": {"https://a.example/", "https://b.example/"}, "login_hint": {"alice@example.test"},
		"prompt": {"consent"}, "response_type": {"code"}, "client_id": {srv.ClientID()}, "code_challenge_method": {"S256"},
	} {
		if !slices.Equal(q[k], want) {
			t.Errorf("authorization request %s = %q, want %q", k, q[k], want)
		}
	}
	for _, hint := range []string{"a%0Ab", strings.Repeat("x", 257), "%FF"} {
		if q := authorizeQuery(t, mux, "login_hint="+hint); q.Has("login_hint") {
			t.Errorf("login_hint %q was passed on as %q", hint, q.Get("login_hint"))
		}
	}
	// The whole flow works with them.
	if w := serve(mux, "GET", "/app", []*http.Cookie{signIn(t, srv, mux)}); w.Code != http.StatusOK {
		t.Fatalf("/app after sign-in with AuthParams = %d", w.Code)
	}

	bad := loginCfg(srv)
	bad.AuthParams = url.Values{
		"state": {"x"}, "nonce": {"x"}, "scope": {"openid admin"}, "redirect_uri": {"https://evil.example/"},
		"response_type": {"token"}, "response_mode": {"fragment"}, "client_id": {"other"}, "code_challenge": {"x"},
		"code_challenge_method": {"plain"}, "request_uri": {"urn:x"}, "request": {"eyJ"},
		"prompt": {"none login"}, "max_age": {"-5"}, "acr_values": {"a", "b"}, "ui_locales": {""},
	}
	_, err := auth.NewLogin(context.Background(), bad)
	var fields []string
	for _, ce := range paved.ConfigErrors(err) {
		fields = append(fields, ce.Field)
	}
	want := []string{}
	for _, k := range []string{"acr_values", "client_id", "code_challenge", "code_challenge_method", "max_age", "nonce", "prompt", "redirect_uri", "request", "request_uri", "response_mode", "response_type", "scope", "state", "ui_locales"} {
		want = append(want, `LoginConfig.AuthParams["`+k+`"]`)
	}
	if !slices.Equal(fields, want) {
		t.Fatalf("NewLogin errors on\n%v\nwant\n%v", fields, want)
	}
	for _, tt := range []struct {
		name    string
		params  url.Values
		problem string
	}{
		{"unknown prompt", url.Values{"prompt": {"login bogus"}}, `"bogus" is not a prompt value`},
		{"offline_access with prompt none", url.Values{"prompt": {"none"}}, "offline_access"},
		{"max_age not a number", url.Values{"max_age": {"1h"}}, "not a whole number"},
	} {
		c := loginCfg(srv)
		c.AuthParams = tt.params
		_, err := auth.NewLogin(context.Background(), c)
		ces := paved.ConfigErrors(err)
		if len(ces) != 1 || !strings.Contains(ces[0].Problem, tt.problem) {
			t.Errorf("%s: NewLogin = %v, want one error saying %q", tt.name, err, tt.problem)
		}
	}
}

// TestMaxAge: with max_age in AuthParams, the ID token of the sign-in
// must carry an auth_time no older (OpenID Connect Core 3.1.2.1).
func TestMaxAge(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	for _, tt := range []struct {
		name     string
		authTime any // nil: authtest's, the time of the sign-in
		drop     bool
		status   int
		reason   string
	}{
		{"fresh sign-in", nil, false, http.StatusSeeOther, ""},
		{"sign-in an hour ago", srv.Now().Add(-time.Hour).Unix(), false, http.StatusUnauthorized, auth.ReasonMaxAgeExceeded},
		{"no auth_time", nil, true, http.StatusUnauthorized, auth.ReasonMaxAgeExceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var nonce string
			client := srv.Client()
			client.Transport = &tokenRewriter{base: client.Transport, rewrite: func(grant string, body map[string]any) {
				if grant != "authorization_code" || (tt.authTime == nil && !tt.drop) {
					return
				}
				c := map[string]any{"nonce": nonce, "auth_time": tt.authTime}
				body["id_token"] = srv.MintIDToken(c)
			}}
			cfg := loginCfg(srv)
			cfg.HTTPClient = client
			cfg.AuthParams = url.Values{"max_age": {"600"}}
			mux := appMux(mustLogin(t, cfg))
			flow, authURL := startLogin(t, mux)
			u, _ := url.Parse(authURL)
			nonce = u.Query().Get("nonce")
			w := serve(mux, "GET", authorize(t, srv, authURL), []*http.Cookie{flow})
			if w.Code != tt.status || (tt.reason != "" && problemReason(t, w) != tt.reason) {
				t.Fatalf("callback = %d %s, want %d %s", w.Code, w.Body, tt.status, tt.reason)
			}
		})
	}
}

// TestNoRefreshTokenSignsInAgain: a provider that issues no refresh token
// (a strict one, without offline_access) gives a session that lasts as
// long as its access token. The sign-in says so in the log and its event;
// when the access token ends, a navigation is sent to sign in again and an
// XHR gets 401 session_expired.
func TestNoRefreshTokenSignsInAgain(t *testing.T) {
	for _, scopes := range [][]string{nil, offline} {
		name := "default scopes"
		if scopes != nil {
			name = "offline_access not granted"
		}
		t.Run(name, func(t *testing.T) {
			srv := authtest.NewServer(t, authtest.Config{})
			rec := &recorder{}
			client := srv.Client()
			client.Transport = &tokenRewriter{base: client.Transport, rewrite: func(_ string, body map[string]any) { delete(body, "refresh_token") }}
			cfg := loginCfg(srv)
			cfg.Scopes, cfg.HTTPClient, cfg.Logger, cfg.Events = scopes, client, slog.New(rec), rec.sink()
			mux := appMux(mustLogin(t, cfg))
			sess := signIn(t, srv, mux)
			logs := rec.logsContaining("no refresh token")
			wantLevel := slog.LevelInfo
			if scopes != nil {
				wantLevel = slog.LevelWarn
			}
			if len(logs) != 1 || logs[0].Level != wantLevel {
				t.Fatalf("sign-in without a refresh token logged %d records (%v), want one at %v", len(logs), logs, wantLevel)
			}
			if got := rec.eventsOf(paved.EventAuthnSuccess, "refresh_token"); !slices.Equal(got, []string{" refresh_token=false"}) {
				t.Fatalf("sign-in events = %q, want one saying refresh_token=false", got)
			}
			if w := serve(mux, "GET", "/app", []*http.Cookie{sess}); w.Code != http.StatusOK {
				t.Fatalf("/app = %d", w.Code)
			}
			srv.Advance(authtest.DefaultTokenTTL)
			w := serve(mux, "GET", "/app?x=1", []*http.Cookie{sess}, "Sec-Fetch-Mode", "navigate", "Accept", "text/html")
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?return_to=%2Fapp%3Fx%3D1" {
				t.Fatalf("navigation after the access token = %d %q, want 303 to sign in", w.Code, w.Header().Get("Location"))
			}
			if c := cookie(t, w, auth.SessionCookie); c.MaxAge >= 0 {
				t.Fatalf("session cookie not cleared: %+v", c)
			}
			w = serve(mux, "GET", "/app", []*http.Cookie{sess}, "Sec-Fetch-Mode", "cors", "Accept", "application/json")
			if w.Code != http.StatusUnauthorized || problemReason(t, w) != auth.ReasonSessionExpired || w.Header().Get("Location") != "" {
				t.Fatalf("XHR after the access token = %d %s, want 401 session_expired", w.Code, w.Body)
			}
			if got := rec.eventsOf(paved.EventSessionEnded, "ended_by"); len(got) == 0 || got[0] != "expired ended_by=access_token" {
				t.Fatalf("session-ended events = %q, want expired ended_by=access_token", got)
			}
			// Signing in again works, and an XHR without any session is
			// told there is none.
			if w := serve(mux, "GET", "/app", []*http.Cookie{signIn(t, srv, mux)}); w.Code != http.StatusOK {
				t.Fatalf("/app after signing in again = %d", w.Code)
			}
			if w := serve(mux, "GET", "/app", nil, "Accept", "application/json"); problemReason(t, w) != auth.ReasonNoSession {
				t.Fatalf("XHR without a session = %d %s", w.Code, w.Body)
			}
		})
	}
}

// TestRefreshFailedEndsSession: a refresh the provider refuses ends the
// session with EventSessionEnded reason refresh_failed (outcome failure,
// its cause) and a 401 session_expired.
func TestRefreshFailedEndsSession(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	rec := &recorder{}
	client := srv.Client()
	client.Transport = &tokenRewriter{base: client.Transport, refuseRefresh: true}
	cfg := loginCfg(srv)
	cfg.HTTPClient, cfg.Events = client, rec.sink()
	mux := appMux(mustLogin(t, cfg))
	sess := signIn(t, srv, mux)
	srv.Advance(authtest.DefaultTokenTTL)
	w := serve(mux, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json")
	if w.Code != http.StatusUnauthorized || problemReason(t, w) != auth.ReasonSessionExpired {
		t.Fatalf("refused refresh = %d %s, want 401 session_expired", w.Code, w.Body)
	}
	if got := rec.eventsOf(paved.EventSessionEnded, "cause"); !slices.Equal(got, []string{"refresh_failed cause=refresh_refused"}) {
		t.Fatalf("session-ended events = %q", got)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.events {
		if e.Type == paved.EventSessionEnded && (e.Outcome != paved.OutcomeFailure || e.Subject != authtest.DefaultSubject) {
			t.Fatalf("event %+v, want outcome failure for alice", e)
		}
	}
}

// TestLogoutCrossOriginAnswer: LogoutHandler refuses a cross-origin logout
// with the answer httpx's cross-origin protection gives.
func TestLogoutCrossOriginAnswer(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	rec := &recorder{}
	cfg := loginCfg(srv)
	cfg.Events = rec.sink()
	logout := mustLogin(t, cfg).LogoutHandler()
	co, err := httpx.CrossOrigin(nil, paved.NopSink{})
	if err != nil {
		t.Fatal(err)
	}
	protected := co(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Fatal("cross-origin request reached the handler") }))
	want := map[string]any{"status": 403.0, "title": "Forbidden", "detail": "cross-origin request rejected", "reason": "cross_origin"}
	for _, hdr := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		wa := serve(logout, "POST", "/logout", nil, hdr...)
		wh := serve(protected, "POST", "/logout", nil, hdr...)
		var a, h map[string]any
		_ = json.Unmarshal(wa.Body.Bytes(), &a)
		_ = json.Unmarshal(wh.Body.Bytes(), &h)
		if wa.Code != 403 || wa.Header().Get("Content-Type") != httpx.ContentTypeProblem || !mapsEqual(a, want) {
			t.Fatalf("LogoutHandler (%v) = %d %s %s, want 403 problem+json %v", hdr, wa.Code, wa.Header().Get("Content-Type"), wa.Body, want)
		}
		if wh.Code != wa.Code || wh.Header().Get("Content-Type") != wa.Header().Get("Content-Type") || !mapsEqual(h, a) {
			t.Fatalf("httpx answers %d %s, LogoutHandler %d %s: want one answer", wh.Code, wh.Body, wa.Code, wa.Body)
		}
	}
	if got := rec.eventsOf(paved.EventOriginRejected); !slices.Equal(got, []string{"cross_origin", "cross_origin"}) {
		t.Fatalf("origin-rejected events = %q", got)
	}
}

func mapsEqual(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// TestLogoutEndsTheGrace: a copy of the cookie from before a renewal does
// not bring the session back after logout through the renewal grace, and
// its refresh token is not spent again.
func TestLogoutEndsTheGrace(t *testing.T) {
	for _, via := range []string{"renewed cookie", "previous cookie"} {
		t.Run("logout with the "+via, func(t *testing.T) {
			srv := authtest.NewServer(t, authtest.Config{})
			mux := appMux(newLogin(t, srv))
			old := signIn(t, srv, mux)
			srv.Advance(authtest.DefaultTokenTTL) // the next request renews
			w := serve(mux, "GET", "/app", []*http.Cookie{old})
			if w.Code != http.StatusOK {
				t.Fatalf("renewal = %d", w.Code)
			}
			renewed := cookie(t, w, auth.SessionCookie)
			out := renewed
			if via == "previous cookie" {
				out = old
			}
			if w := serve(mux, "POST", "/logout", []*http.Cookie{out}); w.Code != http.StatusSeeOther {
				t.Fatalf("logout = %d", w.Code)
			}
			srv.Advance(2 * time.Second) // within the grace
			w = serve(mux, "GET", "/app", []*http.Cookie{old}, "Accept", "application/json")
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("previous cookie after logout = %d %s (cookies %v), want 401", w.Code, w.Body, w.Header()["Set-Cookie"])
			}
			for _, c := range w.Result().Cookies() {
				if c.Name == auth.SessionCookie && c.MaxAge >= 0 {
					t.Fatalf("previous cookie after logout got a session cookie: %+v", c)
				}
			}
			if srv.RefreshRequests() != 1 || srv.RefreshReuses() != 0 {
				t.Fatalf("refresh requests %d, reuses %d; want 1 and 0", srv.RefreshRequests(), srv.RefreshReuses())
			}
		})
	}
}

// testLogoutRevokesCopies: with a session store, a copy of the cookie
// stops at logout: a copy taken at sign-in, one from before a renewal
// (within the grace), and a renewal that was running when the user
// logged out, whose result must not be saved back.
func testLogoutRevokesCopies(t *testing.T, store auth.SessionStore, count func() int) {
	srv := authtest.NewServer(t, authtest.Config{})
	cfg := loginCfg(srv)
	cfg.Store = store
	mux := appMux(mustLogin(t, cfg))
	json := []string{"Accept", "application/json"}

	t.Run("copy from sign-in", func(t *testing.T) {
		c := signIn(t, srv, mux)
		copied := *c
		if w := serve(mux, "POST", "/logout", []*http.Cookie{c}); w.Code != http.StatusSeeOther {
			t.Fatalf("logout = %d", w.Code)
		}
		if w := serve(mux, "GET", "/app", []*http.Cookie{&copied}, json...); w.Code != http.StatusUnauthorized {
			t.Fatalf("copied cookie after logout = %d, want 401 at once", w.Code)
		}
	})
	t.Run("copy from before a renewal", func(t *testing.T) {
		old := signIn(t, srv, mux)
		srv.Advance(authtest.DefaultTokenTTL)
		w := serve(mux, "GET", "/app", []*http.Cookie{old})
		if w.Code != http.StatusOK {
			t.Fatalf("renewal = %d", w.Code)
		}
		if w := serve(mux, "POST", "/logout", []*http.Cookie{cookie(t, w, auth.SessionCookie)}); w.Code != http.StatusSeeOther {
			t.Fatalf("logout = %d", w.Code)
		}
		srv.Advance(2 * time.Second)
		if w := serve(mux, "GET", "/app", []*http.Cookie{old}, json...); w.Code != http.StatusUnauthorized {
			t.Fatalf("previous cookie after logout, within the grace = %d, want 401", w.Code)
		}
	})
	t.Run("renewal running at logout", func(t *testing.T) {
		entered, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		client := srv.Client()
		client.Transport = &tokenRewriter{base: client.Transport, beforeRefresh: func() {
			once.Do(func() { close(entered) })
			<-release
		}}
		c2 := cfg
		c2.HTTPClient = client
		mux := appMux(mustLogin(t, c2))
		c := signIn(t, srv, mux)
		srv.Advance(authtest.DefaultTokenTTL)
		done := make(chan int)
		go func() { done <- serve(mux, "GET", "/app", []*http.Cookie{c}, json...).Code }()
		select {
		case <-entered:
		case code := <-done:
			t.Fatalf("request = %d without asking for a refresh", code)
		}
		if w := serve(mux, "POST", "/logout", []*http.Cookie{c}); w.Code != http.StatusSeeOther {
			t.Fatalf("logout = %d", w.Code)
		}
		close(release)
		if code := <-done; code != http.StatusUnauthorized {
			t.Fatalf("request whose renewal ran across the logout = %d, want 401", code)
		}
		if count != nil && count() != 0 {
			t.Fatalf("store holds %d sessions after logout", count())
		}
		if w := serve(mux, "GET", "/app", []*http.Cookie{c}, json...); w.Code != http.StatusUnauthorized {
			t.Fatalf("cookie after logout = %d, want 401", w.Code)
		}
	})
}

func TestLogoutRevokesCopiesInStore(t *testing.T) {
	store := &memStore{m: map[string][]byte{}}
	testLogoutRevokesCopies(t, store, store.len)
}

// revocationProvider adds an RFC 7009 revocation endpoint to authtest:
// discovery advertises it and this transport answers it, recording each
// request, and it records the refresh tokens the token endpoint issues.
type revocationProvider struct {
	base http.RoundTripper

	mu      sync.Mutex
	issued  []string     // refresh tokens from the token endpoint
	revoked []url.Values // forms posted to /revoke
	auth    []string     // their Basic client IDs
}

func (rp *revocationProvider) RoundTrip(r *http.Request) (*http.Response, error) {
	switch {
	case r.URL.Path == "/revoke":
		b, _ := io.ReadAll(r.Body)
		f, _ := url.ParseQuery(string(b))
		id, _, _ := r.BasicAuth()
		rp.mu.Lock()
		rp.revoked, rp.auth = append(rp.revoked, f), append(rp.auth, id)
		rp.mu.Unlock()
		return jsonResponse(r, http.StatusOK, map[string]any{}), nil
	case strings.HasSuffix(r.URL.Path, "/openid-configuration"), strings.HasSuffix(r.URL.Path, "/token"):
		resp, err := rp.base.RoundTrip(r)
		if err != nil || resp.StatusCode != http.StatusOK {
			return resp, err
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if rt, ok := body["refresh_token"].(string); ok {
			rp.mu.Lock()
			rp.issued = append(rp.issued, rt)
			rp.mu.Unlock()
		}
		if iss, ok := body["issuer"].(string); ok {
			body["revocation_endpoint"] = iss + "/revoke"
		}
		return jsonResponse(r, http.StatusOK, body), nil
	}
	return rp.base.RoundTrip(r)
}

// TestLogoutRevokesRefreshToken: when the provider has a revocation
// endpoint, logout revokes the session's refresh token (RFC 7009), so a
// copy of a sealed cookie cannot renew the session after it.
func TestLogoutRevokesRefreshToken(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	client := srv.Client()
	rp := &revocationProvider{base: client.Transport}
	client.Transport = rp
	cfg := loginCfg(srv)
	cfg.HTTPClient = client
	mux := appMux(mustLogin(t, cfg))
	sess := signIn(t, srv, mux)
	srv.Advance(authtest.DefaultTokenTTL)
	w := serve(mux, "GET", "/app", []*http.Cookie{sess})
	if w.Code != http.StatusOK {
		t.Fatalf("renewal = %d", w.Code)
	}
	if w := serve(mux, "POST", "/logout", []*http.Cookie{cookie(t, w, auth.SessionCookie)}); w.Code != http.StatusSeeOther {
		t.Fatalf("logout = %d", w.Code)
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if len(rp.issued) != 2 || len(rp.revoked) != 1 {
		t.Fatalf("issued %d refresh tokens, revoked %d; want 2 and 1", len(rp.issued), len(rp.revoked))
	}
	if f := rp.revoked[0]; f.Get("token") != rp.issued[1] || f.Get("token_type_hint") != "refresh_token" || rp.auth[0] != srv.ClientID() {
		t.Fatalf("revocation request %v (client %q), want the current refresh token with the client's credentials", f, rp.auth[0])
	}
}

// TestLogoutDuringRenewalRevokesBoth: a renewal still running when the
// user logs out gets a new refresh token after the logout revoked the
// previous one; that new one is revoked too, and its session refused.
func TestLogoutDuringRenewalRevokesBoth(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	client := srv.Client()
	rp := &revocationProvider{base: client.Transport}
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	client.Transport = &tokenRewriter{base: rp, beforeRefresh: func() {
		once.Do(func() { close(entered) })
		<-release
	}}
	cfg := loginCfg(srv)
	cfg.HTTPClient = client
	mux := appMux(mustLogin(t, cfg))
	sess := signIn(t, srv, mux)
	srv.Advance(authtest.DefaultTokenTTL)
	done := make(chan int)
	go func() { done <- serve(mux, "GET", "/app", []*http.Cookie{sess}, "Accept", "application/json").Code }()
	select {
	case <-entered:
	case code := <-done:
		t.Fatalf("request = %d without asking for a refresh", code)
	}
	if w := serve(mux, "POST", "/logout", []*http.Cookie{sess}); w.Code != http.StatusSeeOther {
		t.Fatalf("logout = %d", w.Code)
	}
	close(release)
	if code := <-done; code != http.StatusUnauthorized {
		t.Fatalf("request whose renewal ran across the logout = %d, want 401", code)
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	var revoked []string
	for _, f := range rp.revoked {
		revoked = append(revoked, f.Get("token"))
	}
	if len(rp.issued) != 2 || !slices.Equal(revoked, rp.issued) {
		t.Fatalf("issued %d refresh tokens, revoked %d of them in order: %v", len(rp.issued), len(revoked), slices.Equal(revoked, rp.issued))
	}
}
