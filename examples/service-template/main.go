package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/httpx/redislimit"
	"github.com/pavedroad/paved/policy"
	"github.com/pavedroad/paved/sbom"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/pgxsecrets"
	"github.com/pavedroad/paved/telemetry"
)

// authzFiles is the embedded policy, used when POLICY_BUNDLE_URL is unset.
//
//go:embed authz
var authzFiles embed.FS

// appSecrets is filled from Vault KV at start-up by secrets.Inject, one
// field per key. A secrets.Secret prints as REDACTED: call Reveal only
// where the value is used (here: where you would call a partner API).
type appSecrets struct {
	PartnerAPIKey secrets.Secret `secret:"secret/service-template#partner_api_key"`
	RedisPassword secrets.Secret `secret:"secret/service-template#redis_password,optional"` // absent: no AUTH password (refused with REDIS_USERNAME)
}

// seams are what the tests replace; production leaves every field zero.
type seams struct {
	vault         secrets.Backend     // nil: the Vault at VAULT_ADDR
	vaultLogin    secrets.LoginMethod // nil: Kubernetes auth with VAULT_ROLE
	vaultOptOuts  []paved.OptOut      // what the fake's static login needs
	issuerOptOuts []paved.OptOut      // what a provider without RFC 9068 access tokens needs (Vault's, in the end-to-end test)
	orgWaivers    []paved.OptOut      // rules of the org policy waived, each with its reason (policy.AllowOrgViolation)
	issuerClient  *http.Client        // nil: a client trusting OIDC_CA_FILE, or the system roots
	bundleClient  *http.Client        // nil: a client trusting POLICY_BUNDLE_CA_FILE, or the system roots
	logger        *slog.Logger        // nil: JSON lines on stderr
	ready         func(url string, ca *x509.CertPool)
}

func main() {
	// SIGTERM (Kubernetes stopping the pod) or SIGINT ends ctx: the server
	// stops accepting, drains in-flight requests, then run returns and
	// every block closes in reverse order of creation.
	ctx, stop := httpx.NotifyContext(context.Background())
	defer stop()
	cfg, err := LoadConfig(environ) // every fault at once, each naming its variable
	if err == nil {
		err = run(ctx, cfg, seams{})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "service-template:", err)
		stop()
		os.Exit(1) // stop has run: the deferred call would not
	}
}

// run builds every block from cfg, serves until ctx ends, then closes them.
func run(ctx context.Context, cfg Config, s seams) error {
	logger := s.logger
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	// One posture for the whole service: every block records its controls
	// and opt-outs here; /posture serves it and CheckConfig judges it.
	posture := new(paved.Posture)

	// Telemetry first, so that every later block is traced and metered.
	// The standard OTEL_* variables choose the collector (OTLP when
	// OTEL_EXPORTER_OTLP_ENDPOINT is set, nothing otherwise).
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: cfg.Name, Environment: cfg.Environment, Logger: logger, Posture: posture})
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	defer closeWith(logger, "telemetry", tel.Shutdown)
	logger = slog.New(tel.LogHandler(logger.Handler())) // trace and span IDs in every log line

	// Vault: Kubernetes auth with the pod's projected service-account
	// token; the client renews its token and re-logs in by itself.
	vcfg := secrets.Config{Name: cfg.Name, Logger: logger, Posture: posture, OptOuts: s.vaultOptOuts,
		Login: secrets.KubernetesLogin{Role: cfg.VaultRole, TokenFile: cfg.VaultToken}}
	if s.vault != nil {
		vcfg.Backend, vcfg.Login = s.vault, s.vaultLogin
	} else {
		vcfg.Vault = secrets.VaultConfig{Address: cfg.VaultAddr}
	}
	vault, err := secrets.New(ctx, vcfg)
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	defer closeWith(logger, "vault", vault.Close) // revokes the token last, after the leases below

	// Static secrets from KV, read once at start-up.
	var app appSecrets
	if err := vault.Inject(ctx, &app); err != nil {
		return fmt.Errorf("vault kv: %w", err)
	}

	// TLS: a certificate from Vault PKI, renewed at 2/3 of its lifetime;
	// httpx takes it as its certificate source, so each new handshake
	// gets the current one.
	cert, err := vault.PKI(ctx, secrets.PKIConfig{Mount: cfg.PKIMount, Role: cfg.PKIRole,
		CommonName: cfg.TLSNames[0], AltNames: cfg.TLSNames[1:], Posture: posture, Logger: logger})
	if err != nil {
		return fmt.Errorf("vault pki: %w", err)
	}
	defer closeWith(logger, "tls certificate", cert.Close)

	// PostgreSQL with dynamic credentials: the pool is rebuilt with fresh
	// ones before each lease ends, without dropping requests.
	var db *pgxsecrets.Pool
	if cfg.DatabaseURL != "" {
		db, err = pgxsecrets.New(ctx, vault, pgxsecrets.Config{ConnString: cfg.DatabaseURL,
			Dynamic: secrets.DynamicConfig{Path: "database/creds/" + cfg.DatabaseRole, Posture: posture}, Logger: logger})
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		defer closeWith(logger, "database", db.Close) // drains the pool, then revokes its lease
	}

	// Callers: bearer tokens from the OpenID provider, keys from its JWKS,
	// fetched over TLS verified against OIDC_CA_FILE or the system roots.
	issuerClient, err := clientFor(s.issuerClient, "OIDC_CA_FILE", cfg.IssuerCA)
	if err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	if issuerClient != s.issuerClient { // ours: its idle connections (two goroutines each) end with run
		defer issuerClient.CloseIdleConnections()
	}
	verifier, err := auth.New(ctx, auth.Config{Issuers: []auth.Issuer{{URL: cfg.IssuerURL, OptOuts: s.issuerOptOuts}}, Audiences: []string{cfg.Audience},
		HTTPClient: issuerClient, Logger: logger, Posture: posture})
	if err != nil {
		return fmt.Errorf("oidc: %w", err)
	}

	// Authorization: the OPA policy decides each request; a denial is a 403
	// problem+json carrying the decision ID, which finds it in the log.
	// A bundle server that does not answer at start-up does not stop it
	// (Kubernetes would only restart the pod): until a good bundle loads,
	// /readyz is 503 and every decision denies.
	bundleClient, err := clientFor(s.bundleClient, "POLICY_BUNDLE_CA_FILE", cfg.PolicyCA)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	if bundleClient != s.bundleClient {
		defer bundleClient.CloseIdleConnections() // after the poller has stopped (deferred below)
	}
	engine, err := newPolicy(ctx, cfg, bundleClient, logger, posture)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	// The poller runs until run returns, for any reason, and is waited
	// for before the blocks it logs and traces through close.
	pollCtx, stopPolling := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() { defer close(polled); _ = engine.Run(pollCtx) }() // polls the bundle server (no-op when embedded)
	defer func() { stopPolling(); <-polled }()
	authz, err := policy.NewAuthorizer(policy.AuthorizerConfig{Engine: engine, Query: "authz", Logger: logger, Posture: posture})
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}

	// Rate limit per client: shared by every replica through Redis when
	// REDIS_ADDR is set (failing closed when Redis is down), in memory
	// per replica otherwise.
	limit := httpx.RateLimitConfig{Policy: httpx.RatePolicy{Name: "api", Limit: cfg.RateLimit, Window: cfg.RateWindow}}
	var rdb *redis.Client
	if cfg.RedisAddr != "" {
		opts, err := redisOptions(ctx, cfg, app.RedisPassword, posture, logger)
		if err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
		rdb = redis.NewClient(opts)
		defer closeWith(logger, "redis", func(context.Context) error { return rdb.Close() })
		if limit.Store, err = redislimit.New(redislimit.Config{Client: rdb, Logger: logger}); err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
	}

	// The server: TLS 1.2+ from the PKI certificate, timeouts, size
	// limits, security headers, request IDs, access log, /livez, /readyz.
	// Behind the ingress, the TCP peer is the ingress controller: without
	// TRUSTED_PROXIES every caller would share its one rate-limit budget.
	srv, err := httpx.New(httpx.Config{Name: cfg.Name, Addr: cfg.Addr, Certificates: cert, RateLimit: limit, Logger: logger, Posture: posture,
		ClientIP: httpx.ClientIPConfig{TrustedProxies: cfg.TrustedProxies}})
	if err != nil {
		return err
	}
	// /readyz is 503 until each of these reports ready.
	srv.AddCheck("vault", vault)
	srv.AddCheck("tls", cert)
	srv.AddCheck("oidc", verifier)
	srv.AddCheck("policy", engine)
	if db != nil {
		srv.AddCheck("database", db)
	}
	if rdb != nil { // while Redis is down every request is denied: say so here too
		srv.AddCheck("redis", httpx.CheckFunc(func(ctx context.Context) error { return rdb.Ping(ctx).Err() }))
	}

	// The API: a token (401 without), then the policy (403 with its decision ID).
	api := func(pattern string, h http.HandlerFunc) {
		srv.Handle(pattern, tel.Middleware(verifier.Protect(authz.Middleware(h))))
	}
	api("GET /v1/orders", func(w http.ResponseWriter, r *http.Request) { listOrders(w, r, db) })
	api("DELETE /v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	// The service's own SBOM and posture report: for the platform team, so
	// behind a token (a module list with versions is a map for attackers).
	sbomHandler, err := sbom.NewHandler(sbom.HandlerConfig{Protect: verifier.Middleware(), Name: cfg.Name, Posture: posture, Logger: logger})
	if err != nil {
		return fmt.Errorf("sbom: %w", err)
	}
	srv.Handle("GET "+sbom.DefaultPath, sbomHandler)
	postureHandler, err := tel.PostureHandler(telemetry.PostureConfig{Posture: posture, Auth: verifier.Middleware()})
	if err != nil {
		return fmt.Errorf("posture: %w", err)
	}
	srv.Handle("GET /posture", postureHandler)

	// Last before serving: the organisation's policy judges the posture
	// every block recorded (TLS, limits, token checks, opt-outs...); a
	// violation stops start-up here, not in an audit months later.
	if _, err := policy.CheckConfig(ctx, policy.ConfigCheckConfig{Service: cfg.Name, Environment: cfg.Environment,
		AuthRequired: true, Posture: posture, Logger: logger, OptOuts: s.orgWaivers}); err != nil {
		return err
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe(ctx) }() // returns once ctx ends and requests have drained
	select {
	case err := <-errc:
		return err
	case <-srv.Ready():
	}
	logger.Info("serving", "url", srv.URL())
	if s.ready != nil {
		s.ready(srv.URL(), cert.CAPool())
	}
	return <-errc
}

// newPolicy loads the signed bundle from POLICY_BUNDLE_URL, verified with
// the key in POLICY_BUNDLE_KEY_FILE, or the embedded authz/ policy.
func newPolicy(ctx context.Context, cfg Config, client *http.Client, logger *slog.Logger, posture *paved.Posture) (*policy.Engine, error) {
	pcfg := policy.Config{Name: cfg.Name, Logger: logger, Posture: posture,
		Queries: []policy.QueryConfig{{Name: "authz", Path: "data.service.authz.decision"}}}
	if cfg.PolicyBundleURL != "" {
		key, err := os.ReadFile(cfg.PolicyKeyFile)
		if err != nil {
			return nil, fmt.Errorf("POLICY_BUNDLE_KEY_FILE: %w", err)
		}
		pcfg.Bundle = policy.BundleConfig{URL: cfg.PolicyBundleURL, Client: client, KeyID: "bundle",
			Keys: map[string]policy.VerificationKey{"bundle": {Key: string(key)}}}
	} else {
		sub, err := fs.Sub(authzFiles, "authz")
		if err != nil {
			return nil, err
		}
		pcfg.FS = sub
	}
	// A decision log (the raw token claims masked) next to the access log.
	decisions, err := policy.NewDecisionLog(policy.DecisionLogConfig{Logger: logger, Mask: []string{"/input/principal/claims"}})
	if err != nil {
		return nil, err
	}
	pcfg.DecisionLog = decisions
	return policy.New(ctx, pcfg)
}

// listOrders is the example business handler: replace it with yours.
func listOrders(w http.ResponseWriter, r *http.Request, db *pgxsecrets.Pool) {
	orders := []map[string]any{{"id": 1, "item": "paving stones"}}
	if db != nil {
		var now time.Time
		if err := db.QueryRow(r.Context(), "SELECT now()").Scan(&now); err != nil {
			httpx.Error(w, r, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		orders[0]["checked_at"] = now
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(orders)
}

// redisOptions connects to Redis over TLS (its certificate verified against
// REDIS_CA_FILE or the system roots), as REDIS_USERNAME with the password
// from Vault. Plain TCP needs REDIS_TLS=false and a reason, which becomes
// an opt-out in the posture report: the org policy judges its reason, and
// it is logged here.
func redisOptions(ctx context.Context, cfg Config, password secrets.Secret, posture *paved.Posture, logger *slog.Logger) (*redis.Options, error) {
	if cfg.RedisUser != "" && password.Reveal() == "" {
		// go-redis sends no AUTH without a password: the connection would
		// run as Redis's default user, not the ACL user configured.
		return nil, fmt.Errorf("REDIS_USERNAME %s is set but the Vault KV key redis_password is absent or empty: put the ACL user's password there", cfg.RedisUser)
	}
	opts := &redis.Options{Addr: cfg.RedisAddr, Username: cfg.RedisUser, Password: password.Reveal(), ContextTimeoutEnabled: true}
	reg := posture.Register("service-template", cfg.Name)
	if !cfg.RedisTLS {
		o := paved.NewOptOut("service-template", "allow-plaintext-redis", cfg.RedisPlain)
		if err := reg.AddOptOut(o); err != nil {
			return nil, err
		}
		reg.SetControl("redis-tls", false, "plain TCP to "+cfg.RedisAddr+" (opt-out)")
		posture.LogOptOuts(ctx, logger) // once per opt-out, as every block logs its own
		return opts, nil
	}
	host, _, _ := net.SplitHostPort(cfg.RedisAddr) // LoadConfig checked the form
	opts.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.RedisCA != "" {
		var err error
		if opts.TLSConfig.RootCAs, err = loadCA("REDIS_CA_FILE", cfg.RedisCA); err != nil {
			return nil, err
		}
	}
	reg.SetControl("redis-tls", true, "TLS 1.2+ to "+cfg.RedisAddr+", certificate verified")
	return opts, nil
}

// loadCA reads the PEM certificates in file (named by variable) into a
// pool of their own: a private CA replaces the system roots, it does not
// join them.
func loadCA(variable, file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(filepath.Clean(file))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", variable, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s %s: no PEM certificate in it", variable, file)
	}
	return pool, nil
}

// clientFor returns the HTTP client for a server whose certificate a
// private CA (file, named by variable) signs, or nil (the library's own
// client, on the system roots) when file is empty. A test's seam wins.
func clientFor(seam *http.Client, variable, file string) (*http.Client, error) {
	if seam != nil || file == "" {
		return seam, nil
	}
	pool, err := loadCA(variable, file)
	if err != nil {
		return nil, err
	}
	// http.DefaultTransport's settings (proxy from the environment, dial,
	// handshake and idle timeouts, HTTP/2) with paved's TLS floor.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12,
		CipherSuites: httpx.TLSConfig(nil, nil, 0).CipherSuites}
	// A redirect off https is refused before it is sent (the policy engine
	// checks a service's client's answer only, after its request left).
	noDowngrade := func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return fmt.Errorf("%s: refusing a redirect to a %s URL", variable, req.URL.Scheme)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: tr, CheckRedirect: noDowngrade}, nil
}

// closeWith closes one block within 10 seconds and logs a failure.
func closeWith(logger *slog.Logger, what string, close func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := close(ctx); err != nil {
		logger.Warn("close "+what, "error", err)
	}
}
