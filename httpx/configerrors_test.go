package httpx_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// fields lists the Field of every ConfigError in err.
func fields(err error) string {
	var f []string
	for _, ce := range paved.ConfigErrors(err) {
		if ce.Component != httpx.Component || ce.Problem == "" || ce.Fix == "" {
			return "incomplete ConfigError: " + ce.Error()
		}
		f = append(f, ce.Field)
	}
	return strings.Join(f, " ")
}

// Every validating constructor reports all its faulty fields at once, as
// paved.ConfigErrors naming each field.
func TestConstructorsReportEveryField(t *testing.T) {
	_, rlErr := httpx.NewRateLimiter(httpx.RateLimitConfig{
		Policy:     httpx.RatePolicy{Name: "a b", Limit: -1, Window: 1500 * time.Millisecond, Burst: -2},
		MaxClients: 10,
	})
	_, ipErr := httpx.ResolveClientIP(httpx.ClientIPConfig{Header: "X-Real-IP", TrustedProxies: []string{"10.0.0.0/8", "nope", "10.0.0.0/33"}})
	_, coErr := httpx.CrossOrigin([]string{"https://ok.example", "example.com", "ftp://x y"}, nil)
	_, fcErr := httpx.NewFileCertificate(httpx.FileCertificateConfig{CheckInterval: -time.Second})
	_, fcLong := httpx.NewFileCertificate(httpx.FileCertificateConfig{CertFile: "c", KeyFile: "k", CheckInterval: 2 * time.Hour})
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"NewRateLimiter", rlErr, "RateLimitConfig.Policy.Limit RateLimitConfig.Policy.Window RateLimitConfig.Policy.Burst RateLimitConfig.Policy.Name RateLimitConfig.MaxClients"},
		{"ResolveClientIP", ipErr, "ClientIPConfig.Header ClientIPConfig.TrustedProxies[1] ClientIPConfig.TrustedProxies[2]"},
		{"CrossOrigin", coErr, "TrustedOrigins[1] TrustedOrigins[2]"},
		{"NewFileCertificate", fcErr, "FileCertificateConfig.CertFile FileCertificateConfig.KeyFile FileCertificateConfig.CheckInterval"},
		{"NewFileCertificate ceiling", fcLong, "FileCertificateConfig.CheckInterval"},
	} {
		if got := fields(tt.err); got != tt.want {
			t.Errorf("%s: ConfigError fields %q, want %q (error %v)", tt.name, got, tt.want, tt.err)
		}
	}
}
