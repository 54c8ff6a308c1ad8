package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

// Defaults and bounds of [LoginConfig].
const (
	DefaultSessionTTL = 12 * time.Hour
	minSessionTTL     = 5 * time.Minute
	maxSessionTTL     = 7 * 24 * time.Hour
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
	// ReasonSessionExpired: the request carried a session that has just
	// ended: its lifetime ran out, or its access token did and there was
	// no refresh token to renew it, or the provider refused the refresh.
	// Middleware answers it like no session: a redirect to sign in for a
	// page navigation, 401 for an API or XHR request.
	ReasonSessionExpired = "session_expired"
	// ReasonMaxAgeExceeded: the ID token's auth_time is missing or older
	// than the max_age in LoginConfig.AuthParams.
	ReasonMaxAgeExceeded = "max_age_exceeded"
)

// ScopeOfflineAccess is the scope that asks for a refresh token usable
// while the user is not present (OpenID Connect Core section 11).
const ScopeOfflineAccess = "offline_access"

// LoginConfig configures browser login with the authorization code flow
// and PKCE (S256). Issuer, ClientID, RedirectURL and CookieKeys are
// required. [NewLogin] reports every invalid field at once, each as a
// [paved.ConfigError].
type LoginConfig struct {
	// Name names this login in the posture report; empty means "1", "2",
	// ... in order of creation (see [paved.Posture.Register]).
	Name string
	// Issuer is the OpenID provider's issuer URL (https unless
	// [AllowHTTPIssuer] is in OptOuts).
	Issuer string
	// ClientID and ClientSecret identify this application at the provider.
	// ClientSecret may be empty for a public client (PKCE still applies).
	ClientID, ClientSecret string
	// RedirectURL is the absolute URL of CallbackHandler, as registered:
	// https, or http on localhost, 127.0.0.1 or [::1] for development.
	RedirectURL string
	// Scopes requested; "openid" is always included. Default openid,
	// profile, email.
	//
	// Add [ScopeOfflineAccess] to ask for a refresh token from a provider
	// that issues one only for it (Okta, Auth0, panva's oidc-provider):
	// the login then also sends prompt=consent (appended to a prompt set
	// in AuthParams), without which OpenID Connect Core section 11 tells
	// the provider to ignore offline_access. Some providers show a
	// consent screen at every sign-in for it, and an offline grant may
	// outlive the user's session at the provider, which is why it is not
	// the default. Without it, a provider that issues refresh tokens
	// anyway (Keycloak, Vault) still renews sessions; one that does not
	// ends each session when its access token expires, and Middleware
	// sends the user through sign-in again. The callback logs a sign-in
	// that got no refresh token, and its [paved.EventAuthnSuccess] says
	// so (attribute refresh_token false).
	Scopes []string
	// AuthParams are extra parameters of every authorization request,
	// such as prompt ("login", "consent", "select_account"), max_age
	// (seconds: the ID token must then carry an auth_time no older, OpenID
	// Connect Core section 3.1.2.1), acr_values, ui_locales, claims,
	// audience, or resource (RFC 8707: the one parameter that may have
	// several values). NewLogin refuses the parameters the flow owns
	// (client_id, redirect_uri, response_type, response_mode, scope: use
	// Scopes, state, nonce, code_challenge, code_challenge_method, request,
	// request_uri), an empty or repeated value, prompt values outside
	// none, login, consent, select_account and create, none with another
	// value, and a max_age that is not a whole number of seconds. A
	// per-user login_hint comes from LoginHandler's query.
	AuthParams url.Values
	// CookieKeys are 32-byte AES-256-GCM keys. The first seals; all open.
	CookieKeys [][]byte
	// SessionTTL is the absolute session lifetime, renewals included:
	// default 12 h, at least 5 min, at most 7 days.
	SessionTTL time.Duration
	// LoginPath is where Middleware sends browsers without a session,
	// default "/login". It must be a local path ("/...", not "//...").
	LoginPath string
	// PostLogoutRedirectURL, when set, is sent to the provider's
	// end_session_endpoint (it must be an absolute URL registered there).
	PostLogoutRedirectURL string
	// Claims maps the ID token's claims to the principal.
	Claims ClaimMapping
	// Skew tolerated on ID token times: default 60 s, at least 1 s, at
	// most 5 min ([MaxSkew]).
	Skew time.Duration
	// Timeout bounds each call to the provider (discovery, key set, token
	// endpoint), whatever HTTPClient's own timeout: default 10 s, at least
	// 100 ms, at most 1 min.
	Timeout time.Duration
	// HTTPClient talks to the provider; default a client with Timeout.
	// Redirects to plain http are never followed (unless [AllowHTTPIssuer]).
	HTTPClient *http.Client
	// Now is the clock, default time.Now.
	Now func() time.Time
	// Logger, Events and Posture as in [Config].
	Logger  *slog.Logger
	Events  paved.Sink
	Posture *paved.Posture
	// OptOuts: [AllowHTTPIssuer].
	OptOuts []paved.OptOut
	// Store, when set, keeps sessions server-side (see package
	// auth/redissession); the cookie then carries only a sealed session
	// ID. A store error denies (no session).
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
	authz    *authorizer
	renewals renewals
	params   url.Values    // AuthParams, with prompt=consent for offline_access
	maxAge   time.Duration // from AuthParams; -1 when not set
	offline  bool          // offline_access requested
}

func (cfg *LoginConfig) validate() error {
	chk := paved.ConfigCheck{Component: Component, Prefix: "LoginConfig."}
	checkIssuerURL(&chk, "Issuer", cfg.Issuer, cfg.OptOuts)
	checkOptOuts(&chk, "OptOuts", cfg.OptOuts, OptOutAllowHTTPIssuer)
	if cfg.ClientID == "" {
		chk.Add("ClientID", "empty", "give the client ID registered at the provider")
	}
	if u, err := url.Parse(cfg.RedirectURL); err != nil || !u.IsAbs() || u.Host == "" {
		chk.Add("RedirectURL", fmt.Sprintf("%q is not an absolute URL", truncate(cfg.RedirectURL, 200)), "want the absolute URL of CallbackHandler, as registered at the provider")
	} else if u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())) {
		// The authorization code travels in this URL, and the __Host-
		// cookies need a secure context.
		chk.Add("RedirectURL", fmt.Sprintf("%q uses %s", truncate(cfg.RedirectURL, 200), u.Scheme), "use https (http only on localhost, 127.0.0.1 or [::1] for development)")
	}
	if len(cfg.CookieKeys) == 0 {
		chk.Add("CookieKeys", "empty", "give at least one random 32-byte key")
	}
	for i, k := range cfg.CookieKeys {
		if len(k) != 32 {
			chk.Add(fmt.Sprintf("CookieKeys[%d]", i), fmt.Sprintf("has %d bytes", len(k)), "want 32 random bytes (AES-256)")
		}
	}
	checkDuration(&chk, "SessionTTL", &cfg.SessionTTL, DefaultSessionTTL, minSessionTTL, maxSessionTTL)
	checkDuration(&chk, "Skew", &cfg.Skew, DefaultSkew, minSkew, MaxSkew)
	checkDuration(&chk, "Timeout", &cfg.Timeout, DefaultTimeout, minTimeout, maxTimeout)
	if cfg.LoginPath == "" {
		cfg.LoginPath = "/login"
	}
	if localPath(cfg.LoginPath) != cfg.LoginPath {
		chk.Add("LoginPath", fmt.Sprintf("%q is not a local path", truncate(cfg.LoginPath, 200)), "want a path on this site, such as \"/login\"")
	}
	if cfg.PostLogoutRedirectURL != "" {
		if u, err := url.Parse(cfg.PostLogoutRedirectURL); err != nil || !u.IsAbs() || u.Host == "" {
			chk.Add("PostLogoutRedirectURL", fmt.Sprintf("%q is not an absolute URL", truncate(cfg.PostLogoutRedirectURL, 200)), "want the absolute URL registered at the provider, or leave it empty")
		}
	}
	checkAuthParams(&chk, cfg.AuthParams, slices.Contains(cfg.Scopes, ScopeOfflineAccess))
	return chk.Err()
}

// ownedParams are the authorization request parameters the flow sets
// itself: a service that set them would break PKCE, state, nonce, the
// callback or the scope list.
var ownedParams = []string{"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "request", "request_uri"}

var promptValues = []string{"none", "login", "consent", "select_account", "create"}

func checkAuthParams(c *paved.ConfigCheck, params url.Values, offline bool) {
	names := slices.Sorted(maps.Keys(params))
	for _, k := range names {
		vs := params[k]
		f := fmt.Sprintf("AuthParams[%q]", k)
		switch {
		case slices.Contains(ownedParams, k):
			fix := "leave it out: the login sets it"
			if k == "scope" {
				fix = "list scopes in LoginConfig.Scopes"
			}
			c.Add(f, "is set by the login itself", fix)
			continue
		case len(vs) == 0 || slices.Contains(vs, ""):
			c.Add(f, "has an empty value", "give a value or remove the parameter")
			continue
		case len(vs) > 1 && k != "resource":
			c.Add(f, fmt.Sprintf("has %d values", len(vs)), "give one value (only resource may repeat, RFC 8707)")
			continue
		}
		switch k {
		case "prompt":
			p := strings.Fields(vs[0])
			for _, v := range p {
				if !slices.Contains(promptValues, v) {
					c.Add(f, fmt.Sprintf("%q is not a prompt value", truncate(v, 40)), "use space-separated values of "+strings.Join(promptValues, ", "))
				}
			}
			if slices.Contains(p, "none") && len(p) > 1 {
				c.Add(f, "combines none with other values", "use none alone (OpenID Connect Core 3.1.2.1)")
			} else if slices.Contains(p, "none") && offline {
				c.Add(f, "is none, and Scopes holds offline_access, which needs prompt=consent (OpenID Connect Core 11)", "drop offline_access from Scopes or use another prompt")
			}
		case "max_age":
			if n, err := strconv.ParseInt(vs[0], 10, 64); err != nil || n < 0 {
				c.Add(f, fmt.Sprintf("%q is not a whole number of seconds", truncate(vs[0], 40)), "give the longest time since the user last signed in, in seconds, such as \"3600\"")
			}
		}
	}
}

// NewLogin validates cfg and runs discovery. An invalid configuration
// returns every faulty field at once, each a [paved.ConfigError]. The login
// registers one instance, named cfg.Name, in cfg.Posture.
func NewLogin(ctx context.Context, cfg LoginConfig) (*Login, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	codec, err := newCookieCodec(cfg.CookieKeys)
	if err != nil {
		return nil, err
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"profile", "email"}
	}
	if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	cfg.Scopes = slices.Clone(cfg.Scopes)
	params := authParams(cfg.AuthParams, slices.Contains(cfg.Scopes, ScopeOfflineAccess))
	cfg.HTTPClient, cfg.Now, cfg.Logger, cfg.Posture = runtimeDefaults(cfg.HTTPClient, cfg.Timeout, cfg.Now, cfg.Logger, cfg.Posture)
	cfg.HTTPClient = noDowngrade(cfg.HTTPClient, hasOptOut(cfg.OptOuts, OptOutAllowHTTPIssuer))
	c := Config{HTTPClient: cfg.HTTPClient, Now: cfg.Now, Logger: cfg.Logger, KeyTTL: DefaultKeyTTL, RefreshCooldown: DefaultRefreshCooldown, Timeout: cfg.Timeout}
	is, err := discover(ctx, c, "LoginConfig.HTTPClient", Issuer{URL: cfg.Issuer, Audiences: []string{cfg.ClientID}, Algorithms: DefaultAlgorithms, Claims: cfg.Claims, OptOuts: cfg.OptOuts})
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
	if ep := is.discovered.RevocationEndpoint; ep != "" && checkEndpointURL(cfg.Issuer, "revocation_endpoint", ep, cfg.OptOuts) != nil {
		cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "auth: ignoring a revocation_endpoint that is not https", slog.String("issuer", cfg.Issuer))
		is.discovered.RevocationEndpoint = ""
	}
	if ep := is.discovered.EndSessionEndpoint; ep != "" && checkEndpointURL(cfg.Issuer, "end_session_endpoint", ep, cfg.OptOuts) != nil {
		cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "auth: ignoring an end_session_endpoint that is not https; logout ends the session here only", slog.String("issuer", cfg.Issuer))
		is.discovered.EndSessionEndpoint = ""
	}
	if len(is.discovered.CodeChallengeMethods) > 0 && !slices.Contains(is.discovered.CodeChallengeMethods, "S256") {
		return nil, fmt.Errorf("auth: issuer %q does not support PKCE S256", cfg.Issuer)
	}
	l := &Login{
		cfg:    cfg,
		params: params,
		maxAge: -1,
		codec:  codec,
		disc:   is.discovered,
		keys:   is.keys,
		iss:    is,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: ep, Scopes: cfg.Scopes,
		},
	}
	l.offline = slices.Contains(cfg.Scopes, ScopeOfflineAccess)
	if v := params.Get("max_age"); v != "" {
		n, _ := strconv.ParseInt(v, 10, 64)
		l.maxAge = time.Duration(min(n, int64(maxSessionTTL/time.Second))) * time.Second
	}
	l.verifier = oidc.NewVerifier(cfg.Issuer, is.keys, &oidc.Config{ClientID: cfg.ClientID, SupportedSigningAlgs: DefaultAlgorithms, Now: l.skewedNow})
	reg := cfg.Posture.Register(Component, cfg.Name)
	l.authz = &authorizer{events: cfg.Events, reg: reg, browser: true}
	store := "sessions in sealed cookies"
	if cfg.Store != nil {
		store = "sessions in a server-side store"
		if d, ok := cfg.Store.(fmt.Stringer); ok {
			store += " " + d.String()
		}
	}
	refresh := "no offline_access requested: renewal only if the provider issues refresh tokens anyway"
	if l.offline {
		refresh = "offline_access requested with prompt=consent (OpenID Connect Core 11)"
	}
	if is.discovered.RevocationEndpoint != "" {
		refresh += "; refresh token revoked at logout (RFC 7009)"
	}
	if len(params) > 0 {
		refresh += "; authorization parameters " + strings.Join(slices.Sorted(maps.Keys(params)), ", ")
	}
	reg.SetControl("browser-login", true, fmt.Sprintf("code+PKCE S256, state, nonce, RFC 9207 iss (%v); AES-GCM __Host- cookies, %d key(s); %s; %s; %s; %s; %s",
		is.discovered.IssParameterSupported, len(codec.aeads), store, refresh,
		setting("session", cfg.SessionTTL, DefaultSessionTTL, fmtDuration),
		setting("skew", cfg.Skew, DefaultSkew, fmtDuration),
		setting("timeout", cfg.Timeout, DefaultTimeout, fmtDuration)))
	for _, o := range cfg.OptOuts {
		_ = reg.AddOptOut(o)
	}
	cfg.Posture.LogOptOuts(ctx, cfg.Logger)
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
	paved.Emit(r.Context(), l.cfg.Events, paved.Event{Type: paved.EventAuthnFailure, Component: Component, Outcome: paved.OutcomeFailure,
		Reason: reason, RequestID: httpx.RequestIDFrom(r.Context()), Attrs: []slog.Attr{slog.String("flow", "browser")}})
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteProblem(w, r, &httpx.Problem{Status: status, Detail: detail, Extensions: map[string]any{"reason": reason}})
}

// LoginHandler starts sign-in: it stores state, nonce and the PKCE
// verifier in a sealed short-lived cookie and redirects to the provider.
// The query parameter return_to (a local path) is where the user lands
// after the callback; login_hint, when it is at most 256 printable
// characters, is passed to the provider (OpenID Connect Core sections
// 3.1.2.1 and 4), which may use it to fill in the user name.
func (l *Login) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := flowState{
			State: randomString(32), Nonce: randomString(32), Verifier: oauth2.GenerateVerifier(),
			Return: localPath(r.URL.Query().Get("return_to")), Exp: l.cfg.Now().Add(flowTTL).Unix(),
		}
		b, _ := json.Marshal(f)
		l.setCookie(w, FlowCookie, l.codec.seal(l.aad(FlowCookie), b), int(flowTTL.Seconds()))
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, l.authCodeURL(f.State, f.Nonce, f.Verifier, loginHint(r.URL.Query().Get("login_hint"))), http.StatusSeeOther)
	})
}

// AuthCodeURL returns the provider's authorization URL for the given
// state, nonce and PKCE verifier (code_challenge_method S256), with
// LoginConfig.AuthParams (and prompt=consent when Scopes holds
// offline_access).
func (l *Login) AuthCodeURL(state, nonce, verifier string) string {
	return l.authCodeURL(state, nonce, verifier, "")
}

func (l *Login) authCodeURL(state, nonce, verifier, loginHint string) string {
	u := l.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	extra := l.params
	if loginHint != "" {
		extra = maps.Clone(extra)
		if extra == nil {
			extra = url.Values{}
		}
		extra.Set("login_hint", loginHint)
	}
	if len(extra) == 0 {
		return u
	}
	// oauth2 always writes a query, and none of these names is one of
	// its own (checkAuthParams refuses them).
	return u + "&" + extra.Encode()
}

// authParams returns the parameters every authorization request carries:
// a copy of the configured ones, with consent added to prompt when
// offline_access is requested (OpenID Connect Core section 11).
func authParams(cfg url.Values, offline bool) url.Values {
	params := url.Values{}
	for k, vs := range cfg {
		params[k] = slices.Clone(vs)
	}
	if offline {
		if p := strings.Fields(params.Get("prompt")); !slices.Contains(p, "consent") {
			params.Set("prompt", strings.Join(append(p, "consent"), " "))
		}
	}
	if len(params) == 0 {
		return nil
	}
	return params
}

// loginHint returns the login_hint of a LoginHandler query when it is a
// plausible user name (at most 256 bytes of printable UTF-8), else "".
func loginHint(h string) string {
	if len(h) > 256 || !utf8.ValidString(h) {
		return ""
	}
	for _, r := range h {
		if r < 0x20 || r == 0x7f {
			return ""
		}
	}
	return h
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
		b, err := l.codec.open(l.aad(FlowCookie), c.Value)
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
		old, err := l.openSession(r)
		if err == nil && old.SID != "" {
			err = l.cfg.Store.Delete(r.Context(), old.SID)
		}
		if err != nil && err != errNoSession {
			l.storeFailed(r.Context(), "sign-in", err)
			l.fail(w, r, http.StatusServiceUnavailable, ReasonStoreError, "session store unavailable")
			return
		}
		if old != nil {
			l.sessionEnded(r.Context(), old, SessionEndReplaced)
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
		if s.Refresh == "" {
			l.noRefreshToken(r.Context(), tok, s)
		}
		if paved.EventsEnabled(r.Context(), l.cfg.Events, paved.EventAuthnSuccess) {
			p, _ := l.principal(s)
			paved.Emit(r.Context(), l.cfg.Events, paved.Event{Type: paved.EventAuthnSuccess, Component: Component, Outcome: paved.OutcomeSuccess,
				Subject: p.Subject, RequestID: httpx.RequestIDFrom(r.Context()), Duration: time.Since(t0),
				Attrs: []slog.Attr{slog.String("flow", "browser"), slog.Bool("mfa", MFAPresent(p)), slog.Bool("refresh_token", s.Refresh != "")}})
		}
		http.Redirect(w, r, localPath(f.Return), http.StatusSeeOther)
	})
}

// noRefreshToken logs a sign-in that got no refresh token: its session
// ends with its access token. It is a warning when offline_access was
// asked for (the provider did not grant it), else information.
func (l *Login) noRefreshToken(ctx context.Context, tok *oauth2.Token, s *sessionState) {
	level, msg := slog.LevelInfo, "auth: the provider issued no refresh token; the session ends when its access token expires and the user signs in again"
	if l.offline {
		level, msg = slog.LevelWarn, "auth: offline_access was requested but the provider issued no refresh token; the session ends when its access token expires and the user signs in again"
	}
	granted, _ := tok.Extra("scope").(string)
	l.cfg.Logger.LogAttrs(ctx, level, msg, slog.String("issuer", l.cfg.Issuer), slog.Time("access_token_expiry", time.Unix(s.Expiry, 0)),
		slog.String("granted_scope", granted), slog.String("request_id", httpx.RequestIDFrom(ctx)))
}

// Middleware requires a browser session. Without one, a page navigation
// (GET or HEAD with Sec-Fetch-Mode navigate, or without Sec-Fetch-Mode
// and accepting text/html) is redirected to LoginPath with return_to;
// API, fetch and XHR requests get 401 problem+json and are never
// redirected, with reason "no_session", or "session_expired" when the
// request carried a session that has just ended (its lifetime, or its
// access token without a refresh token to renew it, or a refused
// refresh), so a script knows to send the user through sign-in. The
// principal is stored with [paved.WithPrincipal] and the session with
// [SessionFrom].
//
// When the access token is within 30 s of expiry, the session is renewed
// with its refresh token. Renewal is serialised per session within this
// process: concurrent requests carrying one session wait for a single
// refresh and all set the same new cookie, and a request that still
// carries the previous cookie within 10 s of the renewal gets the renewed
// session rather than spending the previous refresh token again (a
// provider that rotates refresh tokens refuses a second use, and a strict
// one revokes the session for it). The trade-off: a copy of the previous
// cookie replayed within those 10 s gets the renewed session too, without
// the provider's reuse detection seeing it; each such late request is
// logged (Info, "... within the renewal grace") with its delay after the
// renewal.
//
// An in-process lock cannot serialise two replicas. When requests of one
// session can reach two replicas at the same moment and the provider
// rotates refresh tokens, either route a session to one replica (session
// affinity: a sticky cookie at the load balancer), or keep sessions in a
// shared [SessionStore] (package auth/redissession): a replica that
// loads the session after another saved its renewal uses the renewed
// tokens, which leaves only renewals that overlap in time to race; or let
// the provider accept a rotated refresh token again for a few seconds
// (Okta and Auth0 call it a grace period or reuse interval).
func (l *Login) Middleware() httpx.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, reason := l.readSession(w, r)
			if s == nil {
				if isNavigation(r) {
					http.Redirect(w, r, l.cfg.LoginPath+"?return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				detail := "sign-in required"
				if reason == ReasonSessionExpired {
					detail = "the session has ended; sign in again"
				}
				w.Header().Set("Cache-Control", "no-store")
				httpx.WriteProblem(w, r, &httpx.Problem{Status: http.StatusUnauthorized, Detail: detail, Extensions: map[string]any{"reason": reason}})
				return
			}
			ctx := paved.WithPrincipal(r.Context(), s.Principal)
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, sessionKey{}, s)))
		})
	}
}

// Require is [Verifier.Require] for routes behind l.Middleware: denials go
// to l's Events, and posture controls (RequireMFA) to l's posture
// instance. Its 401 and 403 answers carry no WWW-Authenticate Bearer
// challenge, since a browser session has no bearer token; a missing MFA
// is 401 with reason "mfa_required", not a redirect to sign in (which
// would loop with a provider that does not ask for MFA).
func (l *Login) Require(reqs ...Requirement) httpx.Middleware { return l.authz.require(reqs) }

// Protect is l.Middleware() followed by l.Require(reqs...) around h.
func (l *Login) Protect(h http.Handler, reqs ...Requirement) http.Handler {
	return l.Middleware()(l.Require(reqs...)(h))
}

// isNavigation reports whether r is a top-level page load by a browser
// (not fetch/XHR, not an API client).
func isNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return isBrowserNavigation(r)
}

// isBrowserNavigation reports whether r, whatever its method, is a
// browser navigation (a link followed, a form submitted) rather than
// fetch/XHR or an API client: Sec-Fetch-Mode navigate, or, from a browser
// that sends no Sec-Fetch-* headers, an Accept naming text/html.
func isBrowserNavigation(r *http.Request) bool {
	if r.Header.Get("X-Requested-With") != "" || r.Header.Get("Authorization") != "" {
		return false
	}
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" {
		return m == "navigate"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// revoke revokes a refresh token at the provider's revocation endpoint
// (RFC 7009), when it has one, authenticating as at the token endpoint.
// It is best effort: a failure is logged, and the logout goes on.
func (l *Login) revoke(ctx context.Context, token string) {
	ep := l.disc.RevocationEndpoint
	if ep == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.Timeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"refresh_token"}}
	post := l.cfg.ClientSecret == "" || (slices.Contains(l.disc.TokenEndpointAuthMeths, "client_secret_post") && !slices.Contains(l.disc.TokenEndpointAuthMeths, "client_secret_basic"))
	if post {
		form.Set("client_id", l.cfg.ClientID)
		if l.cfg.ClientSecret != "" {
			form.Set("client_secret", l.cfg.ClientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep, strings.NewReader(form.Encode()))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !post {
		req.SetBasicAuth(url.QueryEscape(l.cfg.ClientID), url.QueryEscape(l.cfg.ClientSecret))
	}
	resp, err := l.cfg.HTTPClient.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	if err != nil {
		l.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "auth: revoking the refresh token at logout failed; a copy of the session cookie may renew until the provider ends the grant",
			slog.String("issuer", l.cfg.Issuer), slog.String("error", err.Error()))
	}
}

// isLoopbackHost reports whether host is localhost or a loopback IP.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// storeFailed logs a session store error met at step (logout, sign-in).
func (l *Login) storeFailed(ctx context.Context, step string, err error) {
	l.cfg.Logger.LogAttrs(ctx, slog.LevelError, "auth: the session store failed at "+step,
		slog.String("issuer", l.cfg.Issuer), slog.String("error", err.Error()))
}

// logoutOrigin refuses cross-origin logout (Sec-Fetch-Site, else Origin
// against Host), whether or not the server applies its own protection.
var logoutOrigin = http.NewCrossOriginProtection()

// LogoutHandler ends the session (POST only, from this origin, so a
// cross-site link or form cannot log users out; a cross-origin request
// gets the answer httpx's cross-origin protection gives: 403
// problem+json with detail "cross-origin request rejected" and reason
// "cross_origin", and [paved.EventOriginRejected]): it clears the cookie
// and, when the provider has an end_session_endpoint, sends the browser
// there with id_token_hint (RP-initiated logout); otherwise it redirects
// to "/". An API client (fetch, XHR, a request with Authorization, or one
// whose Accept does not name text/html) gets a 303 redirect to the
// end_session_endpoint. A browser's form submission (Sec-Fetch-Mode
// navigate, or Accept text/html from a browser without Sec-Fetch-*) gets
// 200 with a small HTML page that navigates to it (a script carrying
// httpx's CSP nonce when there is one, a meta refresh, and a link): a
// Content-Security-Policy form-action, such as httpx's ProfileHTML
// form-action 'self', also governs the redirects answering a form, and
// browsers refuse a redirect from a logout form to the provider's origin.
// The site's CSP stays as it is.
//
// What logout revokes depends on where sessions live. With
// LoginConfig.Store, the session is deleted from the store: every copy of
// its cookie, on every replica, stops working at once, and a renewal
// running on another replica at that moment ends the session rather than
// store it again (renewals use [SessionStore].Replace, which refuses a
// deleted session). If the store fails (reading or deleting the session),
// logout still clears the cookie and revokes the refresh token it could
// read, but answers 503 problem+json with reason "session_store_error",
// logs the error and emits [paved.EventAuthnFailure]: the session may
// live on in the store. Without a store,
// the session is the sealed cookie itself: logout tells the browser to
// drop it, but a copy taken before (a stolen cookie) keeps working until
// its access token needs a refresh. The refresh then fails when the
// provider has a revocation_endpoint (logout revokes the refresh token
// there, RFC 7009, best effort), or ended the grant at its
// end_session_endpoint, or refuses a rotated refresh token, as most do; a
// provider that does none of these keeps the copy alive up to SessionTTL
// (an offline_access grant can outlive the provider's session). In both
// cases, a copy of the cookie from before a renewal (the grace described
// at [Login.Middleware]) and a renewal still running at the time of the
// logout are refused by this process. Use a Store when a logout must end
// the session everywhere at once.
func (l *Login) LogoutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			httpx.WriteProblem(w, r, &httpx.Problem{Status: http.StatusMethodNotAllowed, Detail: "log out with POST"})
			return
		}
		if err := logoutOrigin.Check(r); err != nil {
			paved.Emit(r.Context(), l.cfg.Events, paved.Event{Type: paved.EventOriginRejected, Component: Component, Outcome: paved.OutcomeDenied,
				Reason: ReasonCrossOrigin, RequestID: httpx.RequestIDFrom(r.Context()), Attrs: []slog.Attr{slog.String("flow", "logout")}})
			w.Header().Set("Cache-Control", "no-store")
			httpx.WriteProblem(w, r, &httpx.Problem{Status: http.StatusForbidden, Detail: "cross-origin request rejected", Extensions: map[string]any{"reason": ReasonCrossOrigin}})
			return
		}
		var hint string
		s, err := l.openSession(r)
		if err == nil {
			hint = s.IDToken
			if s.SID != "" {
				err = l.cfg.Store.Delete(r.Context(), s.SID)
			}
			if s.Refresh != "" {
				l.renewals.end(sha256.Sum256([]byte(s.Refresh)), l.cfg.Now(), 2*l.cfg.Timeout)
				l.revoke(r.Context(), s.Refresh)
			}
			if err == nil {
				l.sessionEnded(r.Context(), s, SessionEndLogout)
			}
		}
		l.setCookie(w, SessionCookie, "", -1)
		if err != nil && err != errNoSession {
			// The session may live on in the store: say so rather than
			// answer as if it had ended.
			l.storeFailed(r.Context(), "logout", err)
			paved.Emit(r.Context(), l.cfg.Events, paved.Event{Type: paved.EventAuthnFailure, Component: Component, Outcome: paved.OutcomeFailure,
				Reason: ReasonStoreError, RequestID: httpx.RequestIDFrom(r.Context()), Attrs: []slog.Attr{slog.String("flow", "logout")}})
			w.Header().Set("Cache-Control", "no-store")
			httpx.WriteProblem(w, r, &httpx.Problem{Status: http.StatusServiceUnavailable,
				Detail: "session store unavailable: the session may not have ended; try again", Extensions: map[string]any{"reason": ReasonStoreError}})
			return
		}
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
		if target != "/" && r.Method == http.MethodPost && isBrowserNavigation(r) {
			writeLogoutPage(w, r, target)
			return
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}

// logoutPage sends the browser on to the provider's end_session_endpoint
// three ways, any one of which suffices: a nonce'd script (when the
// server's Content-Security-Policy has a nonce, as under httpx's
// ProfileHTML), a meta refresh (a navigation of the document's own, which
// neither form-action nor script-src governs), and a link to click.
// html/template escapes the URL for each context.
var logoutPage = template.Must(template.New("logout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="{{.Refresh}}">
<title>Signing out</title></head><body>
<p>You are signed out of this application.
<a id="paved-end-session" href="{{.URL}}">Continue to sign out at your identity provider</a>.</p>
{{- if .Nonce}}
<script nonce="{{.Nonce}}">location.replace({{.URL}});</script>
{{- end}}
</body></html>
`))

// writeLogoutPage answers a logout form with 200 and [logoutPage] rather
// than a redirect to the provider: a Content-Security-Policy form-action
// (httpx's ProfileHTML has form-action 'self') also governs the redirects
// that answer a form submission, so a browser refuses a 303 to the
// provider's origin, while a navigation the answer's page starts is no
// form submission. The session cookie is cleared by then.
func writeLogoutPage(w http.ResponseWriter, r *http.Request, target string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The URL carries id_token_hint: keep it out of Referer headers.
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	_ = logoutPage.Execute(w, struct{ URL, Refresh, Nonce string }{target, "0;url=" + target, httpx.CSPNonce(r)})
}
