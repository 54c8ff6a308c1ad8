package authtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	iss := s.Issuer()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/authorize",
		"token_endpoint":                                 iss + "/token",
		"userinfo_endpoint":                              iss + "/userinfo",
		"jwks_uri":                                       iss + "/jwks",
		"end_session_endpoint":                           iss + "/end_session",
		"response_types_supported":                       []string{"code"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"ES256", "RS256"},
		"scopes_supported":                               []string{"openid", "profile", "email", "offline_access"},
		"grant_types_supported":                          s.grantTypes(),
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post"},
		"authorization_response_iss_parameter_supported": true,
	})
}

func (s *Server) grantTypes() []string {
	g := []string{"authorization_code", "refresh_token", "client_credentials"}
	if !s.cfg.DisableTokenExchange {
		g = append(g, GrantTypeTokenExchange)
	}
	return g
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	s.jwksRequests.Add(1)
	s.mu.Lock()
	broken, delay := s.jwksBroken, s.jwksDelay
	set := jose.JSONWebKeySet{}
	for _, k := range s.published {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"})
	}
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			// The client gave up: drop the connection (or stream) without
			// a response. Returning would let net/http answer 200 with an
			// empty body, which is no key set a real provider serves.
			t.Stop()
			panic(http.ErrAbortHandler)
		}
	}
	if broken {
		http.Error(w, "key set unavailable", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, http.StatusOK, set)
}

func (s *Server) redirectAllowed(uri string) bool {
	if len(s.cfg.RedirectURIs) > 0 {
		return slices.Contains(s.cfg.RedirectURIs, uri)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Fragment != "" {
		return false
	}
	host := u.Hostname()
	return u.Scheme == "https" || (u.Scheme == "http" && (host == "127.0.0.1" || host == "localhost" || host == "::1"))
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirectURI := q.Get("redirect_uri")
	if q.Get("client_id") != s.cfg.ClientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	if !s.redirectAllowed(redirectURI) {
		http.Error(w, "redirect_uri not registered", http.StatusBadRequest)
		return
	}
	fail := func(code, desc string) {
		s.redirectBack(w, r, redirectURI, q.Get("state"), "error", code, "error_description", desc)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only code is supported")
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		fail("invalid_scope", "scope must include openid")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "PKCE with code_challenge_method S256 is required")
		return
	}
	s.mu.Lock()
	code := randomID(16)
	s.codes[code] = authCode{
		clientID: s.cfg.ClientID, redirectURI: redirectURI, challenge: q.Get("code_challenge"),
		nonce: q.Get("nonce"), scope: q.Get("scope"), sub: s.userSub, expires: s.nowLocked().Add(time.Minute),
	}
	s.mu.Unlock()
	s.redirectBack(w, r, redirectURI, q.Get("state"), "code", code)
}

// redirectBack sends the authorization response to redirectURI: the given
// name/value pairs, the state when there is one, and iss (RFC 9207).
func (s *Server) redirectBack(w http.ResponseWriter, r *http.Request, redirectURI, state string, kv ...string) {
	u, _ := url.Parse(redirectURI)
	v := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	if state != "" {
		v.Set("state", state)
	}
	v.Set("iss", s.Issuer())
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Server) clientAuth(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return id == s.cfg.ClientID &&
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret)) == 1
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	if !s.clientAuth(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	f := r.PostForm
	switch f.Get("grant_type") {
	case "authorization_code":
		s.mu.Lock()
		c, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code")) // single use, even when the exchange fails
		now := s.nowLocked()
		s.mu.Unlock()
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		switch {
		case !ok || now.After(c.expires):
			oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
		case c.redirectURI != f.Get("redirect_uri"):
			oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri mismatch")
		case subtle.ConstantTimeCompare([]byte(b64(sum[:])), []byte(c.challenge)) != 1:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		default:
			s.issue(w, c.sub, c.scope, c.nonce, randomID(8))
		}
	case "refresh_token":
		s.refreshRequests.Add(1)
		rt := f.Get("refresh_token")
		s.mu.Lock()
		g, ok := s.refresh[rt]
		delete(s.refresh, rt) // rotation: each refresh token works once
		reused := false
		if ok {
			s.spent[rt] = g.family
		} else if fam, spent := s.spent[rt]; spent {
			// Reuse of a rotated token (RFC 9700 section 4.14.2): someone
			// holds a copy, so the whole grant is revoked.
			reused = true
			s.reuses++
			maps.DeleteFunc(s.refresh, func(_ string, g refreshGrant) bool { return g.family == fam })
		}
		s.mu.Unlock()
		switch {
		case reused:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token already used: the grant is revoked")
		case !ok:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or used refresh token")
		default:
			s.issue(w, g.sub, g.scope, "", g.family)
		}
	case "client_credentials":
		tok, err := s.MintToken(Token{Claims: map[string]any{"sub": s.cfg.ClientID, "scope": f.Get("scope")}})
		if err != nil {
			oauthError(w, http.StatusInternalServerError, "server_error", "signing failed")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(s.cfg.TokenTTL.Seconds()), "scope": f.Get("scope")})
	case GrantTypeTokenExchange:
		if s.cfg.DisableTokenExchange {
			oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "unsupported grant_type")
			return
		}
		claims, err := s.checkOwnToken(f.Get("subject_token"))
		if err != nil || f.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:access_token" {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "subject_token is not a valid access token of this provider")
			return
		}
		aud := f.Get("audience")
		if aud == "" {
			aud = s.cfg.Audience
		}
		tok, err := s.MintToken(Token{Claims: map[string]any{
			"sub": claims["sub"], "aud": aud, "scope": f.Get("scope"), "act": map[string]any{"sub": s.cfg.ClientID},
		}})
		if err != nil {
			oauthError(w, http.StatusInternalServerError, "server_error", "signing failed")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer", "expires_in": int(s.cfg.TokenTTL.Seconds())})
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "unsupported grant_type")
	}
}

// issue answers a token request with access, ID and refresh tokens; the
// refresh token belongs to the grant family.
func (s *Server) issue(w http.ResponseWriter, sub, scope, nonce, family string) {
	s.mu.Lock()
	extra := maps.Clone(s.userClaims)
	if sub != s.userSub {
		extra = nil
	}
	s.mu.Unlock()
	ac := map[string]any{"sub": sub, "scope": scope}
	for _, k := range []string{"amr", "acr", "groups", "roles"} {
		if v, ok := extra[k]; ok {
			ac[k] = v
		}
	}
	access, err := s.MintToken(Token{Claims: ac})
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "signing failed")
		return
	}
	ic := map[string]any{"sub": sub, "aud": s.cfg.ClientID, "azp": s.cfg.ClientID, "client_id": nil, "auth_time": s.Now().Unix()}
	maps.Copy(ic, extra)
	if nonce != "" {
		ic["nonce"] = nonce
	}
	idt, err := s.MintToken(Token{Header: map[string]any{"typ": "JWT"}, Claims: ic})
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "signing failed")
		return
	}
	resp := map[string]any{"access_token": access, "id_token": idt, "token_type": "Bearer", "expires_in": int(s.cfg.TokenTTL.Seconds()), "scope": scope}
	rt := randomID(24)
	s.mu.Lock()
	s.refresh[rt] = refreshGrant{sub: sub, scope: scope, family: family}
	s.mu.Unlock()
	resp["refresh_token"] = rt
	writeJSON(w, http.StatusOK, resp)
}

// checkOwnToken verifies a token this provider issued (signature with any
// published key, iss, exp) and returns its claims.
func (s *Server) checkOwnToken(raw string) (map[string]any, error) {
	algs := []jose.SignatureAlgorithm{jose.ES256, jose.RS256}
	jws, err := jose.ParseSignedCompact(raw, algs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errors.New("malformed")
	}
	s.mu.Lock()
	keys := slices.Clone(s.published)
	now := s.nowLocked()
	s.mu.Unlock()
	for _, k := range keys {
		if k.kid != jws.Signatures[0].Header.KeyID {
			continue
		}
		payload, err := jws.Verify(k.priv.Public())
		if err != nil {
			return nil, err
		}
		var c map[string]any
		if err := json.Unmarshal(payload, &c); err != nil {
			return nil, err
		}
		exp, _ := c["exp"].(float64)
		if c["iss"] != s.Issuer() || now.Unix() > int64(exp) {
			return nil, errors.New("expired or foreign")
		}
		return c, nil
	}
	return nil, errors.New("unknown key")
}

func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	c, err := s.checkOwnToken(tok)
	if !strings.EqualFold(scheme, "Bearer") || err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "invalid access token")
		return
	}
	out := map[string]any{"sub": c["sub"]}
	s.mu.Lock()
	if c["sub"] == s.userSub {
		maps.Copy(out, s.userClaims)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if h := q.Get("id_token_hint"); h != "" {
		if _, err := s.checkOwnToken(h); err != nil && !strings.Contains(err.Error(), "expired") {
			http.Error(w, "invalid id_token_hint", http.StatusBadRequest)
			return
		}
	}
	s.mu.Lock()
	s.logouts++
	s.mu.Unlock()
	if target := q.Get("post_logout_redirect_uri"); target != "" {
		if !s.redirectAllowed(target) {
			http.Error(w, "post_logout_redirect_uri not registered", http.StatusBadRequest)
			return
		}
		u, _ := url.Parse(target)
		v := u.Query()
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "logged out\n")
}
