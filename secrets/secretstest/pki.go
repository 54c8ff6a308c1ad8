package secretstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pavedroad/paved/secrets"
)

// fakePKI is an in-memory CA behind Vault's pki/ paths. It uses
// crypto/x509 and ECDSA P-256 from the standard library: a test double.
type fakePKI struct {
	clock *Clock

	mu      sync.Mutex
	caKey   *ecdsa.PrivateKey
	caCert  *x509.Certificate
	caPEM   string
	roles   map[string]pkiRole
	serial  int64
	issued  int
	revoked map[string]bool
}

type pkiRole struct{ ttl, maxTTL, notBefore time.Duration }

func newFakePKI(clock *Clock) *fakePKI {
	return &fakePKI{clock: clock, roles: map[string]pkiRole{"localhost": {72 * time.Hour, 72 * time.Hour, 30 * time.Second}}, revoked: map[string]bool{}}
}

func (p *fakePKI) ensureCA() error {
	if p.caCert != nil {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := p.clock.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "secretstest fake root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	p.caKey, p.caCert, p.serial = key, cert, 1
	p.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return nil
}

// Issued counts the certificates the fake CA issued.
func (e *Engines) Issued() int {
	e.pki.mu.Lock()
	defer e.pki.mu.Unlock()
	return e.pki.issued
}

// CAPEM returns the fake CA's certificate in PEM.
func (e *Engines) CAPEM() string {
	e.pki.mu.Lock()
	defer e.pki.mu.Unlock()
	_ = e.pki.ensureCA()
	return e.pki.caPEM
}

func (p *fakePKI) handle(op, path string, data map[string]any) (*secrets.Response, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ensureCA(); err != nil {
		return nil, secrets.NewStatusError(op, path, 500, err.Error())
	}
	parts := strings.Split(path, "/")
	switch {
	case op == "read" && (path == "pki/cert/ca" || path == "pki/ca/pem"):
		return &secrets.Response{Data: map[string]any{"certificate": p.caPEM}}, nil
	case op == "write" && len(parts) == 3 && parts[1] == "roles":
		ttl, err1 := durationArg(data["ttl"], 72*time.Hour)
		maxTTL, err2 := durationArg(data["max_ttl"], 72*time.Hour)
		nbf, err3 := durationArg(data["not_before_duration"], 30*time.Second)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, secrets.NewStatusError(op, path, 400, "invalid ttl, max_ttl or not_before_duration")
		}
		p.roles[parts[2]] = pkiRole{min(ttl, maxTTL), maxTTL, nbf}
		return &secrets.Response{}, nil
	case op == "write" && len(parts) == 3 && parts[1] == "issue":
		role, ok := p.roles[parts[2]]
		if !ok {
			return nil, secrets.NewStatusError(op, path, 400, "unknown role: "+parts[2])
		}
		return p.issue(op, path, role, data)
	case op == "write" && path == "pki/revoke":
		s, _ := data["serial_number"].(string)
		p.revoked[s] = true
		return &secrets.Response{Data: map[string]any{"revocation_time": json.Number(strconv.FormatInt(p.clock.Now().Unix(), 10))}}, nil
	}
	return nil, secrets.NewStatusError(op, path, 405, "unsupported operation")
}

func (p *fakePKI) issue(op, path string, role pkiRole, data map[string]any) (*secrets.Response, error) {
	cn, _ := data["common_name"].(string)
	if cn == "" {
		return nil, secrets.NewStatusError(op, path, 400, "the common_name field is required")
	}
	ttl, err := durationArg(data["ttl"], role.ttl)
	if err != nil {
		return nil, secrets.NewStatusError(op, path, 400, "invalid ttl")
	}
	ttl = min(ttl, role.maxTTL)
	dns := []string{cn}
	if alt, _ := data["alt_names"].(string); alt != "" {
		dns = append(dns, strings.Split(alt, ",")...)
	}
	var ips []net.IP
	if s, _ := data["ip_sans"].(string); s != "" {
		for _, v := range strings.Split(s, ",") {
			ip := net.ParseIP(strings.TrimSpace(v))
			if ip == nil {
				return nil, secrets.NewStatusError(op, path, 400, "invalid ip_sans")
			}
			ips = append(ips, ip)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, secrets.NewStatusError(op, path, 500, err.Error())
	}
	p.serial++
	now := p.clock.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn}, DNSNames: dns, IPAddresses: ips,
		NotBefore: now.Add(-role.notBefore), NotAfter: now.Add(ttl),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		return nil, secrets.NewStatusError(op, path, 500, err.Error())
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, secrets.NewStatusError(op, path, 500, err.Error())
	}
	p.issued++
	serial := fmt.Sprintf("%02x", p.serial)
	return &secrets.Response{Data: map[string]any{
		"certificate":      string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		"private_key":      string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})),
		"private_key_type": "ec",
		"issuing_ca":       p.caPEM,
		"ca_chain":         []any{p.caPEM},
		"serial_number":    serial,
		"expiration":       json.Number(strconv.FormatInt(tmpl.NotAfter.Unix(), 10)),
	}}, nil
}
