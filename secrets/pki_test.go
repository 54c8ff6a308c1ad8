package secrets_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/backoff"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

type pkiFixture struct {
	clock  *secretstest.Clock
	e      *secretstest.Engines
	b      *engineBackend
	ops    *secrets.TokenOps
	events *eventLog
	post   *paved.Posture
}

func newPKIFixture(t *testing.T) *pkiFixture {
	f := &pkiFixture{clock: secretstest.NewClock(time.Now().Truncate(time.Second)), events: &eventLog{}, post: &paved.Posture{}}
	f.e = secretstest.NewEngines(f.clock)
	f.b = &engineBackend{e: f.e}
	f.ops = secrets.NewTokenOps(f.b, "root")
	if _, err := f.b.Write(context.Background(), "root", "pki/roles/web", map[string]any{"max_ttl": "24h", "not_before_duration": "0s"}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *pkiFixture) config() secrets.PKIConfig {
	return secrets.PKIConfig{Role: "web", CommonName: "web.internal", AltNames: []string{"localhost"}, IPSANs: []string{"127.0.0.1"},
		TTL: 90 * time.Minute, Clock: f.clock, Events: f.events, Posture: f.post, Logger: slog.New(slog.DiscardHandler),
		Retry: backoff.Policy{Base: time.Second, Cap: 4 * time.Second}}
}

func TestPKIRotatesAtTwoThirds(t *testing.T) {
	f := newPKIFixture(t)
	ctx := context.Background()
	p, err := f.ops.PKI(ctx, f.config())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	leaf := p.Leaf()
	if leaf.Subject.CommonName != "web.internal" || len(leaf.DNSNames) != 2 || len(leaf.IPAddresses) != 1 {
		t.Fatalf("issued %v %v %v", leaf.Subject.CommonName, leaf.DNSNames, leaf.IPAddresses)
	}
	if _, err := leaf.Verify(x509VerifyOpts(p, f.clock.Now())); err != nil {
		t.Fatalf("leaf does not verify against CAPool: %v", err)
	}
	c1, err := p.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil || c1.Leaf != leaf {
		t.Fatalf("GetCertificate: %v", err)
	}
	// 2/3 of 90 minutes is 60.
	step(t, f.clock, 2, 59*time.Minute)
	if p.Issued() != 1 {
		t.Fatal("rotated before 2/3 of the lifetime")
	}
	step(t, f.clock, 2, time.Minute)
	// The counter moves before the rotation's events are emitted: wait
	// for the event, the last thing a rotation does.
	waitFor(t, "a rotation", func() bool {
		return p.Issued() == 2 && f.events.count(paved.EventCertificateExpiry, "rotated") >= 1
	})
	c2, _ := p.GetCertificate(nil)
	if c2 == c1 || c2.Leaf.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Fatal("GetCertificate still returns the first certificate")
	}
	if got := f.events.count(paved.EventCertificateExpiry, "rotated"); got != 1 {
		t.Fatalf("%d expiry events for the rotation", got)
	}
	f.events.mu.Lock()
	var left float64
	for _, e := range f.events.ev {
		if e.Type == paved.EventCertificateExpiry && e.Reason == "rotated" {
			left = e.Value
		}
	}
	f.events.mu.Unlock()
	if left != (90 * time.Minute).Seconds() {
		t.Fatalf("expiry event says %vs left, want 5400", left)
	}
	if !strings.Contains(p.String(), "pki/issue/web CN=web.internal") {
		t.Fatalf("String: %s", p.String())
	}
	rep := f.post.Report()
	if len(rep.Controls) != 1 || rep.Controls[0].Name != "certificate-rotation" || !rep.Controls[0].Enabled {
		t.Fatalf("posture: %+v", rep.Controls)
	}
}

// TestPKIOutage: while issuing fails, the current certificate keeps
// serving (degraded); at NotAfter the source fails closed; it recovers by
// itself when the backend returns.
func TestPKIOutage(t *testing.T) {
	f := newPKIFixture(t)
	ctx := context.Background()
	p, err := f.ops.PKI(ctx, f.config())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	f.b.setDown(fmt.Errorf("%w: connection refused", secrets.ErrUnavailable))
	step(t, f.clock, 2, 60*time.Minute)
	waitFor(t, "a failed issue", func() bool { return f.events.count(paved.EventSecretFailure, "issue") >= 1 })
	if err := p.Check(ctx); !errors.Is(err, httpx.ErrDegraded) {
		t.Fatalf("Check during the outage: %v", err)
	}
	if _, err := p.GetCertificate(nil); err != nil {
		t.Fatalf("GetCertificate during the outage: %v", err)
	}
	for p.Check(ctx) == nil || errors.Is(p.Check(ctx), httpx.ErrDegraded) {
		step(t, f.clock, 2, 4*time.Second*60)
	}
	waitFor(t, "the expiry", func() bool { _, err := p.GetCertificate(nil); return errors.Is(err, secrets.ErrCertificateExpired) })
	if err := p.Check(ctx); !errors.Is(err, secrets.ErrCertificateExpired) {
		t.Fatalf("Check past NotAfter: %v", err)
	}
	f.b.setDown(nil)
	waitFor(t, "recovery", func() bool {
		if _, err := p.GetCertificate(nil); err == nil {
			return true
		}
		if n, ok := f.clock.Next(); ok {
			f.clock.Advance(n)
		}
		return false
	})
	if err := p.Check(ctx); err != nil {
		t.Fatalf("Check after recovery: %v", err)
	}
}

func TestPKIConfigErrors(t *testing.T) {
	f := newPKIFixture(t)
	for _, tc := range []struct {
		cfg   secrets.PKIConfig
		field string
	}{
		{secrets.PKIConfig{CommonName: "a"}, "PKIConfig.Role"},
		{secrets.PKIConfig{Role: "a/b", CommonName: "a"}, "PKIConfig.Role"},
		{secrets.PKIConfig{Role: "web"}, "PKIConfig.CommonName"},
		{secrets.PKIConfig{Role: "web", CommonName: "a,b"}, "PKIConfig.CommonName"},
		{secrets.PKIConfig{Role: "web", CommonName: "a", IPSANs: []string{"localhost"}}, "PKIConfig.IPSANs"},
		{secrets.PKIConfig{Role: "web", CommonName: "a", AltNames: []string{""}}, "PKIConfig.AltNames"},
		{secrets.PKIConfig{Role: "web", CommonName: "a", TTL: time.Second}, "PKIConfig.TTL"},
		{secrets.PKIConfig{Role: "web", CommonName: "a", Mount: "pki?x"}, "PKIConfig.Mount"},
	} {
		_, err := f.ops.PKI(context.Background(), tc.cfg)
		ces := paved.ConfigErrors(err)
		if len(ces) != 1 || ces[0].Field != tc.field {
			t.Errorf("%+v: %v, want one ConfigError on %s", tc.cfg, err, tc.field)
		}
	}
	// A role that does not exist: refused at once, not retried.
	cfg := f.config()
	cfg.Role = "nope"
	if _, err := f.ops.PKI(context.Background(), cfg); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("unknown role: %v", err)
	}
	if got := f.events.count(paved.EventSecretFailure, "issue"); got != 1 {
		t.Fatalf("%d issue attempts for a refused role, want 1", got)
	}
}

// TestPKIBornLateBacksOff: a certificate issued already past its 2/3 mark
// (a CA about to expire caps them so) is not re-issued in a tight loop:
// the source backs off between issues.
func TestPKIBornLateBacksOff(t *testing.T) {
	f := newPKIFixture(t)
	ctx := context.Background()
	if _, err := f.b.Write(ctx, "root", "pki/roles/late", map[string]any{"max_ttl": "24h", "not_before_duration": "1h"}); err != nil {
		t.Fatal(err)
	}
	cfg := f.config()
	cfg.Role, cfg.TTL = "late", 10*time.Minute
	p, err := f.ops.PKI(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	time.Sleep(20 * time.Millisecond) // a loop without sleeping would issue thousands by now
	if n := p.Issued(); n > 2 {
		t.Fatalf("%d issues without the clock moving, want at most 2", n)
	}
	// Each further issue waits a backoff step (base 1s, cap 4s): fire
	// the pending backoff timer, 6 times.
	start := f.clock.Now()
	for i := range 6 {
		waitFor(t, "a backoff timer", func() bool { d, ok := f.clock.Next(); return ok && d <= 4*time.Second })
		if n := p.Issued(); n != 2+i {
			t.Fatalf("%d issues after %d backoff steps, want %d", n, i, 2+i)
		}
		d, _ := f.clock.Next()
		if d < 500*time.Millisecond {
			t.Fatalf("backoff step %d is %s, want at least half the 1s base", i, d)
		}
		f.clock.Advance(d)
		waitFor(t, "the next issue", func() bool { return p.Issued() == 3+i })
	}
	if el := f.clock.Now().Sub(start); el < 6*time.Second/2 {
		t.Fatalf("6 issues in %s of backoff", el)
	}
}

// TestPKIExpiredAfterClose: with no rotation goroutine left (Close), or
// its timer late (a suspended host: timers run on the monotonic clock),
// GetCertificate still fails closed once NotAfter has passed.
func TestPKIExpiredAfterClose(t *testing.T) {
	f := newPKIFixture(t)
	ctx := context.Background()
	p, err := f.ops.PKI(ctx, f.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := p.GetCertificate(nil); err != nil || c == nil {
		t.Fatalf("GetCertificate after Close, before NotAfter: cert %t, %v", c != nil, err)
	}
	f.clock.Advance(91 * time.Minute)
	if c, err := p.GetCertificate(nil); c != nil || !errors.Is(err, secrets.ErrCertificateExpired) {
		t.Fatalf("GetCertificate past NotAfter: cert %t, %v; want ErrCertificateExpired", c != nil, err)
	}
	if _, err := p.GetClientCertificate(nil); !errors.Is(err, secrets.ErrCertificateExpired) {
		t.Fatalf("GetClientCertificate past NotAfter: %v", err)
	}
}
