package tls

import "crypto/tls"

// With go 1.25 Go's defaults are safe: no MinVersion is no finding
// (gosec's G402 reports both of these).
var clientConfig = &tls.Config{}

var server = &tls.Config{Certificates: []tls.Certificate{}}

var pinned = &tls.Config{MinVersion: tls.VersionTLS13}

var insecure = &tls.Config{InsecureSkipVerify: true} // want `PAV102: InsecureSkipVerify`

var old = &tls.Config{MinVersion: tls.VersionTLS10} // want `PAV102: MinVersion TLS 1.0 is below TLS 1.2`

var suites = &tls.Config{CipherSuites: []uint16{
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, // want `PAV102: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not an AEAD suite`
}}

func mutate(c *tls.Config) {
	c.InsecureSkipVerify = true     // want `PAV102: InsecureSkipVerify`
	c.MinVersion = tls.VersionTLS11 // want `PAV102: MinVersion TLS 1.1`
	c.InsecureSkipVerify = false
}
