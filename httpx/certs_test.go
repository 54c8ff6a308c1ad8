package httpx_test

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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// writePair writes a self-signed pair for cn, valid from nb to na.
func writePair(t *testing.T, dir, cn string, nb, na time.Time) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: nb, NotAfter: na, DNSNames: []string{cn}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cf, kf := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cf, kf
}

// reloadingPair is a FileCertificate over a fresh pair for "one.example"
// that checks its files on every handshake, with its log.
type reloadingPair struct {
	fc     *httpx.FileCertificate
	cf, kf string
	logs   *syncBuffer
	bumps  int
}

func newReloadingPair(t *testing.T, dir string) *reloadingPair {
	t.Helper()
	now := time.Now()
	rp := &reloadingPair{logs: new(syncBuffer)}
	rp.cf, rp.kf = writePair(t, dir, "one.example", now.Add(-time.Hour), now.Add(time.Hour))
	fc, err := httpx.NewFileCertificate(httpx.FileCertificateConfig{
		CertFile: rp.cf, KeyFile: rp.kf, CheckInterval: time.Nanosecond,
		Logger: slog.New(slog.NewTextHandler(rp.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	rp.fc = fc
	return rp
}

// cn returns the common name of the certificate served now.
func (rp *reloadingPair) cn(t *testing.T) string {
	t.Helper()
	c, err := rp.fc.GetCertificate(nil)
	if err != nil || c == nil {
		t.Fatalf("GetCertificate = %v, %v", c, err)
	}
	return c.Leaf.Subject.CommonName
}

// bump moves both files' modification times forward, so that the next
// handshake sees a change.
func (rp *reloadingPair) bump() {
	rp.bumps++
	later := time.Now().Add(time.Duration(rp.bumps) * time.Minute)
	_ = os.Chtimes(rp.cf, later, later)
	_ = os.Chtimes(rp.kf, later, later)
}

func TestFileCertificateReload(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	rp := newReloadingPair(t, dir)
	cf, kf, fc, logs := rp.cf, rp.kf, rp.fc, rp.logs
	cn := func() string { return rp.cn(t) }
	bump := rp.bump
	if got := cn(); got != "one.example" {
		t.Fatalf("CN = %q", got)
	}

	// A valid new pair is picked up by the next handshake.
	writePair(t, dir, "two.example", now.Add(-time.Hour), now.Add(time.Hour))
	bump()
	if got := cn(); got != "two.example" {
		t.Fatalf("after rotation CN = %q", got)
	}

	// A broken file keeps the old certificate and says why.
	if err := os.WriteFile(cf, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bump()
	if got := cn(); got != "two.example" {
		t.Fatalf("after bad file CN = %q", got)
	}
	if !strings.Contains(logs.String(), "new certificate rejected") {
		t.Fatalf("no log of the rejection:\n%s", logs.String())
	}
	if err := fc.Reload(); err == nil {
		t.Fatal("Reload of a bad file succeeded")
	}

	// An expired certificate is rejected too.
	writePair(t, dir, "expired.example", now.Add(-2*time.Hour), now.Add(-time.Hour))
	bump()
	if got := cn(); got != "two.example" {
		t.Fatalf("after expired file CN = %q", got)
	}
	if err := fc.Reload(); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Reload of an expired pair = %v", err)
	}

	// Missing files at start are an error naming the field or the file.
	if _, err := httpx.NewFileCertificate(httpx.FileCertificateConfig{CertFile: cf}); err == nil || !strings.Contains(err.Error(), "KeyFile") {
		t.Fatalf("missing KeyFile = %v", err)
	}
	if _, err := httpx.NewFileCertificate(httpx.FileCertificateConfig{CertFile: filepath.Join(dir, "nope"), KeyFile: kf}); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestServerHotReloadOverTLS(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	cf, kf := writePair(t, dir, "localhost", now.Add(-time.Hour), now.Add(time.Hour))
	fc, err := httpx.NewFileCertificate(httpx.FileCertificateConfig{CertFile: cf, KeyFile: kf, CheckInterval: time.Nanosecond, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := plainConfig()
	cfg.OptOuts = nil
	cfg.Addr = "127.0.0.1:0"
	cfg.Certificates = fc
	s := mustNew(t, cfg)
	s.HandleFunc("GET /", okHandler)
	start(t, s)
	serial := func() string {
		conn, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{InsecureSkipVerify: true}) // inspecting, not trusting
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := serial(); got != "localhost" {
		t.Fatalf("CN = %q", got)
	}
	writePair(t, dir, "rotated.localhost", now.Add(-time.Hour), now.Add(time.Hour))
	later := time.Now().Add(time.Minute)
	_ = os.Chtimes(cf, later, later)
	_ = os.Chtimes(kf, later, later)
	if got := serial(); got != "rotated.localhost" {
		t.Fatalf("after rotation CN = %q", got)
	}
}

func TestDevCertificateFiles(t *testing.T) {
	dir := t.TempDir()
	dev, err := httpx.NewDevCertificate(dir, "svc.localhost", "127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, httpx.DevCAFileName))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(caPEM)
	ca, err := x509.ParseCertificate(b.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("CA file: %v", err)
	}
	crlPEM, err := os.ReadFile(filepath.Join(dir, httpx.DevCRLFileName))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = pem.Decode(crlPEM)
	crl, err := x509.ParseRevocationList(b.Bytes)
	if err != nil || crl.CheckSignatureFrom(ca) != nil || len(crl.RevokedCertificateEntries) != 0 {
		t.Fatalf("CRL: %v", err)
	}
	c, _ := dev.GetCertificate(nil)
	leaf := c.Leaf
	if err := leaf.VerifyHostname("svc.localhost"); err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("127.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if len(leaf.CRLDistributionPoints) != 1 || !strings.HasPrefix(leaf.CRLDistributionPoints[0], "file://") {
		t.Fatalf("CRL DP = %v", leaf.CRLDistributionPoints)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: dev.CertPool(), DNSName: "svc.localhost"}); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(leaf.NotAfter); d < 80*24*time.Hour {
		t.Fatalf("leaf valid for %v only", d)
	}
}

// tempEntries counts the entries of the temporary directory.
func tempEntries(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// A DevCertificate made without a directory leaves no temporary folder
// behind once closed; one given a directory leaves the caller's files.
func TestDevCertificateLeavesNoTempDir(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // os.TempDir, counted in isolation
	before := tempEntries(t)
	dev, err := httpx.NewDevCertificate("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dev.CAFile()); err != nil || tempEntries(t) != before+1 {
		t.Fatalf("CA file %s: %v; %d temporary entries, want %d", dev.CAFile(), err, tempEntries(t), before+1)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	if n := tempEntries(t); n != before {
		t.Fatalf("%d temporary entries after Close, want %d", n, before)
	}
	if err := dev.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if c, err := dev.GetCertificate(nil); err != nil || c == nil {
		t.Fatalf("certificate after Close: %v %v", c, err)
	}

	dir := t.TempDir()
	mine, err := httpx.NewDevCertificate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := mine.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, httpx.DevCAFileName)); err != nil {
		t.Fatalf("Close removed a file from the caller's directory: %v", err)
	}
}

// A file certificate's check interval, a security-relevant setting (how
// soon a replaced certificate is served), shows in the server's posture,
// naming its default when changed.
func TestFileCertificateIntervalInPosture(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		interval time.Duration
		want     string
	}{
		{0, "files %s, checked every 30s"},
		{5 * time.Minute, "files %s, checked every 5m (default 30s)"},
	} {
		cf, kf := writePair(t, t.TempDir(), "one.example", now.Add(-time.Hour), now.Add(time.Hour))
		fc, err := httpx.NewFileCertificate(httpx.FileCertificateConfig{CertFile: cf, KeyFile: kf, CheckInterval: tt.interval, Logger: discard()})
		if err != nil {
			t.Fatal(err)
		}
		posture := new(paved.Posture)
		mustNew(t, httpx.Config{Logger: discard(), Posture: posture, Certificates: fc})
		if got, want := controlDetail(t, posture, "tls-certificate"), fmt.Sprintf(tt.want, cf); got != want {
			t.Errorf("tls-certificate detail %q, want %q", got, want)
		}
	}
}

// Close is safe to call from several goroutines at once (a deferred
// Close beside a signal handler's), like every paved type: run with -race.
func TestDevCertificateCloseConcurrent(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	dev, err := httpx.NewDevCertificate("")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- dev.Close() }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := tempEntries(t); n != 0 {
		t.Fatalf("%d temporary entries after Close, want 0", n)
	}
}
