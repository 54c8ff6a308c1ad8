package httpx

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
)

// cipherSuites are the six ECDHE AEAD suites allowed for TLS 1.2. TLS 1.3
// suites are not configurable in Go and are all AEAD.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// curves are the key exchanges offered, post-quantum hybrid first.
var curves = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}

// TLSConfig returns the paved server TLS configuration: TLS 1.2 at least
// (minVersion may raise it to tls.VersionTLS13; anything lower is raised to
// 1.2), only the six ECDHE AEAD suites for TLS 1.2, the curves
// X25519MLKEM768, X25519, P-256 and P-384, HTTP/2 and HTTP/1.1 by ALPN, and
// the certificate from src. A non-nil clientCAs requires every client to
// present a certificate that verifies against it (mTLS); read it in
// handlers with [ClientCertificate].
func TLSConfig(src CertificateSource, clientCAs *x509.CertPool, minVersion uint16) *tls.Config {
	if minVersion < tls.VersionTLS12 {
		minVersion = tls.VersionTLS12
	}
	c := &tls.Config{
		MinVersion:       minVersion,
		CipherSuites:     append([]uint16(nil), cipherSuites...),
		CurvePreferences: append([]tls.CurveID(nil), curves...),
		NextProtos:       []string{"h2", "http/1.1"},
	}
	if src != nil {
		c.GetCertificate = src.GetCertificate
	}
	if clientCAs != nil {
		c.ClientCAs = clientCAs
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c
}

// ClientCertificate returns the verified leaf certificate the client
// presented over mTLS, and whether there was one. Only a certificate that
// chained to the server's client CA pool is returned; use its Subject,
// DNSNames or URIs (SPIFFE IDs) as the client's identity.
func ClientCertificate(r *http.Request) (*x509.Certificate, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil, false
	}
	return r.TLS.VerifiedChains[0][0], true
}
