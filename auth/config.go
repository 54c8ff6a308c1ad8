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

// Component is the component name package auth uses in its opt-outs,
// posture controls, events and config errors.
const Component = "auth"

// Defaults and bounds of [Config]; a zero field means the default.
const (
	DefaultSkew            = 60 * time.Second
	DefaultMaxTokenSize    = 8 << 10
	DefaultKeyTTL          = 5 * time.Minute
	DefaultRefreshCooldown = 30 * time.Second
	DefaultCacheSize       = 10000
	// DefaultTimeout bounds each call to a provider (discovery, key set,
	// token endpoint).
	DefaultTimeout = 10 * time.Second
	// MaxSkew is the largest clock skew a Config or LoginConfig may ask
	// for.
	MaxSkew = 5 * time.Minute
)

// Bounds of the security-relevant settings, stated in each field's
// documentation. A value outside them is a [paved.ConfigError].
const (
	minSkew            = time.Second
	minTokenSize       = 256
	maxTokenSize       = 64 << 10
	minKeyTTL          = 10 * time.Second
	maxKeyTTL          = time.Hour
	minRefreshCooldown = time.Second
	maxCacheSize       = 1_000_000
	minTimeout         = 100 * time.Millisecond
	maxTimeout         = time.Minute
)

// DefaultAlgorithms are the signature algorithms accepted when none are
// configured: asymmetric only. "none" and the HMAC family can never be
// configured for keys obtained by discovery.
var DefaultAlgorithms = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

var asymmetricAlgs = map[string]bool{
	"ES256": true, "ES384": true, "ES512": true, "RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true, "EdDSA": true,
}

// Opt-out names owned by package auth: the kebab-case form of their
// constructors.
const (
	OptOutAllowUntypedTokens = "allow-untyped-tokens"
	OptOutAllowHTTPIssuer    = "allow-http-issuer"
)

// AllowUntypedTokens relaxes the RFC 9068 check that access tokens carry
// the header typ "at+jwt", for an issuer that does not set it (Vault,
// older Keycloak). Tokens with typ "JWT" or no typ are then accepted, but
// tokens that look like ID tokens (nonce or at_hash claims) are still
// rejected. Put it in [Issuer].OptOuts.
func AllowUntypedTokens(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowUntypedTokens, reason)
}

// AllowHTTPIssuer accepts an issuer URL with the http scheme, for a
// development provider on loopback (a Vault dev server). Discovery, keys
// and tokens then travel unencrypted. Put it in [Issuer].OptOuts,
// [LoginConfig].OptOuts or [ServiceConfig].OptOuts.
func AllowHTTPIssuer(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowHTTPIssuer, reason)
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
	// AuthorizedParties, when set, lists the clients whose access tokens
	// this API accepts: a token's azp (the client that asked for it), or
	// its client_id (RFC 9068 section 2.2) when it has no azp, must be
	// listed, and a token naming neither is refused. Empty (the default)
	// accepts any client: providers such as Keycloak and Auth0 put the
	// requesting client in azp, which is not the API's audience, and aud
	// already says the token is meant for this API. An azp that is
	// present must be a non-empty string either way. (ID tokens in
	// browser login follow OpenID Connect Core instead: azp, when present
	// or when aud has several values, must be the login's client ID.)
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
// secure default; only Issuers and an audience are required. [New]
// reports every invalid field at once, each as a [paved.ConfigError].
type Config struct {
	// Name names this verifier in the posture report; empty means "1",
	// "2", ... in order of creation (see [paved.Posture.Register]).
	Name string
	// Issuers lists the trusted issuers; tokens are routed by iss.
	Issuers []Issuer
	// Audiences accepted from every issuer that sets none of its own.
	Audiences []string
	// Algorithms is the allow-list of signature algorithms, default
	// [DefaultAlgorithms]. Only asymmetric algorithms are allowed.
	Algorithms []string
	// Skew is the clock skew tolerated on exp, nbf and iat: default 60 s,
	// at least 1 s, at most 5 min ([MaxSkew]). A larger skew honours
	// expired tokens for longer.
	Skew time.Duration
	// MaxTokenSize is the largest token accepted, checked before any
	// parsing: default 8 KiB, at least 256 B, at most 64 KiB.
	MaxTokenSize int
	// KeyTTL is how long a fetched key set is trusted: default 5 min, at
	// least 10 s and RefreshCooldown, at most 1 h. A key the issuer
	// removes (after a compromise, say) is honoured for up to KeyTTL. When
	// it runs out the keys are fetched again; if that fails, tokens are
	// denied with reason "jwks_unavailable".
	KeyTTL time.Duration
	// RefreshCooldown is the minimum time between two key-set fetches for
	// one issuer: default 30 s, at least 1 s, at most KeyTTL. A flood of
	// unknown kids costs at most one fetch per cooldown.
	RefreshCooldown time.Duration
	// CacheSize bounds the verified-token cache: default 10,000 entries,
	// at most 1,000,000; negative disables it.
	CacheSize int
	// Timeout bounds each call to an issuer (discovery in New, each
	// key-set fetch), whatever HTTPClient's own timeout: default 10 s, at
	// least 100 ms, at most 1 min.
	Timeout time.Duration
	// HTTPClient fetches discovery documents and keys; default a client
	// with Timeout. Redirects to plain http are never followed (unless the
	// issuer has [AllowHTTPIssuer]). Its TLS roots must trust the issuers'
	// certificates.
	HTTPClient *http.Client
	// Now is the clock, default time.Now.
	Now func() time.Time
	// Logger receives startup and key-fetch logs; default slog.Default().
	Logger *slog.Logger
	// Events receives security events; nil means paved.DefaultSink() at
	// the time of each event.
	Events paved.Sink
	// Posture receives the verifier's controls and opt-outs, as one
	// instance named Name; nil means paved.DefaultPosture().
	Posture *paved.Posture
}

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	chk := paved.ConfigCheck{Component: Component, Prefix: "Config."}
	if len(cfg.Issuers) == 0 {
		chk.Add("Issuers", "empty", "name at least one issuer URL")
	}
	checkDuration(&chk, "Skew", &cfg.Skew, DefaultSkew, minSkew, MaxSkew)
	checkInt(&chk, "MaxTokenSize", &cfg.MaxTokenSize, DefaultMaxTokenSize, minTokenSize, maxTokenSize, "bytes")
	checkDuration(&chk, "KeyTTL", &cfg.KeyTTL, DefaultKeyTTL, minKeyTTL, maxKeyTTL)
	checkDuration(&chk, "RefreshCooldown", &cfg.RefreshCooldown, DefaultRefreshCooldown, minRefreshCooldown, maxKeyTTL)
	if cfg.KeyTTL > 0 && cfg.KeyTTL < cfg.RefreshCooldown {
		// Keys would go stale while the cooldown still forbids a fetch,
		// denying every token in between.
		chk.Add("KeyTTL", fmt.Sprintf("%v is shorter than Config.RefreshCooldown %v", cfg.KeyTTL, cfg.RefreshCooldown), "want KeyTTL >= RefreshCooldown")
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.CacheSize > maxCacheSize {
		chk.Add("CacheSize", fmt.Sprintf("%d entries is too many", cfg.CacheSize), fmt.Sprintf("want at most %d, 0 for the default %d, or negative to disable the cache", maxCacheSize, DefaultCacheSize))
	}
	checkDuration(&chk, "Timeout", &cfg.Timeout, DefaultTimeout, minTimeout, maxTimeout)
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms
	}
	checkAlgs(&chk, "Algorithms", cfg.Algorithms)
	cfg.HTTPClient, cfg.Now, cfg.Logger, cfg.Posture = runtimeDefaults(cfg.HTTPClient, cfg.Timeout, cfg.Now, cfg.Logger, cfg.Posture)
	seen := map[string]bool{}
	cfg.Issuers = slices.Clone(cfg.Issuers)
	for i := range cfg.Issuers {
		is := &cfg.Issuers[i]
		f := fmt.Sprintf("Issuers[%d].", i)
		checkIssuerURL(&chk, f+"URL", is.URL, is.OptOuts)
		if seen[is.URL] {
			chk.Add(f+"URL", fmt.Sprintf("%q is listed twice", is.URL), "list each issuer once, with every audience it may use")
		}
		seen[is.URL] = true
		if len(is.Audiences) == 0 {
			is.Audiences = cfg.Audiences
		}
		if len(is.Audiences) == 0 || slices.Contains(is.Audiences, "") {
			chk.Add(f+"Audiences", fmt.Sprintf("issuer %q has no audience", is.URL), "set Config.Audiences or Config."+f+"Audiences to this API's identifier")
		}
		if slices.Contains(is.AuthorizedParties, "") {
			chk.Add(f+"AuthorizedParties", "holds an empty client ID", "list only real client IDs")
		}
		if len(is.Algorithms) == 0 {
			is.Algorithms = cfg.Algorithms
		} else {
			checkAlgs(&chk, f+"Algorithms", is.Algorithms)
		}
		checkOptOuts(&chk, f+"OptOuts", is.OptOuts, OptOutAllowUntypedTokens, OptOutAllowHTTPIssuer)
	}
	return cfg, chk.Err()
}

// checkDuration fills a zero *v with def and reports a value outside
// [lo, hi].
func checkDuration(c *paved.ConfigCheck, field string, v *time.Duration, def, lo, hi time.Duration) {
	if *v == 0 {
		*v = def
		return
	}
	if *v < lo || *v > hi {
		c.Add(field, fmt.Sprintf("%v is out of range", *v), fmt.Sprintf("want %v to %v, or 0 for the default %v", fmtDuration(lo), fmtDuration(hi), fmtDuration(def)))
	}
}

// checkInt is checkDuration for sizes.
func checkInt(c *paved.ConfigCheck, field string, v *int, def, lo, hi int, unit string) {
	if *v == 0 {
		*v = def
		return
	}
	if *v < lo || *v > hi {
		c.Add(field, fmt.Sprintf("%d %s is out of range", *v, unit), fmt.Sprintf("want %d to %d %s, or 0 for the default %d", lo, hi, unit, def))
	}
}

// fmtDuration prints a duration without trailing zero units: 1m, 90s,
// 1h30m.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// setting describes a setting for a control's Detail, saying when it is
// not the default: "skew 90s (default 1m)".
func setting[T comparable](name string, v, def T, format func(T) string) string {
	if v == def {
		return name + " " + format(v)
	}
	return name + " " + format(v) + " (default " + format(def) + ")"
}

func bytesText(n int) string { return fmt.Sprintf("%d B", n) }
func countText(n int) string { return fmt.Sprint(n) }

// runtimeDefaults fills the fields [Config], [LoginConfig] and
// [ServiceConfig] share: a client with the given timeout, time.Now,
// slog.Default() and paved.DefaultPosture().
func runtimeDefaults(client *http.Client, timeout time.Duration, now func() time.Time, logger *slog.Logger, posture *paved.Posture) (*http.Client, func() time.Time, *slog.Logger, *paved.Posture) {
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	return client, now, logger, paved.PostureOrDefault(posture)
}

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

func checkAlgs(c *paved.ConfigCheck, field string, algs []string) {
	for _, a := range algs {
		if !asymmetricAlgs[a] {
			c.Add(field, fmt.Sprintf("%q is not allowed", truncate(a, 16)), "use asymmetric algorithms only ("+strings.Join(DefaultAlgorithms, ", ")+")")
		}
	}
}

// checkIssuerURL reports an issuer URL that is not absolute https (http
// only with a valid [AllowHTTPIssuer]). An AllowHTTPIssuer without a
// reason is reported by checkOptOuts, not here, so the message says the
// reason is empty rather than that the opt-out is missing.
func checkIssuerURL(c *paved.ConfigCheck, field, raw string, opts []paved.OptOut) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		c.Add(field, fmt.Sprintf("%q is not an absolute URL without query or fragment", truncate(raw, 200)), "want the issuer identifier, such as \"https://login.example.com/realms/main\"")
		return
	}
	switch u.Scheme {
	case "https":
	case "http":
		if given, _ := optOut(opts, OptOutAllowHTTPIssuer); !given {
			c.Add(field, fmt.Sprintf("%q uses http", raw), "use https, or add auth.AllowHTTPIssuer(reason) to its OptOuts")
		}
	default:
		c.Add(field, fmt.Sprintf("%q: scheme %q is not https", raw, u.Scheme), "use an https issuer URL")
	}
}

// checkEndpointURL refuses a discovered endpoint that is not https (http
// only with [AllowHTTPIssuer]).
func checkEndpointURL(issuer, name, raw string, opts []paved.OptOut) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && hasOptOut(opts, OptOutAllowHTTPIssuer))) {
		return fmt.Errorf("auth: issuer %q advertises %s %q: want an https URL", issuer, name, raw)
	}
	return nil
}

// checkOptOuts reports each opt-out that does not apply here or has no
// reason (wrapping paved.ErrNoReason).
func checkOptOuts(c *paved.ConfigCheck, field string, opts []paved.OptOut, allowed ...string) {
	for i, o := range opts {
		f := fmt.Sprintf("%s[%d]", field, i)
		if o.Component != Component || !slices.Contains(allowed, o.Name) {
			c.Add(f, fmt.Sprintf("opt-out %s/%s does not apply here", o.Component, o.Name), "use one of auth's "+strings.Join(allowed, ", "))
			continue
		}
		if err := o.Validate(); err != nil {
			c.Merge(&paved.ConfigError{
				Component: Component, Field: c.Prefix + f, Err: err,
				Problem: fmt.Sprintf("the reason of opt-out %s/%s is empty", o.Component, o.Name),
				Fix:     "say why this service needs it, such as auth.AllowHTTPIssuer(\"Vault dev server on loopback\")",
			})
		}
	}
}

// optOut reports whether opts holds auth's opt-out name, and whether that
// opt-out is valid (has a reason).
func optOut(opts []paved.OptOut, name string) (given, valid bool) {
	for _, o := range opts {
		if o.Component == Component && o.Name == name {
			given = true
			if o.Validate() == nil {
				return true, true
			}
		}
	}
	return given, false
}

func hasOptOut(opts []paved.OptOut, name string) bool {
	_, valid := optOut(opts, name)
	return valid
}
