package secrets_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// engineClient is a Client over the engines with a static root token.
func engineClient(t *testing.T, b secrets.Backend, clock secrets.Clock) *secrets.Client {
	t.Helper()
	return engineClientToken(t, b, "root", clock)
}

func engineClientToken(t *testing.T, b secrets.Backend, token string, clock secrets.Clock) *secrets.Client {
	t.Helper()
	c, err := secrets.New(context.Background(), secrets.Config{
		Backend: b, Login: secrets.TokenLogin{Token: secrets.NewSecret(token)}, Clock: clock,
		OptOuts: []paved.OptOut{secrets.AllowStaticToken("unit test of the fake engines")},
		Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func TestEngineConformanceFake(t *testing.T) {
	clock := secretstest.NewClock(time.Now())
	e := secretstest.NewEngines(clock)
	b := &engineBackend{e: e}
	secretstest.RunEngineConformance(t, secretstest.EngineTarget{
		Client: engineClient(t, b, clock), Admin: b, AdminToken: "root", Name: "conf", Clock: clock,
		DBLogin: func(_ context.Context, user, pass string) error {
			if !e.ValidLogin(user, pass) {
				return errors.New("password authentication failed for user " + user)
			}
			return nil
		},
		Sleep: func(d time.Duration) {
			for step := 50 * time.Millisecond; d > 0; d -= step {
				clock.Advance(min(step, d))
				time.Sleep(time.Millisecond)
			}
		},
	})
}

// TestEngineConformanceOnFake runs the suite on the package's Fake, whose
// own lease table, tokens and sys/leases paths the engines plug into.
func TestEngineConformanceOnFake(t *testing.T) {
	f := secretstest.New()
	clock := f.Clock()
	secretstest.RunEngineConformance(t, secretstest.EngineTarget{
		Client: engineClientToken(t, f, f.RootToken(), clock), Admin: f, AdminToken: f.RootToken(), Name: "conf", Clock: clock,
		DBLogin: func(_ context.Context, user, pass string) error {
			if !f.Engines().ValidLogin(user, pass) {
				return errors.New("password authentication failed for user " + user)
			}
			return nil
		},
		Sleep: func(d time.Duration) {
			for step := 50 * time.Millisecond; d > 0; d -= step {
				clock.Advance(min(step, d))
				time.Sleep(time.Millisecond)
			}
		},
	})
}
