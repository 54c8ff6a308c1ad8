package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"golang.org/x/oauth2"
)

// Cookie names. The __Host- prefix makes browsers refuse them unless they
// are Secure, host-only and Path=/.
const (
	SessionCookie = "__Host-paved-session"
	FlowCookie    = "__Host-paved-login"
	// MaxCookieSize is the largest sealed cookie (name and value) written;
	// browsers keep at least 4096 bytes per cookie.
	MaxCookieSize = 4000
)

// Defaults of [LoginConfig].
const (
	DefaultSessionTTL = 12 * time.Hour
	flowTTL           = 10 * time.Minute
)

// Login reasons.
const (
	ReasonNoSession      = "no_session"
	ReasonStateMismatch  = "state_mismatch"
	ReasonNonceMismatch  = "nonce_mismatch"
	ReasonIssuerMismatch = "issuer_mismatch"
	ReasonProviderError  = "provider_error"
	ReasonExchange       = "code_exchange_failed"
	ReasonIDTokenInvalid = "id_token_invalid"
	ReasonSessionTooBig  = "session_too_large"
	ReasonStoreError     = "session_store_error"
	ReasonCrossOrigin    = "cross_origin"
)

// LoginConfig configures browser login with the authorization code flow
// and PKCE (S256). Issuer, ClientID, RedirectURL and CookieKeys are
// required.
type LoginConfig struct {
	// Issuer is the OpenID provider's issuer URL (https unless
	// [AllowHTTPIssuer] is in OptOuts).
	Issuer string
	// ClientID and ClientSecret identify this application at the provider.
	// ClientSecret may be empty for a public client (PKCE still applies).
	ClientID, ClientSecret string
	// RedirectURL is the absolute URL of CallbackHandler, as registered.
	RedirectURL string
	// Scopes requested; "openid" is always included. Default openid,
	// profile, email.
	Scopes []string
	// CookieKeys are 32-byte AES-256-GCM keys. The first seals; all open.
	CookieKeys [][]byte
	// SessionTTL is the absolute session lifetime, default 12 h.
	SessionTTL time.Duration
	// LoginPath is where Middleware sends browsers without a session,
	// default "/login".
	LoginPath string
	// PostLogoutRedirectURL, when set, is sent to the provider's
	// end_session_endpoint (it must be registered there).
	PostLogoutRedirectURL string
	// Claims maps the ID token's claims to the principal.
	Claims ClaimMapping
	// Skew tolerated on ID token times, default 60 s.
	Skew time.Duration
	// HTTPClient talks to the provider; default a 10 s timeout client.
	// Redirects to plain http are never followed (unless [AllowHTTPIssuer]).
	HTTPClient *http.Client
	// Now is the clock, default time.Now.
	Now func() time.Time
	// Logger, Sink and Posture as in [Config].
	Logger  *slog.Logger
	Sink    paved.Sink
	Posture *paved.Posture
	// OptOuts: [AllowHTTPIssuer].
	OptOuts []paved.OptOut
	// Store, when set, keeps sessions server-side (see [NewRedisStore]);
	// the cookie then carries only a sealed session ID. A store error
	// denies (no session).
	Store SessionStore
}

// Login runs browser sign-in: LoginHandler starts it, CallbackHandler
// finishes it, Middleware guards routes with the session cookie and renews
// it with the refresh token, LogoutHandler ends it (RP-initiated logout).
type Login struct {
	cfg      LoginConfig
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	keys     *keySet
	codec    *cookieCodec
	disc     discovery
	iss      *issuer
}

// NewLogin validates cfg and runs discovery.
func NewLogin(ctx context.Context, cfg LoginConfig) (*Login, error) {
	if err := checkIssuerURL("LoginConfig.Issuer", cfg.Issuer, cfg.OptOuts); err != nil {
		return nil, err
	}
	if err := checkOptOuts(cfg.OptOuts, OptOutHTTPIssuer); err != nil {
		return nil, fmt.Errorf("auth: LoginConfig.OptOuts: %w", err)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("auth: LoginConfig.ClientID is empty")
	}
	if u, err := url.Parse(cfg.RedirectURL); err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("auth: LoginConfig.RedirectURL %q must be the absolute URL of the callback", cfg.RedirectURL)
	}
	codec, err := newCookieCodec(cfg.CookieKeys)
	if err != nil {
		return nil, err
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Skew <= 0 {
		cfg.Skew = DefaultSkew
	}
	if cfg.LoginPath == "" {
		cfg.LoginPath = "/login"
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"profile", "email"}
	}
	if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	cfg.HTTPClient, cfg.Now, cfg.Logger, cfg.Posture = runtimeDefaults(cfg.HTTPClient, cfg.Now, cfg.Logger, cfg.Posture)
	cfg.HTTPClient = noDowngrade(cfg.HTTPClient, hasOptOut(cfg.OptOuts, OptOutHTTPIssuer))
	c := Config{HTTPClient: cfg.HTTPClient, Now: cfg.Now, Logger: cfg.Logger, KeyTTL: DefaultKeyTTL, RefreshCooldown: DefaultRefreshCooldown}
	is, err := discover(ctx, c, Issuer{URL: cfg.Issuer, Audiences: []string{cfg.ClientID}, Algorithms: DefaultAlgorithms, Claims: cfg.Claims, OptOuts: cfg.OptOuts})
	if err != nil {
		return nil, err
	}
	ep := is.provider.Endpoint()
	if err := checkEndpointURL(cfg.Issuer, "authorization_endpoint", ep.AuthURL, cfg.OptOuts); err != nil {
		return nil, err
	}
	if err := checkEndpointURL(cfg.Issuer, "token_endpoint", ep.TokenURL, cfg.OptOuts); err != nil {
		return nil, err
	}
	if len(is.discovered.CodeChallengeMethods) > 0 && !slices.Contains(is.discovered.CodeChallengeMethods, "S256") {
		return nil, fmt.Errorf("auth: issuer %q does not support PKCE S256", cfg.Issuer)
	}
	l := &Login{
		cfg:   cfg,
		codec: codec,
		disc:  is.discovered,
		keys:  is.keys,
		iss:   is,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: ep, Scopes: cfg.Scopes,
		},
	}
	l.verifier = oidc.NewVerifier(cfg.Issuer, is.keys, &oidc.Config{ClientID: cfg.ClientID, SupportedSigningAlgs: DefaultAlgorithms, Now: l.skewedNow})
	p := cfg.Posture
	p.SetControl(paved.Control{Component: component, Name: "browser-login", Enabled: true,
		Detail: fmt.Sprintf("code+PKCE S256, state, nonce, RFC 9207 iss (%v); AES-GCM __Host- cookies, %d key(s); session %v", is.discovered.IssParameterSupported, len(codec.aeads), cfg.SessionTTL)})
	for _, o := range cfg.OptOuts {
		_ = p.AddOptOut(o)
	}
	p.LogOptOuts(ctx, cfg.Logger)
	return l, nil
}

var _ httpx.Check = (*Login)(nil)

// Check implements [httpx.Check]: the issuer's key set is reachable and
// loaded within its TTL, fetching it when it is not (within the refresh
// cooldown).
func (l *Login) Check(ctx context.Context) error {
	if err := l.keys.status(ctx); err != nil {
		return fmt.Errorf("auth: issuer %s not ready: %w", l.cfg.Issuer, err)
	}
	return nil
}

// skewedNow lets go-oidc's strict exp check tolerate the configured skew.
func (l *Login) skewedNow() time.Time { return l.cfg.Now().Add(-l.cfg.Skew) }

type flowState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Return   string `json:"r"`
	Exp      int64  `json:"e"`
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// localPath keeps return_to on this site: a path, not "//host". Browsers
// drop tabs and newlines from a Location and read "\" as "/", and
// http.Redirect cleans "/a/../\host" to "/\host", so any control
// character or backslash is refused outright.
func localPath(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") {
		return "/"
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	return p
}

func (l *Login) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (l *Login) fail(w http.ResponseWriter, r *http.Request, status int, reason, detail string) {
	s := l.cfg.Sink
	if s == nil {
		s = paved.DefaultSink()
	}
	paved.Emit(r.Context(), s, paved.Event{Type: paved.EventAuthnFailure, Component: component, Outcome: paved.OutcomeFailure,
		Reason: reason, RequestID: httpx.RequestIDFrom(r.Context()), Attrs: []slog.Attr{slog.String("flow", "browser")}})
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteProblem(w, r, &httpx.Problem{Status: status, Detail: detail, Extensions: map[string]any{"reason": reason}})
}

// LoginHandler starts sign-in: it stores state, nonce and the PKCE
// verifier in a sealed short-lived cookie and redirects to the provider.
// The query parameter return_to (a local path) is where the user lands
// after the callback.
func (l *Login) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := flowState{
			State: randomString(32), Nonce: randomString(32), Verifier: oauth2.GenerateVerifier(),
			Return: localPath(r.URL.Query().Get("return_to")), Exp: l.cfg.Now().Add(flowTTL).Unix(),
		}
		b, _ := json.Marshal(f)
		l.setCookie(w, FlowCookie, l.codec.seal(FlowCookie, b), int(flowTTL.Seconds()))
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, l.AuthCodeURL(f.State, f.Nonce, f.Verifier), http.StatusSeeOther)
	})
}

// AuthCodeURL returns the provider's authorization URL for the given
// state, nonce and PKCE verifier (code_challenge_method S256).
func (l *Login) AuthCodeURL(state, nonce, verifier string) string {
	return l.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
}

func (l *Login) clientCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, l.cfg.HTTPClient)
}

// CallbackHandler finishes sign-in: it checks state (and, per RFC 9207,
// iss), exchanges the code with the PKCE verifier, verifies the ID token
// and its nonce, sets the session cookie and redirects to return_to.
func (l *Login) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0, start := time.Now(), l.cfg.Now()
		q := r.URL.Query()
		c, err := r.Cookie(FlowCookie)
		if err != nil {
			l.fail(w, r, http.StatusBadRequest, ReasonStateMismatch, "no login in progress")
			return
		}
		l.setCookie(w, FlowCookie, "", -1) // one use, whatever happens
		var f flowState
		b, err := l.codec.open(FlowCookie, c.Value)
		if err != nil || json.Unmarshal(b, &f) != nil || start.Unix() > f.Exp {
			l.fail(w, r, http.StatusBadRequest, ReasonStateMismatch, "login state invalid or expired")
			return
		}
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
			l.fail(w, r, http.StatusBadRequest, ReasonStateMismatch, "state does not match")
			return
		}
		if iss := q.Get("iss"); iss != "" || l.disc.IssParameterSupported {
			if iss != l.cfg.Issuer {
				l.fail(w, r, http.StatusBadRequest, ReasonIssuerMismatch, "authorization response from another issuer (RFC 9207)")
				return
			}
		}
		if e := q.Get("error"); e != "" {
			l.fail(w, r, http.StatusUnauthorized, ReasonProviderError, "provider returned "+truncate(url.QueryEscape(e), 40))
			return
		}
		tok, err := l.oauth.Exchange(l.clientCtx(r.Context()), q.Get("code"), oauth2.VerifierOption(f.Verifier))
		if err != nil {
			l.fail(w, r, http.StatusUnauthorized, ReasonExchange, "the provider refused the authorization code")
			return
		}
		s, reason := l.newSession(r.Context(), tok, f.Nonce, start)
		if reason != "" {
			l.fail(w, r, http.StatusUnauthorized, reason, "the provider's ID token was rejected")
			return
		}
		// A sign-in always starts a new session (no fixation); a previous
		// server-side one is revoked.
		if old, ok := l.openSession(r); ok && old.SID != "" {
			_ = l.cfg.Store.Delete(r.Context(), old.SID)
		}
		v, reason := l.sealSession(r.Context(), s)
		switch reason {
		case "":
			l.setCookie(w, SessionCookie, v, int(l.cfg.SessionTTL.Seconds()))
		case ReasonStoreError:
			l.fail(w, r, http.StatusServiceUnavailable, reason, "session store unavailable")
			return
		default:
			l.fail(w, r, http.StatusInternalServerError, reason, "session does not fit a cookie; request fewer claims or configure LoginConfig.Store")
			return
		}
		p, _ := l.principal(s)
		sk := l.cfg.Sink
		if sk == nil {
			sk = paved.DefaultSink()
		}
		paved.Emit(r.Context(), sk, paved.Event{Type: paved.EventAuthnSuccess, Component: component, Outcome: paved.OutcomeSuccess,
			Subject: p.Subject, RequestID: httpx.RequestIDFrom(r.Context()), Duration: time.Since(t0),
			Attrs: []slog.Attr{slog.String("flow", "browser"), slog.Bool("mfa", MFAPresent(p))}})
		http.Redirect(w, r, localPath(f.Return), http.StatusSeeOther)
	})
}

// Middleware requires a browser session. Without one, a page navigation
// is redirected to LoginPath (with return_to); API and XHR requests get
// 401 and are never redirected. The principal is stored with
// [paved.WithPrincipal] and the session with [SessionFrom].
func (l *Login) Middleware() httpx.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, ok := l.readSession(w, r)
			if !ok {
				if isNavigation(r) {
					http.Redirect(w, r, l.cfg.LoginPath+"?return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				w.Header().Set("Cache-Control", "no-store")
				httpx.WriteProblem(w, r, &httpx.Problem{Status: http.StatusUnauthorized, Detail: "sign-in required", Extensions: map[string]any{"reason": ReasonNoSession}})
				return
			}
			ctx := paved.WithPrincipal(r.Context(), s.Principal)
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, sessionKey{}, s)))
		})
	}
}

// isNavigation reports whether r is a top-level page load by a browser
// (not fetch/XHR, not an API client).
func isNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.Header.Get("X-Requested-With") != "" || r.Header.Get("Authorization") != "" {
		return false
	}
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" {
		return m == "navigate"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// logoutOrigin refuses cross-origin logout (Sec-Fetch-Site, else Origin
// against Host), whether or not the server applies its own protection.
var logoutOrigin = http.NewCrossOriginProtection()

// LogoutHandler ends the session (POST only, from this origin, so a
// cross-site link or form cannot log users out; a cross-origin request
// gets 403 with reason "cross_origin"): it clears the cookie and, when the
// provider has an end_session_endpoint, redirects there with id_token_hint
// (RP-initiated logout); otherwise it redirects to "/".
func (l *Login) LogoutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			httpx.WriteProblem(w, r, &httpx.Problem{Status: http.StatusMethodNotAllowed, Detail: "log out with POST"})
			return
		}
		if err := logoutOrigin.Check(r); err != nil {
			w.Header().Set("Cache-Control", "no-store")
			httpx.WriteProblem(w, r, &httpx.Problem{Status: http.StatusForbidden, Detail: "cross-origin logout rejected", Extensions: map[string]any{"reason": ReasonCrossOrigin}})
			return
		}
		var hint string
		if s, ok := l.openSession(r); ok {
			hint = s.IDToken
			if s.SID != "" {
				_ = l.cfg.Store.Delete(r.Context(), s.SID)
			}
		}
		l.setCookie(w, SessionCookie, "", -1)
		w.Header().Set("Cache-Control", "no-store")
		target := "/"
		if ep := l.disc.EndSessionEndpoint; ep != "" {
			u, err := url.Parse(ep)
			if err == nil {
				v := u.Query()
				v.Set("client_id", l.cfg.ClientID)
				if hint != "" {
					v.Set("id_token_hint", hint)
				}
				if l.cfg.PostLogoutRedirectURL != "" {
					v.Set("post_logout_redirect_uri", l.cfg.PostLogoutRedirectURL)
				}
				u.RawQuery = v.Encode()
				target = u.String()
			}
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}
