package secrets_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pavedroad/paved/secrets"
)

// TestStaleRecoveryNotifiesOnlyRealChanges: past the staleness bound a
// read fails with ReasonStale; when Vault returns with the same value, the
// read succeeds again and OnChange is not called (nothing changed); a later
// real change is notified with the last good value as old.
func TestStaleRecoveryNotifiesOnlyRealChanges(t *testing.T) {
	f, c, _ := fakeClient(t, func(c *secrets.Config) {
		c.RefreshInterval, c.MaxStale, c.RetryBase, c.RetryCap = time.Minute, 2*time.Minute, time.Second, 10*time.Second
	})
	ctx := context.Background()
	f.Put("secret/app", map[string]any{"k": "v1"})
	s, err := c.Static(ctx, "secret/app#k")
	if err != nil {
		t.Fatal(err)
	}
	changes := make(chan string, 4)
	s.OnChange(func(old, new secrets.Secret) { changes <- old.Reveal() + "->" + new.Reveal() })
	f.SetDown(true)
	for i := 0; i < 40; i++ {
		if _, err := s.Value(); err != nil {
			break
		}
		advance(t, f, 2, 10*time.Second)
	}
	v, err := s.Value()
	var e *secrets.Error
	if !errors.As(err, &e) || e.Reason != secrets.ReasonStale || !v.IsZero() {
		t.Fatalf("read past the bound = %q, %v; want nothing, reason stale", v.Reveal(), err)
	}
	f.SetDown(false)
	for i := 0; i < 20; i++ {
		if _, err := s.Value(); err == nil {
			break
		}
		advance(t, f, 2, 10*time.Second)
	}
	if v, err := s.Value(); err != nil || v.Reveal() != "v1" {
		t.Fatalf("after recovery = %q, %v; want v1", v.Reveal(), err)
	}
	select {
	case ch := <-changes:
		t.Fatalf("OnChange %s on recovery with the same value", ch)
	default:
	}
	f.Put("secret/app", map[string]any{"k": "v2"})
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case ch := <-changes:
		if ch != "v1->v2" {
			t.Fatalf("OnChange %s; want v1->v2", ch)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnChange for a real change")
	}
}
