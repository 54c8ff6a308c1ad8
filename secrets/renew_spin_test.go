package secrets_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// ttlLogin issues a fresh renewable token of the given TTL from the fake
// at every login.
type ttlLogin struct {
	f   *secretstest.Fake
	ttl time.Duration
	n   *atomic.Int32
}

func (l ttlLogin) Method() string { return "test" }

func (l ttlLogin) Login(ctx context.Context, b secrets.Backend) (*secrets.Auth, error) {
	l.n.Add(1)
	tok := l.f.CreateToken([]string{"default"}, time.Hour, 0, true)
	return &secrets.Auth{ClientToken: secrets.NewSecret(tok), Accessor: "a", LeaseDuration: l.ttl, Renewable: true}, nil
}

// scriptedRenew answers renew-self as told, counting the calls.
type scriptedRenew struct {
	*secretstest.Fake
	ttl time.Duration
	err error
	n   atomic.Int32
}

func (s *scriptedRenew) Write(ctx context.Context, token, path string, data map[string]any) (*secrets.Response, error) {
	if path != "auth/token/renew-self" {
		return s.Fake.Write(ctx, token, path, data)
	}
	s.n.Add(1)
	if s.err != nil {
		return nil, s.err
	}
	return &secrets.Response{Auth: &secrets.Auth{ClientToken: secrets.NewSecret(token), LeaseDuration: s.ttl, Renewable: true}}, nil
}

// TestRenewalNeverSpins: whatever Vault grants (a 1s token, a renewal of
// 0s, refusals, outages), the renewal loop calls Vault only as the clock
// moves: with the clock stopped the calls stop, and each simulated second
// costs a bounded number of calls.
func TestRenewalNeverSpins(t *testing.T) {
	for _, tc := range []struct {
		name     string
		loginTTL time.Duration
		renewTTL time.Duration
		err      error
		quiet    bool // few calls expected (a long renewal, a re-login per TTL)
	}{
		{"1s token, 1s renewals", time.Second, time.Second, nil, false},
		{"1s token, renewals of 0s", time.Second, 0, nil, false},
		{"renewal granting more than asked", time.Second, time.Hour, nil, true},
		{"vault unavailable, 1s token", time.Second, 0, secrets.NewStatusError("write", "auth/token/renew-self", 503), false},
		{"login TTL 0, renewable", 0, 0, nil, false},
		{"renewal refused", 10 * time.Second, 0, secrets.NewStatusError("write", "auth/token/renew-self", 403, "permission denied"), true},
		{"renewal malformed", 10 * time.Second, 0, secrets.NewStatusError("write", "auth/token/renew-self", 400, "bad"), true},
		{"vault unavailable", 10 * time.Second, 0, secrets.NewStatusError("write", "auth/token/renew-self", 503), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := secretstest.New()
			b := &scriptedRenew{Fake: f, ttl: tc.renewTTL, err: tc.err}
			logins := &atomic.Int32{}
			c, err := secrets.New(context.Background(), secrets.Config{Backend: b, Clock: f.Clock(), Events: paved.NopSink{}, Posture: &paved.Posture{}, Logger: quietLogger(),
				Login: ttlLogin{f, tc.loginTTL, logins}, RefreshInterval: time.Second, MaxStale: time.Second, RetryBase: time.Second, RetryCap: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			const seconds = 20
			for range seconds {
				advance(t, f, 1, time.Second)
			}
			calls := func() int32 { return b.n.Load() + logins.Load() + int32(f.Count("read", "auth/token/lookup-self")) }
			n1 := calls()
			time.Sleep(200 * time.Millisecond)
			if n2 := calls(); n2 != n1 {
				t.Fatalf("%d calls to Vault with the clock stopped", n2-n1)
			}
			lo := int32(seconds / 2)
			if tc.quiet {
				lo = 1
			}
			if n1 > 4*seconds || n1 < lo {
				t.Fatalf("%d calls in %d simulated seconds; want from %d to %d", n1, seconds, lo, 4*seconds)
			}
		})
	}
}
