package secrets_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"log"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// A certificate from a Vault PKI role as httpx's certificate source: it
// rotates at 2/3 of its lifetime and the next handshake gets the new one.
// CAPool is the issuing CA, for clients (RootCAs) or mTLS (ClientCAs).
func ExampleClient_PKI() {
	ctx := context.Background()
	f := secretstest.New()
	c := exampleClient(f)
	defer c.Close(ctx)

	cert, err := c.PKI(ctx, secrets.PKIConfig{Role: "localhost", CommonName: "localhost", IPSANs: []string{"127.0.0.1"},
		Posture: &paved.Posture{}, Logger: quietLogger()})
	if err != nil {
		log.Fatal(err)
	}
	defer cert.Close(ctx)
	srv, err := httpx.New(httpx.Config{Certificates: cert, ClientCAs: cert.CAPool(), Posture: &paved.Posture{}, Logger: quietLogger()})
	if err != nil {
		log.Fatal(err)
	}
	_ = srv // srv.ListenAndServe(ctx)

	_, err = cert.Leaf().Verify(x509.VerifyOptions{Roots: cert.CAPool(), DNSName: "localhost", CurrentTime: f.Clock().Now()})
	fmt.Println("CN:", cert.Leaf().Subject.CommonName)
	fmt.Println("verifies against CAPool:", err == nil)
	// Output:
	// CN: localhost
	// verifies against CAPool: true
}
