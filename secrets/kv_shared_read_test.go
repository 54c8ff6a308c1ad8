package secrets_test

import (
	"context"
	"testing"
	"time"

	"github.com/pavedroad/paved/secrets"
)

// TestSharedFirstReadOutlivesTheFirstCaller: concurrent first reads of a
// secret share one read; when the caller that started it gives up (its
// request was cancelled), the others read with their own context instead
// of failing with its cancellation.
func TestSharedFirstReadOutlivesTheFirstCaller(t *testing.T) {
	f, c, _ := fakeClient(t, func(c *secrets.Config) { c.Clock = nil; c.RetryBase, c.RetryCap = time.Millisecond, time.Millisecond })
	f.Put("secret/app", map[string]any{"k": "v"})
	f.Pause()
	first, cancel := context.WithCancel(context.Background())
	errA := make(chan error, 1)
	go func() { _, err := c.Static(first, "secret/app#k"); errA <- err }()
	eventually(t, "the first read to reach Vault", func() bool { return f.Count("read", "sys/internal/ui/mounts/secret/app") == 1 })
	type result struct {
		v   secrets.Secret
		err error
	}
	resB := make(chan result, 1)
	go func() {
		s, err := c.Static(context.Background(), "secret/app#k")
		if err != nil {
			resB <- result{err: err}
			return
		}
		v, err := s.Value()
		resB <- result{v, err}
	}()
	time.Sleep(50 * time.Millisecond) // B waits on A's read
	cancel()
	if err := <-errA; err == nil {
		t.Fatal("the cancelled first caller got no error")
	}
	f.Resume()
	select {
	case r := <-resB:
		if r.err != nil || r.v.Reveal() != "v" {
			t.Fatalf("second caller = %q, %v; want v", r.v.Reveal(), r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second caller still waiting")
	}
}
