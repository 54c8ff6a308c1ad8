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

// nonRenewableLogin issues a fresh non-renewable 30m token from the fake
// at every login.
type nonRenewableLogin struct{ f *secretstest.Fake }

func (l nonRenewableLogin) Method() string { return "test" }

func (l nonRenewableLogin) Login(ctx context.Context, b secrets.Backend) (*secrets.Auth, error) {
	tok := l.f.CreateToken([]string{"default"}, 30*time.Minute, 0, false)
	r, err := b.Read(ctx, tok, "auth/token/lookup-self")
	if err != nil {
		return nil, err
	}
	acc, _ := r.Data["accessor"].(string)
	return &secrets.Auth{ClientToken: secrets.NewSecret(tok), Accessor: acc, LeaseDuration: 30 * time.Minute}, nil
}

// slowRevoke blocks the revocation of one token until its context ends,
// as a Vault that stopped answering would.
type slowRevoke struct {
	*secretstest.Fake
	token    atomic.Pointer[string]
	inflight atomic.Int32
}

func (s *slowRevoke) Write(ctx context.Context, token, path string, data map[string]any) (*secrets.Response, error) {
	if p := s.token.Load(); path == "auth/token/revoke-self" && p != nil && *p == token {
		s.inflight.Add(1)
		defer s.inflight.Add(-1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Fake.Write(ctx, token, path, data)
}

// TestSupersededTokenRevocationEndsBeforeClose: the revocation of a token
// replaced by a re-login is bounded by Vault.Timeout and finished when
// Close returns: no goroutine of the client outlives Close.
func TestSupersededTokenRevocationEndsBeforeClose(t *testing.T) {
	f := secretstest.New()
	b := &slowRevoke{Fake: f}
	c, err := secrets.New(context.Background(), secrets.Config{Backend: b, Clock: f.Clock(), Events: paved.NopSink{}, Posture: &paved.Posture{}, Logger: quietLogger(),
		Login: nonRenewableLogin{f}, Vault: secrets.VaultConfig{Timeout: 100 * time.Millisecond}, RefreshInterval: 24 * time.Hour, MaxStale: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	first := c.TokenAccessor()
	old := f.TokenForAccessor(first)
	b.token.Store(&old)
	advance(t, f, 1, 20*time.Minute) // 2/3 of 30m: not renewable, so a re-login
	eventually(t, "re-login", func() bool { return c.TokenAccessor() != first })
	eventually(t, "the old token's revocation to start", func() bool { return b.inflight.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := b.inflight.Load(); n != 0 {
		t.Fatalf("%d revocations still running after Close", n)
	}
}
