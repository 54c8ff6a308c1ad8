package httpx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pavedroad/paved"
)

// Errors returned by [New] and [Server.Serve].
var (
	// ErrServerStarted is returned when Serve or ListenAndServe is called
	// a second time.
	ErrServerStarted = errors.New("httpx: server already started")
	// ErrPlainHTTP is the cause (ConfigError.Err) of New's error when no
	// certificate source is configured and plain HTTP was not opted into.
	ErrPlainHTTP = errors.New("httpx: plain HTTP requires the AllowPlainHTTP opt-out")
)

// A Server is a secure-by-default HTTP server: TLS, timeouts and limits,
// security headers, cross-origin protection, rate limiting, request IDs,
// panic recovery, an access log, and /livez and /readyz. Create it with
// [New]. A Server is also an http.Handler serving the full chain, which is
// handy with httptest.
type Server struct {
	cfg       Config
	logger    *slog.Logger
	posture   *paved.Posture
	reg       *paved.Registration
	sink      paved.Sink
	mux       *http.ServeMux
	root      http.Handler
	tlsConfig *tls.Config
	plain     bool
	devCA     string
	ips       *clientIPResolver
	cors      *http.CrossOriginProtection
	corsDeny  http.Handler
	limiter   *RateLimiter
	optOuts   []paved.OptOut
	storeOuts []paved.OptOut // the rate-limit store's own, also in optOuts

	checksMu sync.RWMutex
	checks   map[string]Check

	readyMu   sync.Mutex // serializes check runs; guards the cache
	readyAt   time.Time  // when the cached result was computed
	readyCode int
	readyBody healthBody
	readyLast string // last aggregate status, for readiness transition events

	started  atomic.Bool
	draining atomic.Bool
	ready    chan struct{}
	addrMu   sync.Mutex
	addr     net.Addr
}

var _ http.Handler = (*Server)(nil)

// New validates cfg, applies its defaults and returns the server. It
// registers the server as an instance of [Component] named cfg.Name in
// cfg.Posture and records its controls and opt-outs there. When cfg is
// invalid, the error holds a [paved.ConfigError] for every faulty field
// (list them with paved.ConfigErrors), each naming the field, what is
// wrong and what would be right; nothing is registered then.
func New(cfg Config) (*Server, error) {
	c := paved.ConfigCheck{Component: Component}
	s := &Server{ready: make(chan struct{}), checks: make(map[string]Check)}
	s.logger = cfg.Logger
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.posture = paved.PostureOrDefault(cfg.Posture)
	s.sink = cfg.Events

	opted, asked := checkOptOuts(&c, cfg.OptOuts)
	_, s.plain = opted[OptOutAllowPlainHTTP]
	plain := asked[OptOutAllowPlainHTTP] // asked for, even with a faulty reason

	// TLS.
	dev, isDev := cfg.Certificates.(*DevCertificate)
	switch {
	case plain && cfg.Certificates != nil:
		c.Add("Config.Certificates", "set, and Config.OptOuts holds httpx.AllowPlainHTTP",
			"choose one: remove the opt-out to serve TLS, or the certificate source to serve plain HTTP")
	case !plain && cfg.Certificates == nil:
		c.Merge(&paved.ConfigError{Component: Component, Field: "Config.Certificates",
			Problem: "no certificate source, and Config.OptOuts holds no httpx.AllowPlainHTTP",
			Fix:     "set a CertificateSource (NewFileCertificate, or NewDevCertificate with AllowDevCertificate), or add httpx.AllowPlainHTTP(reason) to Config.OptOuts",
			Err:     ErrPlainHTTP})
	case isDev && dev == nil:
		c.Add("Config.Certificates", "a nil *DevCertificate", "pass the value NewDevCertificate returned")
	case isDev:
		if !asked[OptOutAllowDevCertificate] {
			c.Add("Config.Certificates", "a development certificate, and Config.OptOuts holds no httpx.AllowDevCertificate",
				"add httpx.AllowDevCertificate(reason) to Config.OptOuts, or use a real certificate (NewFileCertificate)")
		}
		s.devCA = dev.CAFile()
	case !plain && isNilValue(cfg.Certificates):
		c.Add("Config.Certificates", fmt.Sprintf("a nil %T: every handshake would fail", cfg.Certificates),
			"pass the value its constructor returned")
	}
	if plain && cfg.MinTLSVersion != 0 {
		c.Add("Config.MinTLSVersion", "set, and Config.OptOuts holds httpx.AllowPlainHTTP",
			"a TLS version needs TLS: remove the opt-out or the version")
	}
	if plain && cfg.ClientCAs != nil {
		c.Add("Config.ClientCAs", "set (mutual TLS), and Config.OptOuts holds httpx.AllowPlainHTTP",
			"mutual TLS needs TLS: remove the opt-out or the client CA pool")
	}
	if asked[OptOutAllowDevCertificate] && !isDev {
		c.Add("Config.OptOuts", "holds httpx.AllowDevCertificate, but Config.Certificates is not a *DevCertificate",
			"remove the opt-out")
	}
	switch cfg.MinTLSVersion {
	case 0:
		cfg.MinTLSVersion = tls.VersionTLS12
	case tls.VersionTLS12, tls.VersionTLS13:
	default:
		c.Add("Config.MinTLSVersion", fmt.Sprintf("%#x is not a version the server offers", cfg.MinTLSVersion),
			"want tls.VersionTLS12 (the default) or tls.VersionTLS13")
	}
	if !plain && cfg.Certificates != nil {
		s.tlsConfig = TLSConfig(cfg.Certificates, cfg.ClientCAs, cfg.MinTLSVersion)
	}

	// Address.
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
		if plain {
			cfg.Addr = DefaultPlainAddr
		}
	}
	if _, port, err := net.SplitHostPort(cfg.Addr); err != nil {
		c.Add("Config.Addr", fmt.Sprintf("%q is not host:port (%v)", cfg.Addr, err), `want host:port, such as "127.0.0.1:8443" or ":8443"`)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		c.Add("Config.Addr", fmt.Sprintf("%q has no valid port", cfg.Addr), "the port must be a number from 0 to 65535")
	}

	// Timeouts and limits.
	checkRange(&c, "Config.ReadTimeout", &cfg.ReadTimeout, DefaultReadTimeout, minReadTimeout, maxReadTimeout, fmtDur)
	rtOK := cfg.ReadTimeout >= minReadTimeout && cfg.ReadTimeout <= maxReadTimeout
	if cfg.ReadHeaderTimeout == 0 && rtOK && cfg.ReadTimeout < DefaultReadHeaderTimeout {
		cfg.ReadHeaderTimeout = cfg.ReadTimeout // the read deadline covers the header too
	}
	checkRange(&c, "Config.ReadHeaderTimeout", &cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout, minReadHeaderTimeout, maxReadHeaderTimeout, fmtDur)
	rhtOK := cfg.ReadHeaderTimeout >= minReadHeaderTimeout && cfg.ReadHeaderTimeout <= maxReadHeaderTimeout
	if rtOK && rhtOK && cfg.ReadHeaderTimeout > cfg.ReadTimeout {
		c.Add("Config.ReadHeaderTimeout", fmt.Sprintf("%s is above Config.ReadTimeout %s", fmtDur(cfg.ReadHeaderTimeout), fmtDur(cfg.ReadTimeout)),
			"set it no higher than ReadTimeout, whose deadline covers the header too")
	}
	checkRange(&c, "Config.WriteTimeout", &cfg.WriteTimeout, DefaultWriteTimeout, minWriteTimeout, maxWriteTimeout, fmtDur)
	checkRange(&c, "Config.IdleTimeout", &cfg.IdleTimeout, DefaultIdleTimeout, minIdleTimeout, maxIdleTimeout, fmtDur)
	checkRange(&c, "Config.DrainTimeout", &cfg.DrainTimeout, DefaultDrainTimeout, minDrainTimeout, maxDrainTimeout, fmtDur)
	checkRange(&c, "Config.CheckTimeout", &cfg.CheckTimeout, DefaultCheckTimeout, minCheckTimeout, maxCheckTimeout, fmtDur)
	checkRange(&c, "Config.MaxHeaderBytes", &cfg.MaxHeaderBytes, DefaultMaxHeaderBytes, minMaxHeaderBytes, maxMaxHeaderBytes, fmtBytes[int])
	checkRange(&c, "Config.MaxBodyBytes", &cfg.MaxBodyBytes, DefaultMaxBodyBytes, minMaxBodyBytes, maxMaxBodyBytes, fmtBytes[int64])
	if cfg.Headers != ProfileAPI && cfg.Headers != ProfileHTML {
		c.Add("Config.Headers", fmt.Sprintf("%v is not a profile", cfg.Headers), "want ProfileAPI (the default) or ProfileHTML")
	}

	// Client identity, cross-origin, rate limit.
	var err error
	s.ips, err = newClientIPResolver(cfg.ClientIP, "Config.ClientIP.")
	c.Merge(err)
	if asked[OptOutDisableCrossOriginProtection] {
		if len(cfg.TrustedOrigins) > 0 {
			c.Add("Config.TrustedOrigins", "set, and Config.OptOuts disables cross-origin protection",
				"choose one: trusted origins keep the protection for everyone else")
		}
	} else {
		s.cors, s.corsDeny, err = newCrossOrigin(cfg.TrustedOrigins, cfg.Events, "Config.")
		c.Merge(err)
	}
	var storeOptOuts []paved.OptOut // the store's own opt-outs
	if rl := cfg.RateLimit; asked[OptOutDisableRateLimit] && (rl.Policy != RatePolicy{} || rl.Store != nil || rl.MaxClients != 0 || rl.Key != nil) {
		c.Add("Config.RateLimit", "set, and Config.OptOuts holds httpx.DisableRateLimit",
			"choose one: remove the opt-out to apply the limit, or the limit's settings")
	}
	if !asked[OptOutDisableRateLimit] {
		rl := cfg.RateLimit
		if rl.Logger == nil {
			rl.Logger = s.logger
		}
		if rl.Events == nil {
			rl.Events = cfg.Events
		}
		s.limiter, err = newRateLimiter(rl, "Config.RateLimit.")
		c.Merge(err)
		if o, ok := rl.Store.(interface{ OptOuts() []paved.OptOut }); ok {
			for i, x := range o.OptOuts() {
				if err := x.Validate(); err != nil {
					c.AddErr("Config.RateLimit.Store", fmt.Errorf("opt-out %d of the store: %w", i, err), "fix the store's configuration")
					continue
				}
				storeOptOuts = append(storeOptOuts, x)
			}
		}
	}
	if err := c.Err(); err != nil {
		return nil, err
	}

	s.mux = http.NewServeMux()
	s.root = cfg.Handler
	if s.root == nil {
		s.root = s.mux
	}
	s.cfg = cfg
	for _, name := range []string{OptOutAllowPlainHTTP, OptOutAllowDevCertificate, OptOutDisableRateLimit, OptOutDisableCrossOriginProtection} {
		if o, ok := opted[name]; ok {
			s.optOuts = append(s.optOuts, o)
		}
	}
	s.optOuts = append(s.optOuts, storeOptOuts...)
	s.storeOuts = storeOptOuts
	s.reg = s.posture.Register(Component, cfg.Name)
	for i := range s.optOuts {
		s.optOuts[i].Instance = s.reg.Instance()
		_ = s.reg.AddOptOut(s.optOuts[i]) // validated above
	}
	s.registerControls()
	// Logged now, not only when Serve starts: a server may be served by
	// an http.Server of the caller's, through Handler.
	s.posture.LogOptOuts(context.Background(), s.logger)
	return s, nil
}

// checkOptOuts validates the server's opt-outs. It returns the valid ones
// by name, and the names asked for, valid or not, so that an opt-out with
// a faulty reason is reported once, as such, and not again as missing.
func checkOptOuts(c *paved.ConfigCheck, list []paved.OptOut) (opted map[string]paved.OptOut, asked map[string]bool) {
	opted, asked = map[string]paved.OptOut{}, map[string]bool{}
	for i, o := range list {
		field := fmt.Sprintf("Config.OptOuts[%d]", i)
		ctor, ours := optOutConstructors[o.Name]
		switch {
		case o.Component == "" || o.Name == "":
			c.Add(field, fmt.Sprintf("%q/%q names no component or no opt-out", o.Component, o.Name),
				"build it with its package's constructor, such as httpx.AllowPlainHTTP(reason)")
		case o.Component != Component:
			c.Add(field, fmt.Sprintf("%s/%s belongs to package %s, not httpx", o.Component, o.Name, o.Component),
				"give it to the configuration of the package that owns it")
		case !ours:
			c.Add(field, fmt.Sprintf("unknown httpx opt-out %q", o.Name),
				"use httpx.AllowPlainHTTP, AllowDevCertificate, DisableRateLimit or DisableCrossOriginProtection")
		default:
			asked[o.Name] = true
			if err := o.Validate(); err != nil {
				c.Merge(&paved.ConfigError{Component: Component, Field: field,
					Problem: "the reason given to httpx." + ctor.name + " is empty",
					Fix:     "say why this server leaves the secure default, such as httpx." + ctor.name + "(" + strconv.Quote(ctor.example) + ")",
					Err:     err})
				continue
			}
			opted[o.Name] = o
		}
	}
	return opted, asked
}

// isNilValue reports whether c holds a nil pointer, func, map, slice, chan
// or interface: non-nil as an interface, but unusable.
func isNilValue(c CertificateSource) bool {
	switch v := reflect.ValueOf(c); v.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// registerControls writes the server's controls to its registration. A
// setting changed from its default says so in the detail.
func (s *Server) registerControls() {
	c := s.cfg
	set := s.reg.SetControl
	if s.plain {
		set("tls", false, "plain HTTP (opt-out)")
	} else {
		v := "1.2"
		if c.MinTLSVersion == tls.VersionTLS13 {
			v = "1.3"
		}
		set("tls", true, "TLS "+v+"+, ECDHE AEAD suites only, X25519MLKEM768/X25519/P-256/P-384")
		if s.devCA != "" {
			set("tls-certificate", false, "development CA (opt-out)")
		} else if d, ok := c.Certificates.(fmt.Stringer); ok {
			set("tls-certificate", true, d.String())
		} else {
			set("tls-certificate", true, fmt.Sprintf("%T", c.Certificates))
		}
		if c.ClientCAs != nil {
			set("mtls", true, "client certificates required and verified")
		}
	}
	set("timeouts", true, strings.Join([]string{
		setting("read-header", c.ReadHeaderTimeout, DefaultReadHeaderTimeout, fmtDur),
		setting("read", c.ReadTimeout, DefaultReadTimeout, fmtDur),
		setting("write", c.WriteTimeout, DefaultWriteTimeout, fmtDur),
		setting("idle", c.IdleTimeout, DefaultIdleTimeout, fmtDur),
		setting("drain", c.DrainTimeout, DefaultDrainTimeout, fmtDur),
		setting("check", c.CheckTimeout, DefaultCheckTimeout, fmtDur),
	}, ", "))
	set("size-limits", true, setting("header", c.MaxHeaderBytes, DefaultMaxHeaderBytes, fmtBytes[int])+" (431), "+
		setting("body", c.MaxBodyBytes, DefaultMaxBodyBytes, fmtBytes[int64])+" (413)")
	set("security-headers", true, "profile "+c.Headers.String())
	set("cross-origin-protection", s.cors != nil, fmt.Sprintf("%d trusted origin(s)", len(c.TrustedOrigins)))
	if s.limiter != nil {
		set("rate-limit", true, s.limiter.detail())
	} else {
		set("rate-limit", false, "disabled (opt-out)")
	}
	if len(s.storeOuts) > 0 {
		// The store leaves a secure default (such as failing open when
		// its backend fails): a weakened control, like any opt-out.
		names := make([]string, len(s.storeOuts))
		for i, o := range s.storeOuts {
			names[i] = o.Component + "/" + o.Name
		}
		set("rate-limit-store", false, "opt-out "+strings.Join(names, ", "))
	}
	set("request-id", true, "")
	set("panic-recovery", true, "")
	set("access-log", true, "credentials redacted")
	set("client-ip", true, fmt.Sprintf("%d trusted proxy prefix(es)", len(s.ips.trusted)))
}

// Instance returns the server's instance name in its posture: Config.Name,
// or the number it was given.
func (s *Server) Instance() string { return s.reg.Instance() }

// OptOuts returns the opt-outs in force, in a fixed order.
func (s *Server) OptOuts() []paved.OptOut { return slices.Clone(s.optOuts) }

// Handle registers h for pattern (http.ServeMux syntax, such as
// "GET /orders/{id}") on the server's mux. Like http.ServeMux.Handle it
// panics on an invalid or conflicting pattern, and it panics when
// Config.Handler was set, since the mux is then unused.
func (s *Server) Handle(pattern string, h http.Handler) {
	if s.cfg.Handler != nil {
		panic("httpx: Server.Handle called but Config.Handler is set: register routes on that handler")
	}
	s.mux.Handle(pattern, h)
}

// HandleFunc registers f for pattern; see [Server.Handle].
func (s *Server) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	s.Handle(pattern, http.HandlerFunc(f))
}

// ServeHTTP serves r through the full default chain: client address,
// request ID, access log, panic recovery, security headers, header size
// limit, /livez and /readyz, cross-origin protection, rate limit, body
// limit, then the handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st, w, r := ensure(w, r)
	s.ips.resolve(st, r)
	assignRequestID(st, w, r)
	defer func() {
		abort := false
		if v := recover(); v != nil {
			abort = handlePanic(s.logger, s.sink, st, w, r, v)
		}
		if !abort {
			st.rw.finish()
		}
		if ctx := r.Context(); s.logger.Enabled(ctx, slog.LevelInfo) {
			logAccess(ctx, s.logger, st, r, s.cfg.AccessLogHeaders, time.Since(start))
		}
		if abort {
			panic(http.ErrAbortHandler)
		}
	}()
	setSecurityHeaders(st, w.Header(), s.cfg.Headers)
	if n := headerSize(r); n > s.cfg.MaxHeaderBytes {
		writeHeaderTooLarge(w, r, n, s.cfg.MaxHeaderBytes)
		return
	}
	switch r.URL.Path {
	case "/livez":
		s.livez(w, r)
		return
	case "/readyz":
		s.readyz(w, r)
		return
	}
	if s.cors != nil && s.cors.Check(r) != nil {
		s.corsDeny.ServeHTTP(w, r)
		return
	}
	if s.limiter != nil && !s.limiter.allow(st, w, r) {
		return
	}
	limitBody(st, w, r, s.cfg.MaxBodyBytes)
	s.root.ServeHTTP(w, r)
}

// Handler returns the full chain as an http.Handler; it is s itself.
func (s *Server) Handler() http.Handler { return s }

// Addr returns the address the server is bound to, or nil before it
// listens. Wait on [Server.Ready] first.
func (s *Server) Addr() net.Addr {
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	return s.addr
}

// Ready returns a channel closed once the server listens.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// URL returns the base URL of the listening server ("https://127.0.0.1:8443"),
// or "" before it listens.
func (s *Server) URL() string {
	a := s.Addr()
	if a == nil {
		return ""
	}
	if s.plain {
		return "http://" + a.String()
	}
	return "https://" + a.String()
}

// DevCAFile returns the CA file of a [DevCertificate] source, or "".
func (s *Server) DevCAFile() string { return s.devCA }

// ListenAndServe listens on Config.Addr and serves until ctx ends, then
// shuts down gracefully: the listener closes at once (new connections are
// refused), /readyz reports "draining", in-flight requests have
// Config.DrainTimeout to finish, and remaining connections are then
// closed. It returns nil after a clean drain.
func (s *Server) ListenAndServe(ctx context.Context) error {
	if s.started.Load() {
		return ErrServerStarted
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("httpx: listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, like [Server.ListenAndServe]. It
// closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if !s.started.CompareAndSwap(false, true) {
		_ = ln.Close()
		return ErrServerStarted
	}
	c := s.cfg
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes + headerBackstop, // the chain enforces the exact limit
		TLSConfig:         s.tlsConfig,
		ErrorLog:          log.New(serverErrorWriter{s.logger}, "", 0),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.addrMu.Lock()
	s.addr = ln.Addr()
	s.addrMu.Unlock()

	s.posture.LogOptOuts(ctx, s.logger)
	attrs := []slog.Attr{slog.String("addr", ln.Addr().String()), slog.Bool("tls", !s.plain)}
	if s.devCA != "" {
		attrs = append(attrs, slog.String("dev_ca_file", s.devCA),
			slog.String("try", "curl --cacert "+s.devCA+" "+s.URL()+"/livez"))
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, "httpx: serving", attrs...)

	errc := make(chan error, 1)
	go func() {
		if s.plain {
			errc <- srv.Serve(ln)
		} else {
			errc <- srv.ServeTLS(ln, "", "")
		}
	}()
	close(s.ready)
	select {
	case err := <-errc:
		return fmt.Errorf("httpx: serve: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.logger.LogAttrs(context.WithoutCancel(ctx), slog.LevelInfo, "httpx: draining", slog.Duration("deadline", c.DrainTimeout))
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.DrainTimeout)
	defer cancel()
	err := srv.Shutdown(dctx)
	<-errc
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("httpx: drain deadline of %v passed with requests in flight: %w", c.DrainTimeout, err)
	}
	s.logger.LogAttrs(context.WithoutCancel(ctx), slog.LevelInfo, "httpx: stopped")
	return nil
}

// serverErrorWriter sends net/http's own error log to the slog logger:
// failed TLS handshakes (scanners, clients refused for old protocols) at
// debug level so that they cannot flood the log, everything else at warn.
type serverErrorWriter struct{ logger *slog.Logger }

func (w serverErrorWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.Contains(msg, "TLS handshake error") {
		level = slog.LevelDebug
	}
	w.logger.LogAttrs(context.Background(), level, msg, slog.String("source", "net/http"))
	return len(p), nil
}

// NotifyContext returns a copy of ctx that ends on SIGINT or SIGTERM, for
// ListenAndServe's graceful shutdown. Call stop to release the signals.
func NotifyContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}
