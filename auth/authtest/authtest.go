package authtest

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Defaults of [Config].
const (
	DefaultClientID     = "paved-test-client"
	DefaultClientSecret = "paved-test-secret"
	DefaultAudience     = "paved-test-api"
	DefaultSubject      = "alice"
	DefaultTokenTTL     = 5 * time.Minute
	// DefaultRedirectURI is the client's redirect URI in [Server.LoginClient]
	// when Config.RedirectURIs is empty.
	DefaultRedirectURI = "https://app.example.test/callback"
	// DefaultPostLogoutRedirectURI is the one registered
	// post_logout_redirect_uri when Config.PostLogoutRedirectURIs is empty.
	DefaultPostLogoutRedirectURI = "https://app.example.test/bye"
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
	// PostLogoutRedirectURIs are the client's registered post-logout
	// redirect URIs; empty means the one DefaultPostLogoutRedirectURI.
	// The end-session endpoint redirects only to one of them, compared
	// exactly (RP-Initiated Logout 1.0 section 3), and only when
	// id_token_hint or client_id names the client.
	PostLogoutRedirectURIs []string
	// LenientOfflineAccess issues a refresh token with every authorization
	// code grant and grants offline_access whenever it is asked for, as
	// Keycloak does. By default the provider is as strict as OpenID
	// Connect Core section 11 and certified providers (panva's
	// oidc-provider) are: offline_access is granted only when the
	// authorization request also carries prompt=consent, otherwise it is
	// left out of the granted scope, and a refresh token is issued only
	// when offline_access was granted.
	LenientOfflineAccess bool
}

// Server is an in-process OpenID provider on an httptest TLS server, for
// tests and demos. It serves discovery, JWKS, authorize (auto-consent,
// PKCE S256 required), token (authorization_code, refresh_token,
// client_credentials, RFC 8693 token exchange), userinfo and end_session,
// as strictly as a certified provider: see the package documentation.
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
	refresh    map[string]grant  // live refresh tokens
	spent      map[string]string // rotated refresh tokens -> family
	usedCodes  map[string]string // exchanged authorization codes -> family
	revoked    map[string]bool   // families revoked after a reuse
	reuses     int
	jwksBroken bool
	jwksDelay  time.Duration
	logouts    int

	jwksRequests    atomic.Int64
	refreshRequests atomic.Int64
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
	if len(cfg.PostLogoutRedirectURIs) == 0 {
		cfg.PostLogoutRedirectURIs = []string{DefaultPostLogoutRedirectURI}
	} else {
		cfg.PostLogoutRedirectURIs = slices.Clone(cfg.PostLogoutRedirectURIs)
	}
	s := &Server{
		cfg:        cfg,
		userSub:    cfg.Subject,
		userClaims: map[string]any{"email": cfg.Subject + "@example.test", "amr": []any{"pwd"}},
		codes:      map[string]authCode{},
		refresh:    map[string]grant{},
		spent:      map[string]string{},
		usedCodes:  map[string]string{},
		revoked:    map[string]bool{},
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
	mux.HandleFunc("POST /end_session", s.handleEndSession)
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

// PostLogoutRedirectURI returns the first registered post-logout redirect
// URI (Config.PostLogoutRedirectURIs, or DefaultPostLogoutRedirectURI); it
// implements [LogoutDriver].
func (s *Server) PostLogoutRedirectURI() string { return s.cfg.PostLogoutRedirectURIs[0] }
