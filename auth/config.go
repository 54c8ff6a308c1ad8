package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pavedroad/paved"
)

// Defaults of [Config]; a zero field means the default.
const (
	DefaultSkew            = 60 * time.Second
	DefaultMaxTokenSize    = 8 << 10
	DefaultKeyTTL          = 5 * time.Minute
	DefaultRefreshCooldown = 30 * time.Second
	DefaultCacheSize       = 10000
	// MaxSkew is the largest clock skew a Config may ask for.
	MaxSkew = 5 * time.Minute
)

// DefaultAlgorithms are the signature algorithms accepted when none are
// configured: asymmetric only. "none" and the HMAC family can never be
// configured for keys obtained by discovery.
var DefaultAlgorithms = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

var asymmetricAlgs = map[string]bool{
	"ES256": true, "ES384": true, "ES512": true, "RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true, "EdDSA": true,
}

// Opt-out names owned by package auth.
const (
	OptOutUntypedTokens = "allow-untyped-tokens"
	OptOutHTTPIssuer    = "allow-http-issuer"
)

const component = "auth"

// AllowUntypedTokens relaxes the RFC 9068 check that access tokens carry
// the header typ "at+jwt", for an issuer that does not set it (Vault,
// older Keycloak). Tokens with typ "JWT" or no typ are then accepted, but
// tokens that look like ID tokens (nonce or at_hash claims) are still
// rejected. Put it in [Issuer].OptOuts.
func AllowUntypedTokens(reason string) paved.OptOut {
	return paved.NewOptOut(component, OptOutUntypedTokens, reason)
}

// AllowHTTPIssuer accepts an issuer URL with the http scheme, for a
// development provider on loopback (a Vault dev server). Discovery, keys
// and tokens then travel unencrypted. Put it in [Issuer].OptOuts or
// [LoginConfig].OptOuts.
func AllowHTTPIssuer(reason string) paved.OptOut {
	return paved.NewOptOut(component, OptOutHTTPIssuer, reason)
}

// ClaimMapping says where an issuer puts roles, groups and scopes. Paths
// are dot-separated ("realm_access.roles"); the value at a path may be a
// JSON array of strings or a space-separated string. Values from every
// listed path are merged.
type ClaimMapping struct {
	// Roles defaults to ["roles"].
	Roles []string
	// Groups defaults to ["groups"].
	Groups []string
	// Scopes defaults to ["scope", "scp"].
	Scopes []string
}

// Issuer configures one trusted token issuer.
type Issuer struct {
	// URL is the issuer identifier; discovery is fetched from
	// URL + "/.well-known/openid-configuration" and the iss claim must
	// equal it exactly. It must be https unless [AllowHTTPIssuer] is given.
	URL string
	// Audiences accepted from this issuer; empty means [Config].Audiences.
	// A token must name at least one of them in aud.
	Audiences []string
	// AuthorizedParties lists the client IDs accepted in azp when a token
	// carries one; empty means "azp, when present, must be one of the
	// accepted audiences".
	AuthorizedParties []string
	// Algorithms narrows [Config].Algorithms for this issuer.
	Algorithms []string
	// Claims maps provider-specific claims to the principal.
	Claims ClaimMapping
	// OptOuts relaxes controls for this issuer only; see
	// [AllowUntypedTokens] and [AllowHTTPIssuer].
	OptOuts []paved.OptOut
}

// Config configures a [Verifier]. The zero value of every field is the
// secure default; only Issuers and an audience are required.
type Config struct {
	// Issuers lists the trusted issuers; tokens are routed by iss.
	Issuers []Issuer
	// Audiences accepted from every issuer that sets none of its own.
	Audiences []string
	// Algorithms is the allow-list of signature algorithms, default
	// [DefaultAlgorithms]. Only asymmetric algorithms are allowed.
	Algorithms []string
	// Skew is the clock skew tolerated on exp, nbf and iat; default 60 s,
	// at most [MaxSkew].
	Skew time.Duration
	// MaxTokenSize is the largest token accepted, checked before any
	// parsing; default 8 KiB.
	MaxTokenSize int
	// KeyTTL is how long a fetched key set is trusted, default 5 min, at
	// least RefreshCooldown. When it runs out the keys are fetched again;
	// if that fails, tokens are denied with reason "jwks_unavailable".
	KeyTTL time.Duration
	// RefreshCooldown is the minimum time between two key-set fetches for
	// one issuer, default 30 s: a flood of unknown kids costs at most one
	// fetch per cooldown.
	RefreshCooldown time.Duration
	// CacheSize bounds the verified-token cache, default 10,000 entries;
	// negative disables it.
	CacheSize int
	// HTTPClient fetches discovery documents and keys; default a client
	// with a 10 s timeout. Redirects to plain http are never followed
	// (unless the issuer has [AllowHTTPIssuer]).
	HTTPClient *http.Client
	// Now is the clock, default time.Now.
	Now func() time.Time
	// Logger receives startup and key-fetch logs; default slog.Default().
	Logger *slog.Logger
	// Sink receives security events; nil means paved.DefaultSink().
	Sink paved.Sink
	// Posture receives controls and opt-outs; nil means
	// paved.DefaultPosture().
	Posture *paved.Posture
}

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	if len(cfg.Issuers) == 0 {
		return cfg, errors.New("auth: Config.Issuers is empty: name at least one issuer URL")
	}
	if cfg.Skew == 0 {
		cfg.Skew = DefaultSkew
	}
	if cfg.Skew < 0 || cfg.Skew > MaxSkew {
		return cfg, fmt.Errorf("auth: Config.Skew %v out of range: want 0 < skew <= %v", cfg.Skew, MaxSkew)
	}
	if cfg.MaxTokenSize == 0 {
		cfg.MaxTokenSize = DefaultMaxTokenSize
	}
	if cfg.MaxTokenSize < 256 || cfg.MaxTokenSize > 64<<10 {
		return cfg, fmt.Errorf("auth: Config.MaxTokenSize %d out of range: want 256..65536 bytes", cfg.MaxTokenSize)
	}
	if cfg.KeyTTL == 0 {
		cfg.KeyTTL = DefaultKeyTTL
	}
	if cfg.KeyTTL < 0 {
		return cfg, fmt.Errorf("auth: Config.KeyTTL %v is negative", cfg.KeyTTL)
	}
	if cfg.RefreshCooldown == 0 {
		cfg.RefreshCooldown = DefaultRefreshCooldown
	}
	if cfg.RefreshCooldown < 0 {
		return cfg, fmt.Errorf("auth: Config.RefreshCooldown %v is negative", cfg.RefreshCooldown)
	}
	if cfg.KeyTTL < cfg.RefreshCooldown {
		// Keys would go stale while the cooldown still forbids a fetch,
		// denying every token in between.
		return cfg, fmt.Errorf("auth: Config.KeyTTL %v is shorter than Config.RefreshCooldown %v: want KeyTTL >= RefreshCooldown", cfg.KeyTTL, cfg.RefreshCooldown)
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms
	}
	if err := checkAlgs("Config.Algorithms", cfg.Algorithms); err != nil {
		return cfg, err
	}
	cfg.HTTPClient, cfg.Now, cfg.Logger, cfg.Posture = runtimeDefaults(cfg.HTTPClient, cfg.Now, cfg.Logger, cfg.Posture)
	seen := map[string]bool{}
	cfg.Issuers = slices.Clone(cfg.Issuers)
	for i := range cfg.Issuers {
		is := &cfg.Issuers[i]
		if err := checkIssuerURL(fmt.Sprintf("Config.Issuers[%d].URL", i), is.URL, is.OptOuts); err != nil {
			return cfg, err
		}
		if seen[is.URL] {
			return cfg, fmt.Errorf("auth: Config.Issuers[%d].URL %q is listed twice", i, is.URL)
		}
		seen[is.URL] = true
		if len(is.Audiences) == 0 {
			is.Audiences = cfg.Audiences
		}
		if len(is.Audiences) == 0 || slices.Contains(is.Audiences, "") {
			return cfg, fmt.Errorf("auth: issuer %q has no audience: set Config.Audiences or Issuers[%d].Audiences to this API's identifier", is.URL, i)
		}
		if slices.Contains(is.AuthorizedParties, "") {
			return cfg, fmt.Errorf("auth: Config.Issuers[%d].AuthorizedParties holds an empty client ID: list only real client IDs", i)
		}
		if len(is.Algorithms) == 0 {
			is.Algorithms = cfg.Algorithms
		} else {
			if err := checkAlgs(fmt.Sprintf("Config.Issuers[%d].Algorithms", i), is.Algorithms); err != nil {
				return cfg, err
			}
		}
		if err := checkOptOuts(is.OptOuts, OptOutUntypedTokens, OptOutHTTPIssuer); err != nil {
			return cfg, fmt.Errorf("auth: Config.Issuers[%d].OptOuts: %w", i, err)
		}
	}
	return cfg, nil
}

// runtimeDefaults fills the fields [Config] and [LoginConfig] share: a
// client with a 10 s timeout, time.Now, slog.Default() and
// paved.DefaultPosture().
func runtimeDefaults(client *http.Client, now func() time.Time, logger *slog.Logger, posture *paved.Posture) (*http.Client, func() time.Time, *slog.Logger, *paved.Posture) {
	if client == nil {
		client = defaultHTTPClient()
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	return client, now, logger, paved.PostureOrDefault(posture)
}

func defaultHTTPClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

// noDowngrade returns a copy of c that refuses to follow a redirect to a
// URL that is not https (unless allowHTTP), so an https discovery, key set
// or token endpoint cannot be bounced to plain http.
func noDowngrade(c *http.Client, allowHTTP bool) *http.Client {
	if allowHTTP {
		return c
	}
	cp := *c
	next := c.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return fmt.Errorf("auth: refusing a redirect to a %s URL", req.URL.Scheme)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("auth: stopped after 10 redirects")
		}
		return nil
	}
	return &cp
}

func checkAlgs(field string, algs []string) error {
	for _, a := range algs {
		if !asymmetricAlgs[a] {
			return fmt.Errorf("auth: %s: %q is not allowed: use asymmetric algorithms only (%s)", field, a, strings.Join(DefaultAlgorithms, ", "))
		}
	}
	return nil
}

func checkIssuerURL(field, raw string, opts []paved.OptOut) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("auth: %s %q is not an absolute URL without query or fragment", field, raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !hasOptOut(opts, OptOutHTTPIssuer) {
			return fmt.Errorf("auth: %s %q uses http: use https, or add auth.AllowHTTPIssuer(reason) to its OptOuts", field, raw)
		}
	default:
		return fmt.Errorf("auth: %s %q: scheme must be https", field, raw)
	}
	return nil
}

// checkEndpointURL refuses a discovered endpoint that is not https (http
// only with [AllowHTTPIssuer]).
func checkEndpointURL(issuer, name, raw string, opts []paved.OptOut) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && hasOptOut(opts, OptOutHTTPIssuer))) {
		return fmt.Errorf("auth: issuer %q advertises %s %q: want an https URL", issuer, name, raw)
	}
	return nil
}

func checkOptOuts(opts []paved.OptOut, allowed ...string) error {
	for _, o := range opts {
		if err := o.Validate(); err != nil {
			return err
		}
		if o.Component != component || !slices.Contains(allowed, o.Name) {
			return fmt.Errorf("opt-out %s/%s does not apply here (allowed: %s)", o.Component, o.Name, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func hasOptOut(opts []paved.OptOut, name string) bool {
	for _, o := range opts {
		if o.Component == component && o.Name == name && o.Validate() == nil {
			return true
		}
	}
	return false
}
