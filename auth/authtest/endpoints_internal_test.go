package authtest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSlowJWKSGivesNoResponseToAGoneClient: when the client of a delayed
// key set has gone, the handler aborts (no response at all) instead of
// returning, which net/http would answer with 200 and an empty body.
func TestSlowJWKSGivesNoResponseToAGoneClient(t *testing.T) {
	s := NewServer(t, Config{})
	s.SetJWKSDelay(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("handler ended with %v, want panic(http.ErrAbortHandler)", v)
		}
		if w.Body.Len() != 0 || len(w.Header()) != 0 {
			t.Fatalf("handler wrote %d bytes and headers %v before aborting", w.Body.Len(), w.Header())
		}
	}()
	s.handleJWKS(w, httptest.NewRequestWithContext(ctx, "GET", "/jwks", nil))
	t.Fatalf("handler returned normally: net/http would send %d with %d bytes", w.Code, w.Body.Len())
}

func tokenRequest(s *Server, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(s.cfg.ClientID, s.cfg.ClientSecret)
	w := httptest.NewRecorder()
	s.handleToken(w, r)
	return w
}

// TestReuseRevokesTokenMintedMeanwhile: a refresh token minted for a
// family while a reuse of the family's previous token revokes it must not
// survive (the interleaving of two concurrent refreshes, run in order).
func TestReuseRevokesTokenMintedMeanwhile(t *testing.T) {
	s := NewServer(t, Config{})
	g := grant{sub: DefaultSubject, scope: "openid " + scopeOfflineAccess, family: "F", auth: s.Now()}
	s.mu.Lock()
	s.spent["old"] = "F" // spent by a refresh whose issue has not run yet
	s.mu.Unlock()
	if w := tokenRequest(s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"old"}}); w.Code != http.StatusBadRequest {
		t.Fatalf("reuse = %d", w.Code)
	}
	w := httptest.NewRecorder()
	s.issue(w, g, "") // the first refresh's answer, after the revocation
	s.mu.Lock()
	n := len(s.refresh)
	s.mu.Unlock()
	if w.Code != http.StatusBadRequest || n != 0 {
		t.Fatalf("issue for a revoked family = %d %s with %d live refresh tokens, want 400 and none", w.Code, w.Body, n)
	}
}

// TestCodeReuseRevokesItsTokens: RFC 6749 section 4.1.2: a second use of
// an authorization code revokes the tokens issued for it.
func TestCodeReuseRevokesItsTokens(t *testing.T) {
	s := NewServer(t, Config{})
	verifier := "a-verifier-of-at-least-forty-three-characters-long"
	sum := sha256.Sum256([]byte(verifier))
	now := s.Now()
	s.mu.Lock()
	s.codes["c"] = authCode{grant: grant{sub: DefaultSubject, scope: "openid " + scopeOfflineAccess, family: "F", auth: now},
		clientID: s.cfg.ClientID, redirectURI: DefaultRedirectURI, challenge: b64(sum[:]), expires: now.Add(time.Minute)}
	s.mu.Unlock()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "redirect_uri": {DefaultRedirectURI}, "code_verifier": {verifier}}
	w := tokenRequest(s, form)
	var resp struct {
		RefreshToken string `json:"refresh_token"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &resp) != nil || resp.RefreshToken == "" {
		t.Fatalf("exchange = %d %s", w.Code, w.Body)
	}
	if w := tokenRequest(s, form); w.Code != http.StatusBadRequest {
		t.Fatalf("second exchange = %d", w.Code)
	}
	if w := tokenRequest(s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {resp.RefreshToken}}); w.Code != http.StatusBadRequest {
		t.Fatalf("refresh token of a reused code = %d %s, want 400", w.Code, w.Body)
	}
}
