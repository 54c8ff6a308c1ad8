package secrets

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/backoff"
)

// ErrCertificateExpired is returned (wrapped) by [PKI.GetCertificate] and
// [PKI.Check] once the certificate has expired without a fresh one: the
// source fails closed rather than serve it.
var ErrCertificateExpired = errors.New("secrets: certificate expired")

// PKIConfig configures a certificate issued by Vault's PKI engine.
type PKIConfig struct {
	// Mount is the PKI engine's mount. Default "pki".
	Mount string
	// Role is the PKI role that issues (pki/issue/<Role>). Required.
	Role string
	// CommonName is the certificate's common name, such as
	// "api.internal". Required.
	CommonName string
	// AltNames are further DNS names.
	AltNames []string
	// IPSANs are IP subject alternative names, such as "127.0.0.1".
	IPSANs []string
	// TTL is the certificate's lifetime. Default: the role's.
	TTL time.Duration
	// Name names the certificate in events, logs and the posture report.
	// Default: CommonName.
	Name string
	// Retry is the backoff between failed issues. Default: base 500ms,
	// cap 30s (always jittered).
	Retry backoff.Policy
	// StartAttempts bounds the issues [Client.PKI] tries before failing
	// closed. Default 3.
	StartAttempts int
	// Clock schedules rotations. Default: the Client's clock.
	Clock Clock
	// Events receives rotation (EventSecretRotation), expiry
	// (EventCertificateExpiry, Value = seconds left) and failure events.
	// Default: paved.DefaultSink at the time of each event.
	Events paved.Sink
	// Posture records the rotation control. Default: paved.DefaultPosture().
	Posture *paved.Posture
	// Logger logs rotations and failures. Default: slog.Default().
	Logger *slog.Logger
}

// A PKI is a certificate source for httpx (an [httpx.CertificateSource])
// issued from a Vault PKI role. It issues a fresh certificate and key at
// about 2/3 of each certificate's lifetime and hands it to the next TLS
// handshake, without a restart; on failure it retries with backoff and
// keeps serving the current one until it expires, then fails closed. The
// private key stays in memory. [PKI.CAPool] is the issuing CA, for mTLS.
//
// GetCertificate is a lock-free load and a clock read: rotations never
// block handshakes.
type PKI struct {
	ops   leaseOps
	cfg   PKIConfig
	name  string
	clock Clock
	reg   *paved.Registration

	cur     atomic.Pointer[pkiCert]
	failing atomic.Pointer[dynFailure]
	issues  atomic.Int64

	stop context.CancelFunc
	done chan struct{}
	once sync.Once
}

type pkiCert struct {
	cert    *tls.Certificate
	leaf    *x509.Certificate
	pool    *x509.CertPool
	serial  string
	expired atomic.Bool // set by the rotation goroutine at NotAfter
}

var _ httpx.CertificateSource = (*PKI)(nil)

// PKI issues a certificate as cfg says (retrying up to cfg.StartAttempts
// times with backoff, then failing closed) and keeps it fresh until
// [PKI.Close].
func (c *Client) PKI(ctx context.Context, cfg PKIConfig) (*PKI, error) {
	if c == nil {
		return nil, &paved.ConfigError{Component: "secrets", Field: "Client", Problem: "nil", Fix: "create it with secrets.New"}
	}
	if cfg.Clock == nil {
		cfg.Clock = c.cfg.Clock
	}
	return newPKI(ctx, c.leaseOps(), cfg)
}

func (cfg PKIConfig) validate() error {
	var errs []error
	add := func(field, problem, fix string) {
		errs = append(errs, &paved.ConfigError{Component: "secrets", Field: "PKIConfig." + field, Problem: problem, Fix: fix})
	}
	if cfg.Role == "" || strings.ContainsAny(cfg.Role, "/?# ") {
		add("Role", fmt.Sprintf("%q is not a PKI role name", cfg.Role), `want the role that issues, such as "localhost"`)
	}
	if strings.ContainsAny(cfg.Mount, "?# ") || strings.Contains(cfg.Mount, "..") {
		add("Mount", fmt.Sprintf("%q is not a mount path", cfg.Mount), `want such as "pki" (the default)`)
	}
	if cfg.CommonName == "" || strings.ContainsAny(cfg.CommonName, ", /") {
		add("CommonName", fmt.Sprintf("%q is not a host name", cfg.CommonName), `want such as "api.internal"`)
	}
	for _, ip := range cfg.IPSANs {
		if net.ParseIP(ip) == nil {
			add("IPSANs", fmt.Sprintf("%q is not an IP address", ip), `want such as "127.0.0.1"`)
		}
	}
	for _, n := range cfg.AltNames {
		if n == "" || strings.ContainsAny(n, ", /") {
			add("AltNames", fmt.Sprintf("%q is not a DNS name", n), `want such as "api.example.com"`)
		}
	}
	if cfg.TTL < 0 || (cfg.TTL > 0 && cfg.TTL < 2*time.Second) {
		add("TTL", cfg.TTL.String()+" is out of range", "want 0 (the role's) or at least 2s")
	}
	if cfg.StartAttempts < 0 {
		add("StartAttempts", "negative", "want 0 (default 3) or more")
	}
	return errors.Join(errs...)
}

func newPKI(ctx context.Context, ops leaseOps, cfg PKIConfig) (*PKI, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &PKI{ops: ops, cfg: cfg, name: cmpOr(cfg.Name, cfg.CommonName), clock: cfg.Clock}
	if p.clock == nil {
		p.clock = SystemClock{}
	}
	p.cfg.Mount = cmpOr(strings.Trim(cfg.Mount, "/"), "pki")
	if p.cfg.Retry.Base <= 0 {
		p.cfg.Retry.Base = 500 * time.Millisecond
	}
	if p.cfg.StartAttempts <= 0 {
		p.cfg.StartAttempts = 3
	}
	var c *pkiCert
	var err error
	for attempt := range p.cfg.StartAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("secrets: certificate %s: %w (last error: %w)", p.name, ctx.Err(), err)
			case <-p.clock.After(p.cfg.Retry.Delay(attempt - 1)):
			}
		}
		if c, err = p.issue(ctx); err == nil {
			break
		}
		p.emit(ctx, paved.EventSecretFailure, paved.OutcomeFailure, "issue", 0)
		if refused(err) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: certificate %s: start-up issue from %s/issue/%s failed: %w", p.name, p.cfg.Mount, cfg.Role, err)
	}
	p.cur.Store(c)
	p.issues.Add(1)
	p.reg = paved.PostureOrDefault(cfg.Posture).Register("secrets", "pki:"+p.name)
	p.posture()
	p.announce(ctx, c, "issued")
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p.stop, p.done = stop, make(chan struct{})
	go p.run(runCtx)
	return p, nil
}

// GetCertificate returns the current certificate, or an error wrapping
// [ErrCertificateExpired] once it has expired. It does not allocate.
func (p *PKI) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	// The flag alone is not enough: its timer stops at Close and runs
	// late after a suspend (timers follow the monotonic clock). The time
	// is read first: the certificate loaded after it is the one current
	// then or a newer one, never one a rotation replaced before.
	now := p.clock.Now()
	c := p.cur.Load()
	if c.expired.Load() || !now.Before(c.leaf.NotAfter) {
		return nil, ErrCertificateExpired
	}
	return c.cert, nil
}

// GetClientCertificate returns the current certificate for a TLS client
// (tls.Config.GetClientCertificate), for mTLS to other services.
func (p *PKI) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return p.GetCertificate(nil)
}

// Leaf returns the current certificate, parsed.
func (p *PKI) Leaf() *x509.Certificate { return p.cur.Load().leaf }

// CAPool returns the CAs that issued the current certificate (the PKI
// mount's issuing CA and chain): trust it as tls.Config.RootCAs to call a
// service with a certificate of this mount, or as ClientCAs to require
// client certificates from it (mTLS).
func (p *PKI) CAPool() *x509.CertPool { return p.cur.Load().pool }

// Issued returns how many certificates this source has put in use.
func (p *PKI) Issued() int { return int(p.issues.Load()) }

// String describes the source for httpx's tls-certificate posture control.
func (p *PKI) String() string {
	c := p.cur.Load()
	return fmt.Sprintf("vault pki %s/issue/%s CN=%s, rotated at 2/3 of its lifetime, expires %s",
		p.cfg.Mount, p.cfg.Role, p.cfg.CommonName, c.leaf.NotAfter.UTC().Format(time.RFC3339))
}

// Check reports readiness: an error wrapping [ErrCertificateExpired] once
// the certificate has expired, one wrapping [httpx.ErrDegraded] while
// rotations fail but it is still valid, else nil.
func (p *PKI) Check(context.Context) error {
	c := p.cur.Load()
	if !p.clock.Now().Before(c.leaf.NotAfter) {
		return fmt.Errorf("secrets: certificate %s: %w", p.name, ErrCertificateExpired)
	}
	if f := p.failing.Load(); f != nil {
		return fmt.Errorf("secrets: certificate %s: rotation failing since %s (%v), serving the current one until %s: %w",
			p.name, f.since.UTC().Format(time.RFC3339), f.err, c.leaf.NotAfter.UTC().Format(time.RFC3339), httpx.ErrDegraded)
	}
	return nil
}

// Close stops rotating. The current certificate keeps serving until it
// expires; it is not revoked (a short-lived certificate is left to expire,
// as Vault's PKI guidance advises).
func (p *PKI) Close(context.Context) error {
	p.once.Do(func() {
		p.stop()
		<-p.done
	})
	return nil
}

func (p *PKI) run(ctx context.Context) {
	defer close(p.done)
	attempt := 0
	late := 0 // certificates in a row issued past their 2/3 mark
	var timed *pkiCert
	var expiry <-chan time.Time
	for {
		c := p.cur.Load()
		if c != timed {
			// One timer per certificate marks it expired at NotAfter,
			// so that GetCertificate reads no clock.
			timed, expiry = c, p.clock.After(c.leaf.NotAfter.Sub(p.clock.Now()))
		}
		life := c.leaf.NotAfter.Sub(c.leaf.NotBefore)
		wait := max(c.leaf.NotBefore.Add(life*2/3).Sub(p.clock.Now()), 0)
		if attempt > 0 {
			wait = p.cfg.Retry.Delay(attempt - 1)
		}
		select {
		case <-ctx.Done():
			return
		case <-expiry:
			c.expired.Store(true)
			expiry = nil
			p.emit(ctx, paved.EventCertificateExpiry, paved.OutcomeFailure, "expired", 0)
			p.log().ErrorContext(ctx, "secrets: certificate expired without a fresh one: handshakes fail", "certificate", p.name)
			continue
		case <-p.clock.After(wait):
		}
		nc, err := p.issue(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if p.failing.Load() == nil {
				p.failing.Store(&dynFailure{err: err, since: p.clock.Now()})
			}
			p.emit(ctx, paved.EventSecretFailure, paved.OutcomeFailure, "issue", 0)
			p.log().WarnContext(ctx, "secrets: certificate rotation failed", "certificate", p.name, "error", err, "expires", c.leaf.NotAfter)
			attempt++
			continue
		}
		attempt = 0
		if life := nc.leaf.NotAfter.Sub(nc.leaf.NotBefore); !nc.leaf.NotBefore.Add(life * 2 / 3).After(p.clock.Now()) {
			// Born past its 2/3 mark (the CA expires soon and caps it):
			// issuing again at once would loop, so back off instead.
			late++
			attempt = late
			p.log().WarnContext(ctx, "secrets: certificate issued with under 1/3 of its lifetime left (CA expiring?)", "certificate", p.name, "expires", nc.leaf.NotAfter)
		} else {
			late = 0
		}
		p.cur.Store(nc)
		p.issues.Add(1)
		p.failing.Store(nil)
		p.posture()
		p.log().InfoContext(ctx, "secrets: certificate rotated", "certificate", p.name, "serial", nc.serial, "expires", nc.leaf.NotAfter)
		p.announce(ctx, nc, "rotated")
	}
}

func (p *PKI) issue(ctx context.Context) (*pkiCert, error) {
	data := map[string]any{"common_name": p.cfg.CommonName, "format": "pem"}
	if len(p.cfg.AltNames) > 0 {
		data["alt_names"] = strings.Join(p.cfg.AltNames, ",")
	}
	if len(p.cfg.IPSANs) > 0 {
		data["ip_sans"] = strings.Join(p.cfg.IPSANs, ",")
	}
	if p.cfg.TTL > 0 {
		data["ttl"] = durationString(p.cfg.TTL)
	}
	var r *Response
	path := p.cfg.Mount + "/issue/" + p.cfg.Role
	err := p.ops.call(ctx, "pki.issue", func(b Backend, token string) (err error) {
		r, err = b.Write(ctx, token, path, data)
		return err
	})
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("%w: %s answered nothing", ErrInvalidRequest, path)
	}
	c, err := parseIssued(r.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidRequest, path, err)
	}
	return c, nil
}

// parseIssued builds the TLS certificate, its chain (without a
// self-signed root) and the CA pool from a pki/issue answer.
func parseIssued(data map[string]any) (*pkiCert, error) {
	certPEM, _ := data["certificate"].(string)
	keyPEM, _ := data["private_key"].(string)
	if certPEM == "" || keyPEM == "" {
		return nil, errors.New("the answer has no certificate or private key")
	}
	var cas []string
	if s, _ := data["issuing_ca"].(string); s != "" {
		cas = append(cas, s)
	}
	if chain, ok := data["ca_chain"].([]any); ok {
		for _, v := range chain {
			if s, _ := v.(string); s != "" {
				cas = append(cas, s)
			}
		}
	}
	pool := x509.NewCertPool()
	full := []byte(certPEM)
	seen := map[string]bool{}
	for _, s := range cas {
		for rest := []byte(s); ; {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			ca, err := x509.ParseCertificate(block.Bytes)
			if err != nil || seen[string(block.Bytes)] {
				continue
			}
			seen[string(block.Bytes)] = true
			pool.AddCert(ca)
			if !bytes.Equal(ca.RawIssuer, ca.RawSubject) {
				full = append(append(full, '\n'), pem.EncodeToMemory(block)...)
			}
		}
	}
	if len(seen) == 0 {
		return nil, errors.New("the answer has no issuing CA")
	}
	cert, err := tls.X509KeyPair(full, []byte(keyPEM))
	if err != nil {
		return nil, err
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
		cert.Leaf = leaf
	}
	serial, _ := data["serial_number"].(string)
	return &pkiCert{cert: &cert, leaf: leaf, pool: pool, serial: serial}, nil
}

func (p *PKI) announce(ctx context.Context, c *pkiCert, reason string) {
	left := c.leaf.NotAfter.Sub(p.clock.Now())
	p.emit(ctx, paved.EventSecretRotation, paved.OutcomeSuccess, reason, 0)
	p.emit(ctx, paved.EventCertificateExpiry, paved.OutcomeSuccess, reason, left.Seconds())
}

func (p *PKI) posture() {
	c := p.cur.Load()
	p.reg.SetControl("certificate-rotation", true, fmt.Sprintf("%s/issue/%s CN=%s: rotated at 2/3 of its lifetime (%s), expires %s",
		p.cfg.Mount, p.cfg.Role, p.cfg.CommonName, c.leaf.NotAfter.Sub(c.leaf.NotBefore).Round(time.Second), c.leaf.NotAfter.UTC().Format(time.RFC3339)))
}

func (p *PKI) log() *slog.Logger {
	if p.cfg.Logger != nil {
		return p.cfg.Logger
	}
	return slog.Default()
}

func (p *PKI) emit(ctx context.Context, t paved.EventType, o paved.Outcome, reason string, v float64) {
	if paved.EventsEnabled(ctx, p.cfg.Events, t) {
		paved.Emit(ctx, p.cfg.Events, paved.Event{Type: t, Time: p.clock.Now(), Component: "secrets", Outcome: o, Reason: reason, Value: v,
			Attrs: []slog.Attr{slog.String("certificate", p.name), slog.String("role", p.cfg.Mount+"/issue/"+p.cfg.Role)}})
	}
}
