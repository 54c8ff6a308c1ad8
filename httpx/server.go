package httpx

import (
	"context"
	"crypto/tls"
	"encoding/json"
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

// Errors returned by [Server.Serve].
var (
	// ErrServerStarted is returned when Serve or ListenAndServe is called
	// a second time.
	ErrServerStarted = errors.New("httpx: server already started")
	// ErrPlainHTTP is wrapped by New's error when no certificate source is
	// configured and plain HTTP was not opted into.
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

	checksMu sync.RWMutex
	checks   map[string]Check

	readyMu   sync.Mutex // serializes check runs; guards the cache
	readyAt   time.Time  // when the cached result was computed
	readyCode int
	readyBody healthBody

	started  atomic.Bool
	draining atomic.Bool
	ready    chan struct{}
	addrMu   sync.Mutex
	addr     net.Addr
}

var _ http.Handler = (*Server)(nil)

// New validates cfg, applies its defaults and returns the server. It
// records the server's controls and opt-outs in cfg.Posture. The error
// names the field at fault.
func New(cfg Config) (*Server, error) {
	s := &Server{ready: make(chan struct{}), checks: make(map[string]Check)}
	s.logger = cfg.Logger
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.posture = paved.PostureOrDefault(cfg.Posture)
	s.sink = cfg.Events

	opted := map[string]paved.OptOut{}
	for i, o := range cfg.OptOuts {
		if err := o.Validate(); err != nil {
			return nil, fieldErr(fmt.Sprintf("Config.OptOuts[%d]", i), fmt.Errorf("httpx: Config.OptOuts[%d]: %w", i, err))
		}
		switch {
		case o.Component != Component:
			return nil, fieldErr(fmt.Sprintf("Config.OptOuts[%d]", i), fmt.Errorf("httpx: Config.OptOuts[%d] %s/%s belongs to %q, not httpx: give it to that package", i, o.Component, o.Name, o.Component))
		case o.Name == OptOutRedisLocalLimits:
			return nil, fieldErr(fmt.Sprintf("Config.OptOuts[%d]", i), fmt.Errorf("httpx: Config.OptOuts[%d] %s: put it in RedisStoreConfig.LocalFallback", i, o.Name))
		case o.Name != OptOutPlainHTTP && o.Name != OptOutDevCertificate && o.Name != OptOutNoRateLimit && o.Name != OptOutNoCrossOrigin:
			return nil, fieldErr(fmt.Sprintf("Config.OptOuts[%d]", i), fmt.Errorf("httpx: Config.OptOuts[%d]: unknown httpx opt-out %q", i, o.Name))
		}
		opted[o.Name] = o
	}
	_, s.plain = opted[OptOutPlainHTTP]

	// TLS.
	dev, isDev := cfg.Certificates.(*DevCertificate)
	switch {
	case s.plain && cfg.Certificates != nil:
		return nil, fieldErr("Config.Certificates", errors.New("httpx: Config.Certificates is set and Config.OptOuts holds AllowPlainHTTP: choose one"))
	case s.plain && cfg.ClientCAs != nil:
		return nil, fieldErr("Config.ClientCAs", errors.New("httpx: Config.ClientCAs (mTLS) needs TLS, but Config.OptOuts holds AllowPlainHTTP"))
	case !s.plain && cfg.Certificates == nil:
		return nil, fieldErr("Config.Certificates", fmt.Errorf("%w: Config.Certificates is nil; set a CertificateSource (NewFileCertificate, NewDevCertificate with AllowDevCertificate, or Vault PKI), or add httpx.AllowPlainHTTP(reason) to Config.OptOuts", ErrPlainHTTP))
	case isDev && dev == nil:
		return nil, fieldErr("Config.Certificates", errors.New("httpx: Config.Certificates is a nil *DevCertificate"))
	case isDev:
		if _, ok := opted[OptOutDevCertificate]; !ok {
			return nil, fieldErr("Config.Certificates", errors.New("httpx: Config.Certificates is a development certificate: add httpx.AllowDevCertificate(reason) to Config.OptOuts"))
		}
		s.devCA = dev.CAFile()
	}
	if _, ok := opted[OptOutDevCertificate]; ok && !isDev {
		return nil, fieldErr("Config.OptOuts", errors.New("httpx: Config.OptOuts holds AllowDevCertificate but Config.Certificates is not a *DevCertificate: remove the opt-out"))
	}
	if !s.plain && isNilValue(cfg.Certificates) {
		return nil, fieldErr("Config.Certificates", fmt.Errorf("httpx: Config.Certificates is a nil %T: every handshake would fail; pass the value its constructor returned", cfg.Certificates))
	}
	switch cfg.MinTLSVersion {
	case 0:
		cfg.MinTLSVersion = tls.VersionTLS12
	case tls.VersionTLS12, tls.VersionTLS13:
	default:
		return nil, fieldErr("Config.MinTLSVersion", fmt.Errorf("httpx: Config.MinTLSVersion %#x: want tls.VersionTLS12 or tls.VersionTLS13", cfg.MinTLSVersion))
	}
	if !s.plain {
		s.tlsConfig = TLSConfig(cfg.Certificates, cfg.ClientCAs, cfg.MinTLSVersion)
	}

	// Address.
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
		if s.plain {
			cfg.Addr = DefaultPlainAddr
		}
	}
	if _, port, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fieldErr("Config.Addr", fmt.Errorf("httpx: Config.Addr %q: want host:port, such as \"127.0.0.1:8443\" or \":8443\": %w", cfg.Addr, err))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return nil, fieldErr("Config.Addr", fmt.Errorf("httpx: Config.Addr %q: port must be a number from 0 to 65535", cfg.Addr))
	}

	// Timeouts and limits.
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ReadHeaderTimeout", &cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{"ReadTimeout", &cfg.ReadTimeout, DefaultReadTimeout},
		{"WriteTimeout", &cfg.WriteTimeout, DefaultWriteTimeout},
		{"IdleTimeout", &cfg.IdleTimeout, DefaultIdleTimeout},
		{"DrainTimeout", &cfg.DrainTimeout, DefaultDrainTimeout},
		{"CheckTimeout", &cfg.CheckTimeout, DefaultCheckTimeout},
	} {
		if *d.v < 0 {
			return nil, fieldErr("Config."+d.name, fmt.Errorf("httpx: Config.%s %v: want a positive duration, or 0 for the default %v", d.name, *d.v, d.def))
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.MaxHeaderBytes < 0 {
		return nil, fieldErr("Config.MaxHeaderBytes", fmt.Errorf("httpx: Config.MaxHeaderBytes %d: want a positive size, or 0 for %d", cfg.MaxHeaderBytes, DefaultMaxHeaderBytes))
	}
	if cfg.MaxHeaderBytes == 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fieldErr("Config.MaxBodyBytes", fmt.Errorf("httpx: Config.MaxBodyBytes %d: want a positive size, or 0 for %d", cfg.MaxBodyBytes, DefaultMaxBodyBytes))
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Headers != ProfileAPI && cfg.Headers != ProfileHTML {
		return nil, fieldErr("Config.Headers", fmt.Errorf("httpx: Config.Headers %v: want ProfileAPI or ProfileHTML", cfg.Headers))
	}

	// Client identity, cross-origin, rate limit.
	var err error
	var storeOptOuts []paved.OptOut // a third-party store's own opt-outs
	if s.ips, err = newClientIPResolver(cfg.ClientIP, "Config.ClientIP."); err != nil {
		return nil, err
	}
	if _, off := opted[OptOutNoCrossOrigin]; off {
		if len(cfg.TrustedOrigins) > 0 {
			return nil, fieldErr("Config.TrustedOrigins", errors.New("httpx: Config.TrustedOrigins is set but Config.OptOuts disables cross-origin protection: choose one"))
		}
	} else if s.cors, s.corsDeny, err = newCrossOrigin(cfg.TrustedOrigins, cfg.Events, "Config."); err != nil {
		return nil, err
	}
	if _, off := opted[OptOutNoRateLimit]; !off {
		rl := cfg.RateLimit
		if rl.Logger == nil {
			rl.Logger = s.logger
		}
		if rl.Events == nil {
			rl.Events = cfg.Events
		}
		if s.limiter, err = newRateLimiter(rl, "Config.RateLimit."); err != nil {
			return nil, err
		}
		if o, ok := rl.Store.(interface{ OptOuts() []paved.OptOut }); ok {
			for i, x := range o.OptOuts() {
				if err := x.Validate(); err != nil {
					return nil, fieldErr("Config.RateLimit.Store", fmt.Errorf("httpx: Config.RateLimit.Store: opt-out %d: %w", i, err))
				}
				if x.Component == Component && x.Name == OptOutRedisLocalLimits {
					opted[x.Name] = x
				} else {
					storeOptOuts = append(storeOptOuts, x)
				}
			}
		}
	}

	s.mux = http.NewServeMux()
	s.root = cfg.Handler
	if s.root == nil {
		s.root = s.mux
	}
	s.cfg = cfg
	for _, name := range []string{OptOutPlainHTTP, OptOutDevCertificate, OptOutNoRateLimit, OptOutNoCrossOrigin, OptOutRedisLocalLimits} {
		if o, ok := opted[name]; ok {
			s.optOuts = append(s.optOuts, o)
		}
	}
	s.optOuts = append(s.optOuts, storeOptOuts...)
	for _, o := range s.optOuts {
		if err := s.posture.AddOptOut(o); err != nil {
			return nil, err // validated above; not reached
		}
	}
	s.registerControls()
	return s, nil
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

func (s *Server) registerControls() {
	c := s.cfg
	set := func(name string, on bool, detail string) {
		s.posture.SetControl(paved.Control{Component: Component, Name: name, Enabled: on, Detail: detail})
	}
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
		} else {
			set("tls-certificate", true, fmt.Sprintf("%T", c.Certificates))
		}
		if c.ClientCAs != nil {
			set("mtls", true, "client certificates required and verified")
		}
	}
	set("timeouts", true, fmt.Sprintf("read-header %v, read %v, write %v, idle %v", c.ReadHeaderTimeout, c.ReadTimeout, c.WriteTimeout, c.IdleTimeout))
	set("size-limits", true, fmt.Sprintf("header %d B, body %d B", c.MaxHeaderBytes, c.MaxBodyBytes))
	set("security-headers", true, "profile "+c.Headers.String())
	set("cross-origin-protection", s.cors != nil, fmt.Sprintf("%d trusted origin(s)", len(c.TrustedOrigins)))
	if s.limiter != nil {
		p := s.limiter.policy
		set("rate-limit", true, fmt.Sprintf("%q %d per %v, burst %d, %T", p.Name, p.Limit, p.Window, p.Burst, s.limiter.store))
	} else {
		set("rate-limit", false, "disabled (opt-out)")
	}
	set("request-id", true, "")
	set("panic-recovery", true, "")
	set("access-log", true, "credentials redacted")
	set("client-ip", true, fmt.Sprintf("%d trusted proxy prefix(es)", len(s.ips.trusted)))
}

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

// readyCacheTTL is how long a /readyz result is reused, so that a flood of
// probes cannot turn into a flood of checks against the dependencies.
const readyCacheTTL = time.Second

// AddCheck registers a readiness check under name, replacing any check of
// that name; a nil c removes it. /readyz runs every check, at most once a
// second however many probes arrive (concurrent probes share one run).
func (s *Server) AddCheck(name string, c Check) {
	s.readyMu.Lock()
	s.readyAt = time.Time{} // the next probe runs the new set
	s.readyMu.Unlock()
	s.checksMu.Lock()
	defer s.checksMu.Unlock()
	if c == nil {
		delete(s.checks, name)
		return
	}
	s.checks[name] = c
}

// ServeHTTP serves r through the full default chain: client address,
// request ID, access log, panic recovery, security headers, /livez and
// /readyz, cross-origin protection, rate limit, body limit, then the
// handler.
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

type checkResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

type healthBody struct {
	Status string        `json:"status"`
	Checks []checkResult `json:"checks,omitempty"`
}

func healthMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	WriteProblem(w, r, &Problem{Status: http.StatusMethodNotAllowed})
	return false
}

func writeHealth(w http.ResponseWriter, code int, b healthBody) {
	body, _ := json.Marshal(b)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

func (s *Server) livez(w http.ResponseWriter, r *http.Request) {
	if healthMethod(w, r) {
		writeHealth(w, http.StatusOK, healthBody{Status: "ok"})
	}
}

// readyz reports readiness. The body lists each check as "ok" or "fail";
// errors are logged, never sent.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !healthMethod(w, r) {
		return
	}
	if s.draining.Load() {
		writeHealth(w, http.StatusServiceUnavailable, healthBody{Status: "draining"})
		return
	}
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if !s.readyAt.IsZero() && time.Since(s.readyAt) < readyCacheTTL {
		writeHealth(w, s.readyCode, s.readyBody)
		return
	}
	code, b := s.runChecks(r.Context())
	s.readyAt, s.readyCode, s.readyBody = time.Now(), code, b
	writeHealth(w, code, b)
}

// runChecks runs every check concurrently under CheckTimeout.
func (s *Server) runChecks(ctx context.Context) (int, healthBody) {
	s.checksMu.RLock()
	names := make([]string, 0, len(s.checks))
	for n := range s.checks {
		names = append(names, n)
	}
	checks := make([]Check, len(names))
	slices.Sort(names)
	for i, n := range names {
		checks[i] = s.checks[n]
	}
	s.checksMu.RUnlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CheckTimeout)
	defer cancel()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = runCheck(ctx, c)
		}()
	}
	wg.Wait()
	b := healthBody{Status: "ok", Checks: make([]checkResult, len(names))}
	code := http.StatusOK
	for i, n := range names {
		b.Checks[i] = checkResult{Name: n, Status: "ok"}
		if errs[i] != nil {
			b.Checks[i].Status = "fail"
			b.Status, code = "fail", http.StatusServiceUnavailable
			s.logger.LogAttrs(ctx, slog.LevelWarn, "httpx: readiness check failed",
				slog.String("check", n), slog.String("error", errs[i].Error()))
		}
	}
	return code, b
}

// runCheck runs c, turning a panic or an overrun into an error.
func runCheck(ctx context.Context, c Check) (err error) {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("check panicked: %v", v)
			}
		}()
		done <- c.Check(ctx)
	}()
	select {
	case err = <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

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
		ln.Close()
		return ErrServerStarted
	}
	c := s.cfg
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
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
