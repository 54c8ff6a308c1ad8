package main

import (
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pavedroad/paved"
)

// Config is everything the service reads from its environment. Each field
// names its variable; [LoadConfig] fills and validates it.
type Config struct {
	Name        string // SERVICE_NAME: the service in logs, traces, posture and the SBOM.
	Environment string // SERVICE_ENVIRONMENT: "production" (default) or "staging"; held to the org policy.
	Addr        string // SERVICE_ADDR: where to listen; default ":8443" (every interface: it runs in a pod).

	VaultAddr  string // VAULT_ADDR: Vault's https URL. Required.
	VaultRole  string // VAULT_ROLE: the Vault Kubernetes-auth role bound to the pod's service account. Required.
	VaultToken string // VAULT_TOKEN_FILE: the projected service-account token; default secrets.DefaultServiceAccountTokenFile.

	PKIMount string   // VAULT_PKI_MOUNT: the PKI engine's mount; default "pki".
	PKIRole  string   // VAULT_PKI_ROLE: the PKI role that issues the server's certificate. Required.
	TLSNames []string // TLS_NAMES: comma-separated DNS names; the first is the common name. Required.

	IssuerURL string // OIDC_ISSUER: the OpenID provider's https issuer URL. Required.
	Audience  string // OIDC_AUDIENCE: the audience tokens must carry. Required.
	IssuerCA  string // OIDC_CA_FILE: PEM file of the CA that signs the issuer's certificate (a private CA); empty: the system roots.

	DatabaseURL  string // DATABASE_URL: postgres://host/db?sslmode=verify-full, no user or password (Vault supplies them); empty: no database.
	DatabaseRole string // DATABASE_ROLE: the Vault database role ("database/creds/ROLE"); required with DATABASE_URL.

	PolicyBundleURL string // POLICY_BUNDLE_URL: the OPA bundle on a bundle server; empty: the embedded authz/ policy.
	PolicyKeyFile   string // POLICY_BUNDLE_KEY_FILE: PEM public key that verifies the bundle; required with the URL.
	PolicyCA        string // POLICY_BUNDLE_CA_FILE: PEM file of the CA that signs the bundle server's certificate; empty: the system roots.

	TrustedProxies []string // TRUSTED_PROXIES: comma-separated addresses or CIDRs (the ingress controller's pods) whose X-Forwarded-For names the client; empty: the TCP peer is the client.

	RedisAddr  string        // REDIS_ADDR: host:port of the Redis shared by the replicas; empty: a limit per replica.
	RedisUser  string        // REDIS_USERNAME: the Redis ACL user; empty: the default user. Its password is the KV key redis_password (appSecrets), never a variable.
	RedisTLS   bool          // REDIS_TLS: "true" (default) or "false": TLS to Redis, its certificate verified.
	RedisCA    string        // REDIS_CA_FILE: PEM file of the CA that signed Redis's certificate; empty: the system roots.
	RedisPlain string        // REDIS_PLAINTEXT_REASON: required with REDIS_TLS=false: why the limit's traffic may cross the network unencrypted.
	RateLimit  int           // RATE_LIMIT: requests per RATE_WINDOW per client; default 600.
	RateWindow time.Duration // RATE_WINDOW: default 1m.
}

// LoadConfig reads the configuration through getenv and validates it,
// returning every fault at once (each a *paved.ConfigError naming its
// variable) so that a bad deployment is fixed in one round.
func LoadConfig(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Name: get("SERVICE_NAME", "service-template"), Environment: get("SERVICE_ENVIRONMENT", "production"),
		Addr:      get("SERVICE_ADDR", ":8443"),
		VaultAddr: get("VAULT_ADDR", ""), VaultRole: get("VAULT_ROLE", ""), VaultToken: get("VAULT_TOKEN_FILE", ""),
		PKIMount: get("VAULT_PKI_MOUNT", "pki"), PKIRole: get("VAULT_PKI_ROLE", ""),
		IssuerURL: get("OIDC_ISSUER", ""), Audience: get("OIDC_AUDIENCE", ""), IssuerCA: get("OIDC_CA_FILE", ""),
		DatabaseURL: get("DATABASE_URL", ""), DatabaseRole: get("DATABASE_ROLE", ""),
		PolicyBundleURL: get("POLICY_BUNDLE_URL", ""), PolicyKeyFile: get("POLICY_BUNDLE_KEY_FILE", ""),
		PolicyCA:  get("POLICY_BUNDLE_CA_FILE", ""),
		RedisAddr: get("REDIS_ADDR", ""), RedisUser: get("REDIS_USERNAME", ""),
		RedisCA: get("REDIS_CA_FILE", ""), RedisPlain: get("REDIS_PLAINTEXT_REASON", ""),
	}
	for _, n := range strings.Split(get("TLS_NAMES", ""), ",") {
		if n = strings.TrimSpace(n); n != "" {
			c.TLSNames = append(c.TLSNames, n)
		}
	}
	for _, p := range strings.Split(get("TRUSTED_PROXIES", ""), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	check := paved.ConfigCheck{Component: "service-template"}
	required := func(name, v, fix string) {
		if v == "" {
			check.Add(name, "not set", fix)
		}
	}
	httpsURL := func(name, v string) {
		if u, err := url.Parse(v); v != "" && (err != nil || u.Scheme != "https" || u.Host == "") {
			check.Add(name, strconv.Quote(v)+" is not an https URL", "want https://host[:port][/path]")
		}
	}
	if c.Environment != "production" && c.Environment != "staging" {
		check.Add("SERVICE_ENVIRONMENT", strconv.Quote(c.Environment)+" is not an environment", `want "production" or "staging"`)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		check.Add("SERVICE_ADDR", strconv.Quote(c.Addr)+" is not host:port", `want ":8443"`)
	}
	required("VAULT_ADDR", c.VaultAddr, "want Vault's https URL")
	httpsURL("VAULT_ADDR", c.VaultAddr)
	required("VAULT_ROLE", c.VaultRole, "want the Kubernetes-auth role of this service account")
	required("VAULT_PKI_ROLE", c.PKIRole, "want the PKI role that issues this service's certificate")
	required("TLS_NAMES", strings.Join(c.TLSNames, ","), "want the service's DNS names, such as orders.shop.svc")
	required("OIDC_ISSUER", c.IssuerURL, "want the OpenID provider's issuer URL")
	httpsURL("OIDC_ISSUER", c.IssuerURL)
	required("OIDC_AUDIENCE", c.Audience, "want the audience your provider puts in this service's tokens")
	if (c.DatabaseURL == "") != (c.DatabaseRole == "") {
		check.Add("DATABASE_ROLE", "DATABASE_URL and DATABASE_ROLE go together", "set both, or neither for no database")
	}
	if c.DatabaseURL != "" { // never echoed: it could hold a password
		const want = "want postgres://host:5432/db?sslmode=verify-full"
		switch u, err := url.Parse(c.DatabaseURL); {
		case err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "":
			check.Add("DATABASE_URL", "is not a postgres://host/db URL", want)
		case u.User != nil || u.Query().Has("user") || u.Query().Has("password"):
			check.Add("DATABASE_URL", "holds a user or password", want+": Vault supplies the credentials")
		case u.Query().Get("sslmode") != "verify-full":
			// The driver's default (prefer) falls back to plain TCP and never
			// checks the certificate: Vault's credentials would cross unprotected.
			check.Add("DATABASE_URL", "does not set sslmode=verify-full", want+" (add sslrootcert=FILE for a private CA)")
		}
	}
	httpsURL("POLICY_BUNDLE_URL", c.PolicyBundleURL)
	if c.PolicyBundleURL != "" && c.PolicyKeyFile == "" {
		check.Add("POLICY_BUNDLE_KEY_FILE", "not set", "want the PEM public key that signs the bundle: an unsigned bundle is refused")
	}
	if _, _, err := net.SplitHostPort(c.RedisAddr); c.RedisAddr != "" && err != nil {
		check.Add("REDIS_ADDR", strconv.Quote(c.RedisAddr)+" is not host:port", `want "redis:6379"`)
	}
	switch v := get("REDIS_TLS", "true"); v {
	case "true":
		c.RedisTLS = true
	case "false":
		// Plain TCP is a named opt-out with its reason, like any weakening:
		// logged at start-up, in the posture report, judged by the org policy.
		if c.RedisAddr != "" && c.RedisPlain == "" {
			check.Add("REDIS_PLAINTEXT_REASON", "not set with REDIS_TLS=false", "say why plain TCP to Redis is acceptable here, such as: the mesh sidecar encrypts pod traffic")
		}
	default:
		check.Add("REDIS_TLS", strconv.Quote(v)+" is not a boolean", `want "true" (the default) or "false"`)
	}
	if c.PolicyCA != "" && c.PolicyBundleURL == "" {
		check.Add("POLICY_BUNDLE_CA_FILE", "set without POLICY_BUNDLE_URL", "drop it, or set the bundle's URL")
	}
	if c.RedisCA != "" && !c.RedisTLS {
		check.Add("REDIS_CA_FILE", "set with REDIS_TLS=false", "drop it, or turn TLS on")
	}
	if c.RedisPlain != "" && c.RedisTLS {
		check.Add("REDIS_PLAINTEXT_REASON", "set while TLS to Redis is on", "drop it, or set REDIS_TLS=false")
	}
	for _, p := range c.TrustedProxies {
		_, perr := netip.ParsePrefix(p)
		if _, aerr := netip.ParseAddr(p); perr != nil && aerr != nil {
			check.Add("TRUSTED_PROXIES", strconv.Quote(p)+" is not an address or CIDR prefix", `want such as "10.42.0.0/16"`)
		}
	}
	var err error
	if c.RateLimit, err = strconv.Atoi(get("RATE_LIMIT", "600")); err != nil || c.RateLimit < 1 {
		check.Add("RATE_LIMIT", "not a positive integer", "want requests per window, such as 600")
	}
	if c.RateWindow, err = time.ParseDuration(get("RATE_WINDOW", "1m")); err != nil || c.RateWindow < time.Second {
		check.Add("RATE_WINDOW", "not a duration of 1s or more", `want a Go duration, such as "1m"`)
	}
	return c, check.Err()
}

// environ is where main reads the configuration; the tests call LoadConfig
// with a map instead.
var environ = os.Getenv
