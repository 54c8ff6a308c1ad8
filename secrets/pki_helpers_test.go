package secrets_test

import (
	"crypto/x509"
	"time"

	"github.com/pavedroad/paved/secrets"
)

func x509VerifyOpts(p *secrets.PKI, now time.Time) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: p.CAPool(), CurrentTime: now, DNSName: "web.internal"}
}
