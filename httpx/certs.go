package httpx

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pavedroad/paved"
)

// FileCertificateConfig configures [NewFileCertificate].
type FileCertificateConfig struct {
	// CertFile and KeyFile are PEM files: the certificate chain (leaf
	// first) and its private key. Both are required.
	CertFile, KeyFile string
	// CheckInterval is how often a handshake looks for changed files.
	// Default 30s; any positive interval up to 1h (a check costs two
	// stat calls, made by at most one handshake at a time).
	CheckInterval time.Duration
	// Logger receives reloads and reload failures; slog.Default when nil.
	Logger *slog.Logger
}

// FileCertificate is a [CertificateSource] that serves a certificate from
// files and reloads it when they change (checked at most once per
// CheckInterval, during a handshake, or at once with [FileCertificate.Reload]).
// A new pair that does not load, does not match, or is expired is rejected:
// the old certificate stays in service and the reason is logged.
type FileCertificate struct {
	cfg      FileCertificateConfig
	cur      atomic.Pointer[tls.Certificate]
	mu       sync.Mutex
	next     atomic.Int64 // unix nanoseconds of the next check
	stamp    [2]fileStamp
	badStamp [2]fileStamp
	now      func() time.Time
}

const defaultCheckInterval = 30 * time.Second

type fileStamp struct {
	mod  time.Time
	size int64
}

var _ CertificateSource = (*FileCertificate)(nil)

// NewFileCertificate loads the pair and returns the source. It fails when
// the pair cannot be loaded now. Its error holds a [paved.ConfigError] for
// every faulty field.
func NewFileCertificate(cfg FileCertificateConfig) (*FileCertificate, error) {
	c := paved.ConfigCheck{Component: Component, Prefix: "FileCertificateConfig."}
	if cfg.CertFile == "" {
		c.Add("CertFile", "empty", "name the PEM certificate chain file")
	}
	if cfg.KeyFile == "" {
		c.Add("KeyFile", "empty", "name the PEM private key file")
	}
	if cfg.CheckInterval < 0 || cfg.CheckInterval > maxCheckInterval {
		c.Add("CheckInterval", fmtDur(cfg.CheckInterval)+" is outside the allowed range above 0 to "+fmtDur(maxCheckInterval),
			"set a positive interval up to "+fmtDur(maxCheckInterval)+", or leave it 0 for the default "+fmtDur(defaultCheckInterval))
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if cfg.CheckInterval == 0 {
		cfg.CheckInterval = defaultCheckInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	f := &FileCertificate{cfg: cfg, now: time.Now}
	if err := f.Reload(); err != nil {
		c.AddErr("CertFile", fmt.Errorf("%q with KeyFile %q does not load: %w", cfg.CertFile, cfg.KeyFile, err),
			"want a current certificate chain (leaf first) and its private key, in PEM")
		return nil, c.Err()
	}
	return f, nil
}

// GetCertificate implements [CertificateSource].
func (f *FileCertificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if now := f.now().UnixNano(); now >= f.next.Load() && f.mu.TryLock() {
		f.next.Store(now + int64(f.cfg.CheckInterval))
		f.reloadIfChanged()
		f.mu.Unlock()
	}
	return f.cur.Load(), nil
}

// String describes the source for the posture report: "files
// /etc/tls/tls.crt, checked every 30s", naming the default interval when
// it was changed.
func (f *FileCertificate) String() string {
	return "files " + f.cfg.CertFile + ", " + setting("checked every", f.cfg.CheckInterval, defaultCheckInterval, fmtDur)
}

// Leaf returns the certificate in service.
func (f *FileCertificate) Leaf() *x509.Certificate { return f.cur.Load().Leaf }

// Reload loads the files now. On error the certificate in service is kept
// and the error, also logged, is returned.
func (f *FileCertificate) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, _ := f.stamps()
	return f.load(st)
}

func (f *FileCertificate) stamps() ([2]fileStamp, error) {
	var st [2]fileStamp
	for i, name := range []string{f.cfg.CertFile, f.cfg.KeyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return st, err
		}
		st[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	return st, nil
}

func (f *FileCertificate) reloadIfChanged() {
	st, err := f.stamps()
	if err != nil {
		if f.badStamp != ([2]fileStamp{}) {
			return
		}
		f.badStamp = [2]fileStamp{{size: -1}, {size: -1}}
		f.cfg.Logger.Warn("httpx: certificate files unreadable; keeping the certificate in service", "cert_file", f.cfg.CertFile, "error", err)
		return
	}
	if st == f.stamp || st == f.badStamp {
		return
	}
	_ = f.load(st)
}

func (f *FileCertificate) load(st [2]fileStamp) error {
	c, err := tls.LoadX509KeyPair(f.cfg.CertFile, f.cfg.KeyFile)
	if err == nil && c.Leaf == nil {
		c.Leaf, err = x509.ParseCertificate(c.Certificate[0])
	}
	if err == nil {
		now := f.now()
		switch {
		case now.After(c.Leaf.NotAfter):
			err = fmt.Errorf("certificate expired at %v", c.Leaf.NotAfter.UTC())
		case now.Before(c.Leaf.NotBefore):
			err = fmt.Errorf("certificate not valid before %v", c.Leaf.NotBefore.UTC())
		}
	}
	if err != nil {
		err = fmt.Errorf("httpx: loading certificate %s: %w", f.cfg.CertFile, err)
		f.badStamp = st
		if f.cur.Load() != nil {
			f.cfg.Logger.Warn("httpx: new certificate rejected; keeping the certificate in service",
				"cert_file", f.cfg.CertFile, "error", err.Error())
		}
		return err
	}
	reloaded := f.cur.Load() != nil
	f.cur.Store(&c)
	f.stamp, f.badStamp = st, [2]fileStamp{}
	if reloaded {
		f.cfg.Logger.Info("httpx: certificate reloaded", "cert_file", f.cfg.CertFile,
			"subject", c.Leaf.Subject.String(), "not_after", c.Leaf.NotAfter.UTC())
	}
	return nil
}

// DevCertificate is a [CertificateSource] for development: a certificate
// for localhost, 127.0.0.1 and ::1 (or the hosts given) issued by an
// ephemeral local CA that lives only in this process. The CA certificate is
// written to a PEM file so that clients can trust it explicitly:
//
//	curl --cacert "$(path printed at startup)" https://localhost:8443/
//
// A server accepts it only with the [AllowDevCertificate] opt-out. Call
// [DevCertificate.Close] when done with it, which removes the temporary
// directory NewDevCertificate made when it was given none.
type DevCertificate struct {
	cert   *tls.Certificate
	ca     *x509.Certificate
	caFile string
	pool   *x509.CertPool

	mu     sync.Mutex
	tmpDir string // made by NewDevCertificate, removed by Close
}

var _ CertificateSource = (*DevCertificate)(nil)

// Files [NewDevCertificate] writes: the CA certificate and its (empty) CRL.
const (
	DevCAFileName  = "paved-dev-ca.pem"
	DevCRLFileName = "paved-dev-ca.crl"
)

// devValidity is how long dev certificates are valid. The CA's private key
// lives only in the process, so a longer validity widens nothing; 90 days
// keeps TLS scanners from flagging an imminent expiry.
const devValidity = 90 * 24 * time.Hour

// NewDevCertificate creates the ephemeral CA and a server certificate for
// hosts (default "localhost", "127.0.0.1", "::1"), valid for 90 days, and
// writes the CA certificate to dir/paved-dev-ca.pem and its empty CRL to
// dir/paved-dev-ca.crl. dir is created if needed, and left in place by
// Close: the files are the caller's. An empty dir means a new temporary
// directory, which [DevCertificate.Close] removes, as does a failing
// NewDevCertificate. The CA's private key is never written anywhere.
func NewDevCertificate(dir string, hosts ...string) (d *DevCertificate, err error) {
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now().Add(-time.Minute)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "paved development CA", Organization: []string{"paved dev"}},
		NotBefore:             now,
		NotAfter:              now.Add(devValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	tmpDir := ""
	if dir == "" {
		if dir, err = os.MkdirTemp("", "paved-dev-"); err != nil {
			return nil, fmt.Errorf("httpx: dev certificate: %w", err)
		}
		tmpDir = dir
		defer func() {
			if err != nil {
				_ = os.RemoveAll(tmpDir)
			}
		}()
	} else if err := os.MkdirAll(dir, 0o755); err != nil { //paved:allow G301 the directory holds only public files (CA, CRL); no key is ever written
		return nil, fmt.Errorf("httpx: dev certificate: %w", err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("httpx: dev certificate: %w", err)
	}
	// The CA publishes a real, empty CRL beside its certificate, and the
	// leaf points to it, so TLS scanners find a revocation source.
	crlDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.Add(devValidity),
	}, ca, caKey)
	if err != nil {
		return nil, err
	}
	crlFile := filepath.Join(dir, DevCRLFileName)
	//paved:allow G306 a CRL is public; clients and proxies must be able to read it
	if err := os.WriteFile(crlFile, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crlDER}), 0o644); err != nil {
		return nil, fmt.Errorf("httpx: dev certificate: writing the CRL: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		CRLDistributionPoints: []string{(&url.URL{Scheme: "file", Path: filepath.ToSlash(crlFile)}).String()},
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: hosts[0]},
		NotBefore:             now,
		NotAfter:              now.Add(devValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, DevCAFileName)
	//paved:allow G306 the CA certificate is public; clients must be able to read it
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		return nil, fmt.Errorf("httpx: dev certificate: writing the CA file: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &DevCertificate{
		cert:   &tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key, Leaf: leaf},
		ca:     ca,
		caFile: caFile,
		pool:   pool,
		tmpDir: tmpDir,
	}, nil
}

// Close removes the temporary directory NewDevCertificate made, with the
// CA and CRL files in it, when it was given no directory; it removes
// nothing from a directory the caller named. The certificate keeps
// serving: it lives in memory. Close may be called more than once.
func (d *DevCertificate) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tmpDir == "" {
		return nil
	}
	dir := d.tmpDir
	d.tmpDir = ""
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("httpx: dev certificate: %w", err)
	}
	return nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// GetCertificate implements [CertificateSource].
func (d *DevCertificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return d.cert, nil
}

// CAFile returns the path of the CA certificate PEM file, for
// curl --cacert or SSL_CERT_FILE.
func (d *DevCertificate) CAFile() string { return d.caFile }

// CertPool returns a pool holding only the dev CA.
func (d *DevCertificate) CertPool() *x509.CertPool { return d.pool }

// Client returns an HTTP client that trusts the dev CA and nothing else.
func (d *DevCertificate) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: d.pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}
