package telemetry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pavedroad/paved"
)

// writeCertAndKey writes a self-signed certificate and its key as PEM
// files in dir.
func writeCertAndKey(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "paved test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestSetupRejectsUnusableTLSFiles: the OTLP exporters read the
// certificate and compression variables themselves and, on a file they
// cannot use, log and carry on without it; Setup refuses each, naming the
// variable.
func TestSetupRejectsUnusableTLSFiles(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCertAndKey(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name   string
		env    map[string]string
		fields []string
	}{
		{"valid", map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": cert, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": cert, "OTEL_EXPORTER_OTLP_CLIENT_KEY": key,
			"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}, nil},
		{"missing-ca", map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": missing}, []string{"OTEL_EXPORTER_OTLP_CERTIFICATE"}},
		{"not-pem-ca", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": garbage}, []string{"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"}},
		{"cert-without-key", map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": cert}, []string{"OTEL_EXPORTER_OTLP_CLIENT_KEY"}},
		{"key-without-cert", map[string]string{"OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY": key}, []string{"OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE"}},
		{"key-not-pem", map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": cert, "OTEL_EXPORTER_OTLP_CLIENT_KEY": garbage}, []string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"}},
		{"compression", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION": "zstd"}, []string{"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel, err := Setup(context.Background(), Config{Getenv: envMap(tt.env), Logger: quiet(), Posture: &paved.Posture{}, LeaveGlobals: true, LeaveDefaultSink: true})
			if err == nil {
				_ = tel.Shutdown(context.Background())
			}
			var got []string
			for _, ce := range paved.ConfigErrors(err) {
				got = append(got, ce.Field)
			}
			if !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.fields, err)
			}
		})
	}
}
