package secrets

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
)

// stubBackend issues tokens "t1", "t2"... at every AppRole-like login and
// accepts only the newest one; revoke makes the current token invalid.
type stubBackend struct {
	mu     sync.Mutex
	n      int
	valid  string
	logins int
}

func (s *stubBackend) Read(_ context.Context, token, path string) (*Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != s.valid {
		return nil, NewStatusError("read", path, 403, "permission denied")
	}
	return &Response{Data: map[string]any{"token": token}}, nil
}

func (s *stubBackend) Write(_ context.Context, token, path string, _ map[string]any) (*Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if path == "auth/stub/login" {
		s.n++
		s.logins++
		s.valid = fmt.Sprintf("t%d", s.n)
		return &Response{Auth: &Auth{ClientToken: NewSecret(s.valid), LeaseDuration: time.Hour, Renewable: true}}, nil
	}
	if token != s.valid {
		return nil, NewStatusError("write", path, 403, "permission denied")
	}
	if path == "auth/token/revoke-self" {
		s.valid = ""
	}
	return &Response{}, nil
}

func (s *stubBackend) Delete(ctx context.Context, token, path string) (*Response, error) {
	return s.Write(ctx, token, path, nil)
}

func (s *stubBackend) List(ctx context.Context, token, path string) (*Response, error) {
	return s.Read(ctx, token, path)
}

type stubLogin struct{}

func (stubLogin) Login(ctx context.Context, b Backend) (*Auth, error) {
	return loginWrite(ctx, b, "stub", "", nil)
}
func (stubLogin) Method() string { return "stub" }

func TestContractReloginOnPermissionDenied(t *testing.T) {
	b := &stubBackend{}
	c, err := New(context.Background(), Config{Backend: b, Login: stubLogin{}, RetryBase: time.Millisecond, RetryCap: 2 * time.Millisecond,
		Posture: &paved.Posture{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if g := c.loginGeneration(); g != 1 {
		t.Fatalf("generation %d, want 1", g)
	}
	if p := c.backoffPolicy(); p.Base != time.Millisecond {
		t.Fatalf("backoff base %v", p.Base)
	}
	gens := make(chan uint64, 1)
	c.subscribeLogin(func(g uint64) { gens <- g })
	// Revoke the token behind the client's back.
	if _, err := b.Write(context.Background(), c.token(), "auth/token/revoke-self", nil); err != nil {
		t.Fatal(err)
	}
	var got string
	err = c.call(context.Background(), "test", func(b Backend, tok string) error {
		r, err := b.Read(context.Background(), tok, "x")
		if err == nil {
			got = r.Data["token"].(string)
		}
		return err
	})
	if err != nil || got != "t2" {
		t.Fatalf("call: %v, token %q; want nil, t2", err, got)
	}
	if g := <-gens; g != 2 {
		t.Fatalf("subscriber got generation %d, want 2", g)
	}
	if b.logins != 2 {
		t.Fatalf("%d logins, want 2", b.logins)
	}
}

// A closed Dynamic no longer hears of re-logins: its subscription is
// removed, so a service that opens and closes dynamic secrets does not
// grow the Client's subscriber set without bound.
func TestDynamicCloseUnsubscribesFromLogins(t *testing.T) {
	c := &Client{}
	unsub := c.onLogin(func(uint64) {})
	c.onLogin(func(uint64) {})
	if n := len(c.loginSubs.fns); n != 2 {
		t.Fatalf("%d subscribers, want 2", n)
	}
	unsub()
	unsub() // idempotent
	if n := len(c.loginSubs.fns); n != 1 {
		t.Fatalf("%d subscribers after unsubscribe, want 1", n)
	}
}
