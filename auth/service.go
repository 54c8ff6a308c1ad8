package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pavedroad/paved"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultEarlyRefresh is how long before expiry a service token is renewed.
const DefaultEarlyRefresh = time.Minute

// Bounds of ServiceConfig.EarlyRefresh.
const (
	minEarlyRefresh = time.Second
	maxEarlyRefresh = 10 * time.Minute
)

// GrantTypeTokenExchange is the RFC 8693 grant type.
const GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// ServiceConfig configures service-to-service tokens: the client
// credentials grant and RFC 8693 token exchange. [NewService] reports every
// invalid field at once, each as a [paved.ConfigError].
type ServiceConfig struct {
	// Name names this token source in the posture report; empty means
	// "1", "2", ... in order of creation (see [paved.Posture.Register]).
	Name string
	// Issuer is discovered for the token endpoint.
	Issuer string
	// ClientID and ClientSecret authenticate this service.
	ClientID, ClientSecret string
	// Scopes requested.
	Scopes []string
	// Audience, when set, is sent as the "audience" parameter (RFC 8693,
	// and the client credentials extension of several providers);
	// Resource as "resource" (RFC 8707).
	Audience, Resource string
	// EarlyRefresh renews a token this long before it expires: default
	// one minute, at least 1 s, at most 10 min.
	EarlyRefresh time.Duration
	// Timeout bounds each call to the provider (discovery, each token
	// request), whatever HTTPClient's own timeout: default 10 s, at least
	// 100 ms, at most 1 min.
	Timeout time.Duration
	// HTTPClient talks to the provider; default a client with Timeout.
	// Redirects to plain http are never followed (unless [AllowHTTPIssuer]).
	HTTPClient *http.Client
	// OptOuts: [AllowHTTPIssuer].
	OptOuts []paved.OptOut
	// Posture receives the control and opt-outs, as one instance named
	// Name; nil means paved.DefaultPosture().
	Posture *paved.Posture
	// Logger receives the opt-outs, logged once; default slog.Default().
	Logger *slog.Logger
}

// A Service obtains tokens for this service from its OpenID provider.
type Service struct {
	cfg  ServiceConfig
	disc discovery
	ep   oauth2.Endpoint
}

func (cfg *ServiceConfig) validate() error {
	chk := paved.ConfigCheck{Component: Component, Prefix: "ServiceConfig."}
	checkIssuerURL(&chk, "Issuer", cfg.Issuer, cfg.OptOuts)
	checkOptOuts(&chk, "OptOuts", cfg.OptOuts, OptOutAllowHTTPIssuer)
	if cfg.ClientID == "" {
		chk.Add("ClientID", "empty", "give the client ID registered at the provider")
	}
	if cfg.ClientSecret == "" {
		chk.Add("ClientSecret", "empty", "give the client's secret (client credentials need a confidential client)")
	}
	checkDuration(&chk, "EarlyRefresh", &cfg.EarlyRefresh, DefaultEarlyRefresh, minEarlyRefresh, maxEarlyRefresh)
	checkDuration(&chk, "Timeout", &cfg.Timeout, DefaultTimeout, minTimeout, maxTimeout)
	return chk.Err()
}

// NewService validates cfg and runs discovery. An invalid configuration
// returns every faulty field at once, each a [paved.ConfigError]. The
// service registers one instance, named cfg.Name, in cfg.Posture.
func NewService(ctx context.Context, cfg ServiceConfig) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var posture *paved.Posture
	cfg.HTTPClient, _, cfg.Logger, posture = runtimeDefaults(cfg.HTTPClient, cfg.Timeout, nil, cfg.Logger, cfg.Posture)
	cfg.HTTPClient = noDowngrade(cfg.HTTPClient, hasOptOut(cfg.OptOuts, OptOutAllowHTTPIssuer))
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(dctx, cfg.HTTPClient), cfg.Issuer)
	if err != nil {
		return nil, discoveryError(cfg.Issuer, "ServiceConfig.HTTPClient", err)
	}
	if err := checkEndpointURL(cfg.Issuer, "token_endpoint", p.Endpoint().TokenURL, cfg.OptOuts); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, ep: p.Endpoint()}
	if err := p.Claims(&s.disc); err != nil {
		return nil, err
	}
	reg := posture.Register(Component, cfg.Name)
	reg.SetControl("service-tokens", true,
		fmt.Sprintf("client credentials from %s, %s; bearer tokens sent over https only; token exchange %v; %s",
			cfg.Issuer, setting("renewed early by", cfg.EarlyRefresh, DefaultEarlyRefresh, fmtDuration),
			slices.Contains(s.disc.GrantTypesSupported, GrantTypeTokenExchange),
			setting("timeout", cfg.Timeout, DefaultTimeout, fmtDuration)))
	for _, o := range cfg.OptOuts {
		_ = reg.AddOptOut(o)
	}
	posture.LogOptOuts(ctx, cfg.Logger)
	return s, nil
}

type tokenSourceFunc func() (*oauth2.Token, error)

func (f tokenSourceFunc) Token() (*oauth2.Token, error) { return f() }

// TokenSource returns a client-credentials token source that caches the
// token and renews it EarlyRefresh before it expires. It is safe for
// concurrent use; ctx is used only for its values, not its cancellation.
func (s *Service) TokenSource(ctx context.Context) oauth2.TokenSource {
	params := url.Values{}
	if s.cfg.Audience != "" {
		params.Set("audience", s.cfg.Audience)
	}
	if s.cfg.Resource != "" {
		params.Set("resource", s.cfg.Resource)
	}
	cc := &clientcredentials.Config{
		ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, TokenURL: s.ep.TokenURL,
		Scopes: s.cfg.Scopes, EndpointParams: params,
	}
	ctx = context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, s.cfg.HTTPClient)
	// cc.Token fetches every time; the reuse wrapper alone caches, so the
	// early-refresh margin is the one that applies.
	return oauth2.ReuseTokenSourceWithExpiry(nil, tokenSourceFunc(func() (*oauth2.Token, error) {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
		return cc.Token(ctx)
	}), s.cfg.EarlyRefresh)
}

// Transport returns an http.RoundTripper that attaches a bearer token from
// ts to every request sent through base (http.DefaultTransport when nil).
// It refuses plain-http URLs, so a token never leaves unencrypted, and a
// redirect to another host (or port) is followed without the token.
func Transport(base http.RoundTripper, ts oauth2.TokenSource) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &bearerTransport{base: base, inner: &oauth2.Transport{Source: ts, Base: base}}
}

type bearerTransport struct{ base, inner http.RoundTripper }

// redirectedOffHost reports whether r is a client redirect whose chain
// started at a different host than r's.
func redirectedOffHost(r *http.Request) bool {
	first := r
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return first != r && !strings.EqualFold(first.URL.Host, r.URL.Host)
}

func (t *bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, fmt.Errorf("auth: refusing to send a bearer token over %s to %s", r.URL.Scheme, r.URL.Host)
	}
	if redirectedOffHost(r) {
		return t.base.RoundTrip(r)
	}
	return t.inner.RoundTrip(r)
}

// ExchangeRequest describes an RFC 8693 token exchange.
type ExchangeRequest struct {
	// SubjectToken is the token being exchanged (an access token).
	SubjectToken string
	// Audience and Resource name the target service; Scopes narrow the
	// result.
	Audience, Resource string
	Scopes             []string
}

// Exchange trades req.SubjectToken for a token for another audience (RFC
// 8693). It returns an error wrapping [ErrNotSupported] when the provider
// does not advertise the grant.
func (s *Service) Exchange(ctx context.Context, req ExchangeRequest) (*oauth2.Token, error) {
	if !slices.Contains(s.disc.GrantTypesSupported, GrantTypeTokenExchange) {
		return nil, fmt.Errorf("%w: issuer %s does not advertise token exchange", ErrNotSupported, s.cfg.Issuer)
	}
	form := url.Values{
		"grant_type":         {GrantTypeTokenExchange},
		"subject_token":      {req.SubjectToken},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
	}
	if req.Audience != "" {
		form.Set("audience", req.Audience)
	}
	if req.Resource != "" {
		form.Set("resource", req.Resource)
	}
	if len(req.Scopes) > 0 {
		form.Set("scope", strings.Join(req.Scopes, " "))
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, s.ep.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.SetBasicAuth(url.QueryEscape(s.cfg.ClientID), url.QueryEscape(s.cfg.ClientSecret))
	resp, err := s.cfg.HTTPClient.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("auth: token exchange: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("auth: token exchange: %w", err)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
	}
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		return nil, fmt.Errorf("auth: token exchange refused: status %d, error %q", resp.StatusCode, truncate(out.Error, 64))
	}
	t := &oauth2.Token{AccessToken: out.AccessToken, TokenType: out.TokenType}
	if out.ExpiresIn > 0 {
		t.Expiry = time.Now().Add(time.Duration(out.ExpiresIn) * time.Second)
	}
	return t, nil
}
