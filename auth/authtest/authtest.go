package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Defaults of [Config].
const (
	DefaultClientID     = "paved-test-client"
	DefaultClientSecret = "paved-test-secret"
	DefaultAudience     = "paved-test-api"
	DefaultSubject      = "alice"
	DefaultTokenTTL     = 5 * time.Minute
)

// GrantTypeTokenExchange is the RFC 8693 grant type.
const GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// Config configures a [Server]. The zero value is ready to use.
type Config struct {
	// ClientID and ClientSecret identify the one registered client
	// (default DefaultClientID / DefaultClientSecret).
	ClientID, ClientSecret string
	// RedirectURIs are the client's registered redirect URIs. Empty means
	// any https or loopback http URI is accepted.
	RedirectURIs []string
	// Audience is the aud of access tokens (default DefaultAudience).
	Audience string
	// Subject is the user the authorize endpoint logs in without asking
	// (default DefaultSubject). Change it, and its claims, with SetUser.
	Subject string
	// Algorithm signs issued tokens: "ES256" (default) or "RS256". Both
	// keys are always published.
	Algorithm string
	// TokenTTL is the lifetime of issued tokens (default 5 min).
	TokenTTL time.Duration
	// Now starts the provider's clock; default the wall clock. The clock
	// is per instance: see SetNow and Advance.
	Now func() time.Time
	// DisableTokenExchange removes RFC 8693 token exchange from discovery
	// and the token endpoint, as most providers (Vault among them) lack it.
	DisableTokenExchange bool
}

type signingKey struct {
	kid  string
	alg  string
	priv crypto.Signer
}

type authCode struct {
	clientID, redirectURI, challenge, nonce, scope, sub string
	expires                                             time.Time
}

type refreshGrant struct {
	sub, scope string
}

// Server is an in-process OpenID provider on an httptest TLS server, for
// tests and demos. It serves discovery, JWKS, authorize (auto-consent,
// PKCE S256 required), token (authorization_code, refresh_token,
// client_credentials, RFC 8693 token exchange), userinfo and end_session.
// All methods are safe for concurrent use.
type Server struct {
	cfg Config
	srv *httptest.Server

	mu         sync.Mutex
	keys       map[string]*signingKey // current keys by alg
	published  []*signingKey          // every key in the JWKS
	offset     time.Duration
	fixed      time.Time
	userSub    string
	userClaims map[string]any
	codes      map[string]authCode
	refresh    map[string]refreshGrant
	jwksBroken bool
	jwksDelay  time.Duration
	logouts    int

	jwksRequests atomic.Int64
}

// Start starts a provider. Call Close when done; tests should prefer
// [NewServer], which closes it through t.Cleanup.
func Start(cfg Config) (*Server, error) {
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = DefaultClientSecret
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.Subject == "" {
		cfg.Subject = DefaultSubject
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = "ES256"
	}
	if cfg.Algorithm != "ES256" && cfg.Algorithm != "RS256" {
		return nil, fmt.Errorf("authtest: Config.Algorithm %q: want ES256 or RS256", cfg.Algorithm)
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	s := &Server{
		cfg:        cfg,
		userSub:    cfg.Subject,
		userClaims: map[string]any{"email": cfg.Subject + "@example.test", "amr": []any{"pwd"}},
		codes:      map[string]authCode{},
		refresh:    map[string]refreshGrant{},
	}
	if cfg.Now != nil {
		s.fixed = cfg.Now()
	}
	if err := s.rotateLocked(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.handleDiscovery)
	mux.HandleFunc("GET /jwks", s.handleJWKS)
	mux.HandleFunc("GET /authorize", s.handleAuthorize)
	mux.HandleFunc("POST /token", s.handleToken)
	mux.HandleFunc("GET /userinfo", s.handleUserinfo)
	mux.HandleFunc("POST /userinfo", s.handleUserinfo)
	mux.HandleFunc("GET /end_session", s.handleEndSession)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("authtest: listen on loopback: %w", err)
	}
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}}
	s.srv.StartTLS()
	return s, nil
}

// NewServer starts a provider closed by t.Cleanup; it fails t on error.
func NewServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Issuer returns the issuer URL (https://127.0.0.1:port).
func (s *Server) Issuer() string { return s.srv.URL }

// Client returns a new *http.Client that trusts the server's certificate;
// callers may change its fields.
func (s *Server) Client() *http.Client {
	c := *s.srv.Client()
	return &c
}

// Certificate returns the server's TLS certificate.
func (s *Server) Certificate() *x509.Certificate { return s.srv.Certificate() }

// CertPool returns a pool holding the server's certificate.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.srv.Certificate())
	return p
}

// CACertPEM returns the server's certificate in PEM, for curl --cacert.
func (s *Server) CACertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// ClientID, ClientSecret and Audience return the configured values.
func (s *Server) ClientID() string     { return s.cfg.ClientID }
func (s *Server) ClientSecret() string { return s.cfg.ClientSecret }
func (s *Server) Audience() string     { return s.cfg.Audience }

// Now returns the provider's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time {
	if !s.fixed.IsZero() {
		return s.fixed.Add(s.offset)
	}
	return time.Now().Add(s.offset)
}

// SetNow freezes the provider's clock at t.
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fixed, s.offset = t, 0
}

// Advance moves the provider's clock forward by d.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// SetUser sets who the authorize endpoint logs in and the extra claims
// (amr, acr, groups, email...) put in that user's tokens and userinfo.
func (s *Server) SetUser(sub string, claims map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userSub, s.userClaims = sub, maps.Clone(claims)
}

// RotateKeys makes fresh ES256 and RS256 keys current. The previous keys
// stay published (as real providers keep them until their tokens expire)
// until RetireKeys.
func (s *Server) RotateKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.rotateLocked(); err != nil {
		panic(err) // key generation does not fail with crypto/rand
	}
}

// RetireKeys removes every non-current key from the JWKS.
func (s *Server) RetireKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = slices.DeleteFunc(s.published, func(k *signingKey) bool { return s.keys[k.alg] != k })
}

// KeyIDs returns the kid of the current ES256 and RS256 keys.
func (s *Server) KeyIDs() (es256, rs256 string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys["ES256"].kid, s.keys["RS256"].kid
}

// PublicKey returns the current public key for alg ("ES256" or "RS256").
func (s *Server) PublicKey(alg string) crypto.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[alg]; k != nil {
		return k.priv.Public()
	}
	return nil
}

func (s *Server) rotateLocked() error {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	if s.keys == nil {
		s.keys = map[string]*signingKey{}
	}
	for _, k := range []*signingKey{{kid: randomID(8), alg: "ES256", priv: ec}, {kid: randomID(8), alg: "RS256", priv: rk}} {
		s.keys[k.alg] = k
		s.published = append(s.published, k)
	}
	return nil
}

// SetJWKSBroken makes the JWKS endpoint answer 503 (true) or work again.
func (s *Server) SetJWKSBroken(broken bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jwksBroken = broken
}

// SetJWKSDelay makes the JWKS endpoint wait d before answering.
func (s *Server) SetJWKSDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jwksDelay = d
}

// JWKSRequests returns how many times the JWKS endpoint was requested.
func (s *Server) JWKSRequests() int64 { return s.jwksRequests.Load() }

// Logouts returns how many end-session requests were served.
func (s *Server) Logouts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logouts
}

// A Token describes a token to mint with [Server.MintToken]. Defaults are
// filled in for every header and claim the caller does not set; a key set
// to nil removes that default.
type Token struct {
	// Header members; defaults alg, typ "at+jwt", kid of the current key.
	Header map[string]any
	// Claims; defaults iss, sub, aud, client_id, iat, exp, jti.
	Claims map[string]any
	// Alg chooses the signature: "ES256", "RS256" (current keys), "none"
	// (empty signature) or "HS256" with HMACKey. Default Config.Algorithm.
	Alg string
	// HMACKey is the secret for Alg "HS256" (for attacks such as HMAC
	// signed with the RSA public key).
	HMACKey []byte
}

// Mint returns an access token with the default claims overridden by
// claims (a nil value removes a default). It panics only if signing fails,
// which it does not with the built-in keys.
func (s *Server) Mint(claims map[string]any) string {
	tok, err := s.MintToken(Token{Claims: claims})
	if err != nil {
		panic(err)
	}
	return tok
}

// MintIDToken returns an ID token for the registered client (typ "JWT",
// aud client ID, nonce "n-0S6_WzA2Mj" unless overridden).
func (s *Server) MintIDToken(claims map[string]any) string {
	c := map[string]any{"aud": s.cfg.ClientID, "azp": s.cfg.ClientID, "nonce": "n-0S6_WzA2Mj", "client_id": nil}
	maps.Copy(c, claims)
	tok, err := s.MintToken(Token{Header: map[string]any{"typ": "JWT"}, Claims: c})
	if err != nil {
		panic(err)
	}
	return tok
}

// MintToken signs tok as described on [Token].
func (s *Server) MintToken(tok Token) (string, error) {
	s.mu.Lock()
	now := s.nowLocked()
	alg := tok.Alg
	if alg == "" {
		alg = s.cfg.Algorithm
	}
	key := s.keys[alg]
	ttl := s.cfg.TokenTTL
	s.mu.Unlock()

	header := map[string]any{"alg": alg, "typ": "at+jwt"}
	if key != nil {
		header["kid"] = key.kid
	}
	merge(header, tok.Header)
	claims := map[string]any{
		"iss": s.Issuer(), "sub": s.cfg.Subject, "aud": s.cfg.Audience, "client_id": s.cfg.ClientID,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": randomID(12),
	}
	merge(claims, tok.Claims)
	return sign(header, claims, alg, key, tok.HMACKey)
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
}

func sign(header, claims map[string]any, alg string, key *signingKey, hmacKey []byte) (string, error) {
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(hb) + "." + b64(cb)
	var sig []byte
	switch alg {
	case "none":
	case "HS256":
		m := hmac.New(sha256.New, hmacKey)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "ES256":
		if key == nil {
			return "", errors.New("authtest: no ES256 key")
		}
		d := sha256.Sum256([]byte(input))
		r, ss, err := ecdsa.Sign(rand.Reader, key.priv.(*ecdsa.PrivateKey), d[:])
		if err != nil {
			return "", err
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
	case "RS256":
		if key == nil {
			return "", errors.New("authtest: no RS256 key")
		}
		d := sha256.Sum256([]byte(input))
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.priv.(*rsa.PrivateKey), crypto.SHA256, d[:])
		if err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("authtest: cannot sign with alg %q", alg)
	}
	return input + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}

// ---- HTTP endpoints ----

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
			t.Stop()
			return
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
			s.issue(w, c.sub, c.scope, c.nonce, true)
		}
	case "refresh_token":
		s.mu.Lock()
		g, ok := s.refresh[f.Get("refresh_token")]
		delete(s.refresh, f.Get("refresh_token")) // rotation
		s.mu.Unlock()
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or used refresh token")
			return
		}
		s.issue(w, g.sub, g.scope, "", true)
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

func (s *Server) issue(w http.ResponseWriter, sub, scope, nonce string, withRefresh bool) {
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
	if withRefresh {
		rt := randomID(24)
		s.mu.Lock()
		s.refresh[rt] = refreshGrant{sub: sub, scope: scope}
		s.mu.Unlock()
		resp["refresh_token"] = rt
	}
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

// WithECDSASignature returns an ES256 token with its signature replaced by
// the given r and s (each encoded in 32 bytes), for "psychic signature"
// tests (CVE-2022-21449): r = s = 0, or r = 0 and s = the curve order.
func WithECDSASignature(tok string, r, s *big.Int) string {
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	i := strings.LastIndexByte(tok, '.')
	return tok[:i+1] + b64(sig)
}
