package secrets_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

// engineBackend serves only the engines' paths: enough for the lease
// manager, PKI and transit driven with TokenOps.
type engineBackend struct {
	e *secretstest.Engines

	mu   sync.Mutex
	down error // when set, every call fails with it
}

func (b *engineBackend) setDown(err error) {
	b.mu.Lock()
	b.down = err
	b.mu.Unlock()
}

func (b *engineBackend) do(ctx context.Context, op, token, path string, data map[string]any) (*secrets.Response, error) {
	b.mu.Lock()
	down := b.down
	b.mu.Unlock()
	if down != nil {
		return nil, down
	}
	if err := ctx.Err(); err != nil {
		// As the Vault backend does: an ended context sends nothing.
		return nil, fmt.Errorf("%w: %s %s: %w", secrets.ErrUnavailable, op, path, err)
	}
	if path == "auth/token/lookup-self" {
		return &secrets.Response{Data: map[string]any{"ttl": json.Number("0"), "renewable": false, "policies": []any{"root"}}}, nil
	}
	r, ok, err := b.e.Handle(ctx, op, token, path, data)
	if !ok {
		return nil, secrets.NewStatusError(op, path, 404)
	}
	return r, err
}

func (b *engineBackend) Read(ctx context.Context, token, path string) (*secrets.Response, error) {
	return b.do(ctx, "read", token, path, nil)
}

func (b *engineBackend) Write(ctx context.Context, token, path string, data map[string]any) (*secrets.Response, error) {
	return b.do(ctx, "write", token, path, data)
}

func (b *engineBackend) Delete(ctx context.Context, token, path string) (*secrets.Response, error) {
	return b.do(ctx, "delete", token, path, nil)
}

func (b *engineBackend) List(ctx context.Context, token, path string) (*secrets.Response, error) {
	return b.do(ctx, "list", token, path, nil)
}

// eventLog records events for assertions.
type eventLog struct {
	mu sync.Mutex
	ev []paved.Event
}

func (l *eventLog) Enabled(context.Context, paved.EventType) bool { return true }

func (l *eventLog) Emit(_ context.Context, e paved.Event) {
	l.mu.Lock()
	l.ev = append(l.ev, e)
	l.mu.Unlock()
}

// count returns how many events of type t with reason (any when "") came.
func (l *eventLog) count(t paved.EventType, reason string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.ev {
		if e.Type == t && (reason == "" || e.Reason == reason) {
			n++
		}
	}
	return n
}

// waitFor polls cond (in real time) until it holds or 10s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// step waits until n goroutines sleep on clock, then advances it by d.
func step(t *testing.T, clock *secretstest.Clock, n int, d time.Duration) {
	t.Helper()
	waitFor(t, "the renewal goroutine to sleep", func() bool { return clock.Waiters() >= n })
	clock.Advance(d)
}
