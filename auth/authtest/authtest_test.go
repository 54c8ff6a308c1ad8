package authtest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved/auth/authtest"
)

func TestEndpoints(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{RedirectURIs: []string{"https://app.example.test/cb"}})
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	iss := srv.Issuer()
	access := srv.Mint(nil)
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name     string
		method   string
		path     string
		form     url.Values
		basic    bool
		bearer   string
		status   int
		contains string
	}{
		{"discovery", "GET", "/.well-known/openid-configuration", nil, false, "", 200, `"authorization_response_iss_parameter_supported":true`},
		{"jwks", "GET", "/jwks", nil, false, "", 200, `"kty":"EC"`},
		{"authorize unknown client", "GET", "/authorize?client_id=x&redirect_uri=https://app.example.test/cb", nil, false, "", 400, "unknown client_id"},
		{"authorize unregistered redirect", "GET", "/authorize?client_id=" + srv.ClientID() + "&redirect_uri=https://evil.example/cb", nil, false, "", 400, "not registered"},
		{"authorize without PKCE", "GET", "/authorize?client_id=" + srv.ClientID() + "&redirect_uri=https://app.example.test/cb&response_type=code&scope=openid&state=s", nil, false, "", 302, ""},
		{"token bad client", "POST", "/token", form("grant_type", "client_credentials", "client_id", "x", "client_secret", "y"), false, "", 401, "invalid_client"},
		{"token unsupported grant", "POST", "/token", form("grant_type", "password"), true, "", 400, "unsupported_grant_type"},
		{"token unknown code", "POST", "/token", form("grant_type", "authorization_code", "code", "nope"), true, "", 400, "invalid_grant"},
		{"token unknown refresh", "POST", "/token", form("grant_type", "refresh_token", "refresh_token", "nope"), true, "", 400, "invalid_grant"},
		{"client credentials post", "POST", "/token", form("grant_type", "client_credentials", "client_id", srv.ClientID(), "client_secret", srv.ClientSecret(), "scope", "a b"), false, "", 200, `"access_token"`},
		{"token exchange", "POST", "/token", form("grant_type", authtest.GrantTypeTokenExchange, "subject_token", access, "subject_token_type", "urn:ietf:params:oauth:token-type:access_token", "audience", "x"), true, "", 200, `"issued_token_type"`},
		{"token exchange forged", "POST", "/token", form("grant_type", authtest.GrantTypeTokenExchange, "subject_token", "a.b.c", "subject_token_type", "urn:ietf:params:oauth:token-type:access_token"), true, "", 400, "invalid_grant"},
		{"userinfo", "GET", "/userinfo", nil, false, access, 200, `"sub":"alice"`},
		{"userinfo no token", "GET", "/userinfo", nil, false, "", 401, "invalid_token"},
		{"end session", "GET", "/end_session", nil, false, "", 200, "logged out"},
		{"end session bad redirect", "GET", "/end_session?post_logout_redirect_uri=https://evil.example/", nil, false, "", 400, "not registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.form != nil {
				body = strings.NewReader(tt.form.Encode())
			}
			req, _ := http.NewRequest(tt.method, iss+tt.path, body)
			if tt.form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tt.basic {
				req.SetBasicAuth(srv.ClientID(), srv.ClientSecret())
			}
			if tt.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.contains) {
				t.Fatalf("%s %s = %d %s, want %d containing %q", tt.method, tt.path, resp.StatusCode, b, tt.status, tt.contains)
			}
			if tt.name == "authorize without PKCE" {
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "s" || loc.Query().Get("iss") != iss {
					t.Fatalf("redirect = %s", loc)
				}
			}
		})
	}
}

func TestClockAndKeys(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := authtest.NewServer(t, authtest.Config{Now: func() time.Time { return t0 }})
	if !srv.Now().Equal(t0) {
		t.Fatalf("Now = %v", srv.Now())
	}
	srv.Advance(time.Hour)
	if !srv.Now().Equal(t0.Add(time.Hour)) {
		t.Fatalf("after Advance: %v", srv.Now())
	}
	tok := srv.Mint(nil)
	var claims map[string]any
	seg := strings.Split(tok, ".")[1]
	b, _ := base64URL(seg)
	_ = json.Unmarshal(b, &claims)
	if claims["iat"] != float64(t0.Add(time.Hour).Unix()) {
		t.Fatalf("iat = %v", claims["iat"])
	}
	es1, rs1 := srv.KeyIDs()
	srv.RotateKeys()
	es2, rs2 := srv.KeyIDs()
	if es1 == es2 || rs1 == rs2 {
		t.Fatal("RotateKeys kept the kids")
	}
	count := func() int {
		resp, err := srv.Client().Get(srv.Issuer() + "/jwks")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct{ Keys []any }
		_ = json.NewDecoder(resp.Body).Decode(&set)
		return len(set.Keys)
	}
	if n := count(); n != 4 {
		t.Fatalf("after rotation %d keys published, want 4", n)
	}
	srv.RetireKeys()
	if n := count(); n != 2 {
		t.Fatalf("after retiring %d keys published, want 2", n)
	}
	srv.SetJWKSBroken(true)
	resp, err := srv.Client().Get(srv.Issuer() + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || srv.JWKSRequests() != 3 {
		t.Fatalf("broken JWKS = %d after %d requests", resp.StatusCode, srv.JWKSRequests())
	}
	srv.SetJWKSBroken(false)
	// A slow key set answers nothing to a client that gives up first: not
	// a 200 with an empty body. The delay is far longer than any
	// scheduling hiccup, so the client always gives up first.
	srv.SetJWKSDelay(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.Issuer()+"/jwks", nil)
	// The client's error may be its deadline or the dropped connection,
	// whichever it sees first; what it must never see is a response.
	if resp, err := srv.Client().Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("slow JWKS answered %d %q to a client that gave up", resp.StatusCode, b)
	}
	// Once the delay has passed the key set answers in full.
	srv.SetJWKSDelay(10 * time.Millisecond)
	if n := count(); n != 2 {
		t.Fatalf("delayed JWKS has %d keys, want 2", n)
	}
	if !strings.Contains(string(srv.CACertPEM()), "BEGIN CERTIFICATE") || srv.CertPool() == nil {
		t.Fatal("certificate accessors")
	}
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
