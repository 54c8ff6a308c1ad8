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
	prompts := strings.Fields(q.Get("prompt"))
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
	case slices.Contains(prompts, "none") && len(prompts) > 1:
		// OpenID Connect Core 3.1.2.1.
		fail("invalid_request", "prompt none cannot be combined with other values")
		return
	}
	s.mu.Lock()
	now := s.nowLocked()
	code := randomID(16)
	s.codes[code] = authCode{
		grant:    grant{sub: s.userSub, scope: s.grantedScope(q.Get("scope"), prompts), family: randomID(8), auth: now},
		clientID: s.cfg.ClientID, redirectURI: redirectURI, challenge: q.Get("code_challenge"),
		nonce: q.Get("nonce"), expires: now.Add(time.Minute),
	}
	s.mu.Unlock()
	s.redirectBack(w, r, redirectURI, q.Get("state"), "code", code)
}

// grantedScope is the scope a sign-in grants for the requested one: all of
// it, except offline_access without prompt=consent, which OpenID Connect
// Core section 11 tells the provider to ignore (unless
// Config.LenientOfflineAccess).
func (s *Server) grantedScope(requested string, prompts []string) string {
	if s.cfg.LenientOfflineAccess || slices.Contains(prompts, "consent") {
		return requested
	}
	return strings.Join(slices.DeleteFunc(strings.Fields(requested), func(sc string) bool { return sc == scopeOfflineAccess }), " ")
}

const scopeOfflineAccess = "offline_access"

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
	//paved:allow G710 redirectURI was checked against the client's registered redirect URIs before this call
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
		if ok {
			s.usedCodes[f.Get("code")] = c.family
		} else if fam, used := s.usedCodes[f.Get("code")]; used {
			// RFC 6749 section 4.1.2: a reused code revokes the tokens
			// issued for it (their refresh tokens; access tokens are JWTs).
			s.revokeFamilyLocked(fam)
		}
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
			s.issue(w, c.grant, c.nonce)
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
			s.revokeFamilyLocked(fam)
		}
		s.mu.Unlock()
		switch {
		case reused:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token already used: the grant is revoked")
		case !ok:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or used refresh token")
		default:
			// No nonce in a refreshed ID token (OpenID Connect Core 12.2).
			s.issue(w, g, "")
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

// issue answers a token request for g with an access token, an ID token
// (auth_time the time of the sign-in, also after refreshes: OpenID Connect
// Core 12.2) and, when offline_access was granted (or
// Config.LenientOfflineAccess), a refresh token of g's family.
func (s *Server) issue(w http.ResponseWriter, g grant, nonce string) {
	sub, scope := g.sub, g.scope
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
	ic := map[string]any{"sub": sub, "aud": s.cfg.ClientID, "azp": s.cfg.ClientID, "client_id": nil, "auth_time": g.auth.Unix()}
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
	s.mu.Lock()
	// The family may have been revoked since the request was checked (a
	// concurrent reuse): then nothing is issued.
	revoked := s.revoked[g.family]
	if !revoked && (s.cfg.LenientOfflineAccess || slices.Contains(strings.Fields(scope), scopeOfflineAccess)) {
		rt := randomID(24)
		s.refresh[rt] = g
		resp["refresh_token"] = rt
	}
	s.mu.Unlock()
	if revoked {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the grant is revoked")
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// revokeFamilyLocked revokes the grant of family: its live refresh tokens
// now, and any it would mint later.
func (s *Server) revokeFamilyLocked(family string) {
	s.revoked[family] = true
	maps.DeleteFunc(s.refresh, func(_ string, g grant) bool { return g.family == family })
}

var (
	errNotOwn  = errors.New("not a token this provider issued")
	errExpired = errors.New("expired")
)

// verifyOwn verifies a token this provider issued: its signature by a
// published key and its iss. It returns the claims and the header's typ,
// with errExpired when the token is past its exp (and otherwise valid).
func (s *Server) verifyOwn(raw string) (claims map[string]any, typ string, err error) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, "", errNotOwn
	}
	h := jws.Signatures[0].Header
	s.mu.Lock()
	keys := slices.Clone(s.published)
	now := s.nowLocked()
	s.mu.Unlock()
	i := slices.IndexFunc(keys, func(k *signingKey) bool { return k.kid == h.KeyID && k.alg == h.Algorithm })
	if i < 0 {
		return nil, "", errNotOwn
	}
	payload, err := jws.Verify(keys[i].priv.Public())
	if err != nil || json.Unmarshal(payload, &claims) != nil || claims["iss"] != s.Issuer() {
		return nil, "", errNotOwn
	}
	typ, _ = h.ExtraHeaders[jose.HeaderType].(string)
	if exp, ok := claims["exp"].(float64); !ok || now.Unix() > int64(exp) {
		return claims, typ, errExpired
	}
	return claims, typ, nil
}

// checkOwnToken verifies a token this provider issued (signature with a
// published key, iss, exp) and returns its claims.
func (s *Server) checkOwnToken(raw string) (map[string]any, error) {
	c, _, err := s.verifyOwn(raw)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// invalidToken refuses a bearer token (RFC 6750 section 3.1).
func invalidToken(w http.ResponseWriter, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
	oauthError(w, http.StatusUnauthorized, "invalid_token", desc)
}

// handleUserinfo serves the claims of the user an access token was issued
// for. It refuses, with 401 invalid_token, a token it did not issue or
// that expired, a token whose typ is not RFC 9068's at+jwt (an ID token)
// and a token that names no user: one whose sub is its client_id, as in a
// client-credentials token (RFC 9068 section 2.2).
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		tok = ""
	}
	c, typ, err := s.verifyOwn(tok)
	switch sub, _ := c["sub"].(string); {
	case err != nil:
		invalidToken(w, "invalid access token")
		return
	case typ != "at+jwt":
		invalidToken(w, "not an access token: typ is not at+jwt (an ID token is not a bearer token)")
		return
	case sub == "" || sub == c["client_id"]:
		invalidToken(w, "the access token names no user (client credentials)")
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

// handleEndSession is RP-initiated logout (RP-Initiated Logout 1.0), by
// GET (query) or POST (form). id_token_hint, when sent, must be an ID
// token this provider issued to the client (its signature is checked; it
// may have expired, section 2), and client_id, when sent, the client's.
// The browser is sent to post_logout_redirect_uri only when that is one of
// the client's registered URIs, compared exactly, and id_token_hint or
// client_id named the client (section 3), with state passed back; without
// either it is logged out on a plain page. Anything that fails validation
// is answered 400 and logs no one out.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		q = r.PostForm
	}
	named := false // id_token_hint or client_id names the client
	if id := q.Get("client_id"); id != "" {
		if id != s.cfg.ClientID {
			http.Error(w, "unknown client_id", http.StatusBadRequest)
			return
		}
		named = true
	}
	if h := q.Get("id_token_hint"); h != "" {
		c, _, err := s.verifyOwn(h)
		if err != nil && !errors.Is(err, errExpired) {
			http.Error(w, "invalid id_token_hint: not an ID token this provider issued", http.StatusBadRequest)
			return
		}
		if !audienceHas(c["aud"], s.cfg.ClientID) {
			http.Error(w, "invalid id_token_hint: not issued to client_id "+s.cfg.ClientID, http.StatusBadRequest)
			return
		}
		named = true
	}
	target := q.Get("post_logout_redirect_uri")
	if target != "" && !slices.Contains(s.cfg.PostLogoutRedirectURIs, target) {
		http.Error(w, "post_logout_redirect_uri not registered for this client (Config.PostLogoutRedirectURIs)", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.logouts++
	s.mu.Unlock()
	if target == "" || !named {
		page := "logged out\n"
		if target != "" {
			page = "logged out; not redirected: neither id_token_hint nor client_id named the client\n"
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, page)
		return
	}
	u, _ := url.Parse(target)
	v := u.Query()
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	u.RawQuery = v.Encode()
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther // the browser follows with GET
	}
	//paved:allow G710 target was checked against Config.PostLogoutRedirectURIs above
	http.Redirect(w, r, u.String(), status)
}

// audienceHas reports whether the aud claim (a string or an array of
// strings) holds id.
func audienceHas(aud any, id string) bool {
	switch a := aud.(type) {
	case string:
		return a == id
	case []any:
		return slices.Contains(a, any(id))
	}
	return false
}
