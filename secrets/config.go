package secrets

import (
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pavedroad/paved"
)

// Defaults applied by [New] to zero fields of [Config].
const (
	DefaultRefreshInterval   = 5 * time.Minute
	DefaultMaxStale          = time.Hour
	DefaultStartupAttempts   = 5
	DefaultRetryBase         = 500 * time.Millisecond
	DefaultRetryCap          = 30 * time.Second
	DefaultInjectConcurrency = 16
)

// Config configures a [Client]. The zero value plus a Login method is the
// most secure setting; every zero field takes the default its comment
// states. [New] validates all of it and returns a [paved.ConfigError] for
// every faulty field at once.
type Config struct {
	// Name names this client in the posture report; empty means numbered
	// in order of creation.
	Name string

	// Backend is where secrets come from: Vault through
	// [NewVaultBackend] or [VaultBackend], or the fake of package
	// secretstest. Default: Vault as the Vault field says.
	Backend Backend
	// Vault says how to reach Vault when Backend is nil.
	Vault VaultConfig

	// Login obtains the client token; required. [TokenLogin] needs the
	// [AllowStaticToken] opt-out.
	Login LoginMethod

	// RefreshInterval is how often static (KV) secrets are read again
	// to notice a change. Default 5m; from 1s to 24h. A refresh reads only
	// KV paths, never a dynamic secret's path.
	RefreshInterval time.Duration
	// MaxStale bounds how long, during an outage of Vault, a static
	// secret keeps being served from the last good read: past it, reads
	// fail with an *[Error] of reason [ReasonStale]. Default 1h; from 1s
	// to 7 days, and not below RefreshInterval.
	MaxStale time.Duration

	// StartupAttempts bounds the tries of the first login in [New]
	// before it fails closed. Default 5; from 1 to 100.
	StartupAttempts int
	// RetryBase and RetryCap shape the jittered exponential backoff of
	// every retry (login, renewal, refresh). Defaults 500ms and 30s;
	// RetryBase from 1ms to 1m, RetryCap from RetryBase to 10m.
	RetryBase, RetryCap time.Duration

	// InjectConcurrency bounds the reads [Client.Inject] runs at once.
	// Default 16; from 1 to 256.
	InjectConcurrency int

	// Clock gives the time and timers; default the system clock. The
	// secretstest fake's clock makes renewal testable.
	Clock Clock

	// Logger receives start-up, re-login and outage messages;
	// slog.Default when nil.
	Logger *slog.Logger
	// Posture records the client's controls and opt-outs;
	// paved.DefaultPosture when nil.
	Posture *paved.Posture
	// Events receives logins, renewals, failures and lease counts;
	// paved.DefaultSink when nil.
	Events paved.Sink

	// OptOuts lists the secure defaults this client leaves, each with its
	// reason: [AllowPlainHTTP], [AllowStaticToken].
	OptOuts []paved.OptOut
}

// A Clock tells the time and makes timers. [SystemClock] is the default.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

func (cfg *Config) validate() (Config, error) {
	c := *cfg
	chk := paved.ConfigCheck{Component: Component, Prefix: "Config."}
	opt := map[string]bool{}
	for _, o := range c.OptOuts {
		if err := o.Validate(); err != nil {
			chk.AddErr("OptOuts", err, "give each opt-out a reason")
			continue
		}
		if o.Component != Component {
			chk.Add("OptOuts", "opt-out "+o.String()+" belongs to "+o.Component, "put it in that component's configuration")
			continue
		}
		if _, ok := optOutConstructors[o.Name]; !ok {
			chk.Add("OptOuts", "unknown opt-out "+o.Name, "use AllowPlainHTTP or AllowStaticToken")
			continue
		}
		opt[o.Name] = true
	}
	if c.Login == nil {
		chk.Add("Login", "no login method", "set AppRoleLogin, KubernetesLogin, JWTLogin or CertLogin (TokenLogin with AllowStaticToken)")
	} else if c.Login.Method() == "token" && !opt[OptOutAllowStaticToken] {
		chk.Add("Login", "a fixed token cannot be replaced when it is revoked or expires",
			`use a login method, or add secrets.AllowStaticToken("`+optOutConstructors[OptOutAllowStaticToken].example+`")`)
	}
	if c.Backend == nil {
		addr := c.Vault.Address
		if addr == "" {
			addr = os.Getenv("VAULT_ADDR")
		}
		if checkVaultAddress(&chk, "Vault.Address", addr, opt[OptOutAllowPlainHTTP]) {
			c.Vault.Address = addr
		}
		switch {
		case c.Vault.TLS != nil && c.Vault.TLS.InsecureSkipVerify:
			chk.Add("Vault.TLS", "InsecureSkipVerify turns off the verification of Vault's certificate", "trust Vault's CA with RootCAs instead")
		case c.Vault.TLS == nil && envSkipVerify():
			chk.Add("Vault.TLS", "VAULT_SKIP_VERIFY turns off the verification of Vault's certificate", "unset it and trust Vault's CA with VAULT_CACERT or Vault.TLS.RootCAs")
		}
	} else if ac := APIClient(c.Backend); ac != nil {
		// A Backend over the caller's *api.Client gets the same checks.
		checkVaultAddress(&chk, "Backend", ac.Address(), opt[OptOutAllowPlainHTTP])
		if tr, ok := ac.CloneConfig().HttpClient.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil && tr.TLSClientConfig.InsecureSkipVerify {
			chk.Add("Backend", "its api.Client skips the verification of Vault's certificate (VAULT_SKIP_VERIFY or TLSConfig.Insecure)", "trust Vault's CA instead")
		}
	}
	durRange(&chk, "Vault.Timeout", &c.Vault.Timeout, DefaultVaultTimeout, 100*time.Millisecond, 5*time.Minute)
	durRange(&chk, "RefreshInterval", &c.RefreshInterval, DefaultRefreshInterval, time.Second, 24*time.Hour)
	durRange(&chk, "MaxStale", &c.MaxStale, DefaultMaxStale, time.Second, 7*24*time.Hour)
	if cfg.MaxStale != 0 && c.MaxStale < c.RefreshInterval {
		chk.Add("MaxStale", "below RefreshInterval", "make it at least RefreshInterval")
	} else if cfg.MaxStale == 0 && c.MaxStale < c.RefreshInterval {
		c.MaxStale = c.RefreshInterval
	}
	durRange(&chk, "RetryBase", &c.RetryBase, DefaultRetryBase, time.Millisecond, time.Minute)
	durRange(&chk, "RetryCap", &c.RetryCap, DefaultRetryCap, time.Millisecond, 10*time.Minute)
	if c.RetryCap < c.RetryBase {
		if cfg.RetryCap == 0 {
			c.RetryCap = c.RetryBase
		} else {
			chk.Add("RetryCap", "below RetryBase", "make it at least RetryBase")
		}
	}
	intRange(&chk, "StartupAttempts", &c.StartupAttempts, DefaultStartupAttempts, 1, 100)
	intRange(&chk, "InjectConcurrency", &c.InjectConcurrency, DefaultInjectConcurrency, 1, 256)
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, chk.Err()
}

func durRange(chk *paved.ConfigCheck, field string, v *time.Duration, def, lo, hi time.Duration) {
	if *v == 0 {
		*v = def
		return
	}
	if *v < lo || *v > hi {
		chk.Add(field, (*v).String()+" is out of range", "want from "+lo.String()+" to "+hi.String()+" (0 means "+def.String()+")")
	}
}

func intRange(chk *paved.ConfigCheck, field string, v *int, def, lo, hi int) {
	if *v == 0 {
		*v = def
		return
	}
	if *v < lo || *v > hi {
		chk.Add(field, "out of range", "want from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi)+" (0 means "+strconv.Itoa(def)+")")
	}
}

// checkVaultAddress adds the faults of Vault's address addr to chk and
// reports whether it is good: an http(s) URL, https unless the host is a
// loopback one or plainOK (the AllowPlainHTTP opt-out).
func checkVaultAddress(chk *paved.ConfigCheck, field, addr string, plainOK bool) bool {
	switch u, err := url.Parse(addr); {
	case addr == "":
		chk.Add(field, "empty and VAULT_ADDR not set", `set it, such as "https://vault.internal:8200"`)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		chk.Add(field, "not an http(s) URL", `want such as "https://vault.internal:8200"`)
	case u.Scheme == "http" && !loopback(u.Hostname()) && !plainOK:
		chk.Add(field, "plain http to a non-loopback host",
			`use https, or add secrets.AllowPlainHTTP("`+optOutConstructors[OptOutAllowPlainHTTP].example+`")`)
	default:
		return true
	}
	return false
}

// envSkipVerify reports whether VAULT_SKIP_VERIFY asks the api client not
// to verify Vault's certificate (read as api.Config.ReadEnvironment does).
func envSkipVerify() bool {
	v, err := strconv.ParseBool(os.Getenv("VAULT_SKIP_VERIFY"))
	return err == nil && v
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
