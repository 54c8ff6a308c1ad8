package secrets

import (
	"context"
	"errors"
	"sync"
)

// leaseOps is what dynamic secrets, PKI certificates and transit need of a
// [Client]: run a call to the backend with the current token (logging in
// again when the token was refused), and hear of every re-login, since
// leases die with the token that created them.
type leaseOps interface {
	// call runs fn with the backend and the current client token.
	call(ctx context.Context, op string, fn func(b Backend, token string) error) error
	// subscribeLogin has f called after every re-login, until the returned
	// function is called.
	subscribeLogin(f func(gen uint64)) (unsubscribe func())
	// generation returns the current login generation: a call made after
	// it runs with a token of that login or a later one.
	generation() uint64
}

func (c *Client) leaseOps() leaseOps { return clientOps{c} }

// clientOps runs calls through the Client, which logs in again once when a
// call is refused for its token.
type clientOps struct{ c *Client }

func (o clientOps) call(ctx context.Context, op string, fn func(Backend, string) error) error {
	_, err := o.c.do(ctx, op, func(token string) (*Response, error) { return nil, fn(o.c.b, token) })
	return err
}

func (o clientOps) subscribeLogin(f func(uint64)) func() { return o.c.onLogin(f) }

func (o clientOps) generation() uint64 { return o.c.loginGeneration() }

// fixedToken runs every call with one token and never logs in again. Tests
// use it to drive the lease manager with a backend directly; relogin
// simulates a re-login.
type fixedToken struct {
	b     Backend
	mu    sync.Mutex
	token string
	subs  []func(uint64)
	gen   uint64
}

func (f *fixedToken) call(_ context.Context, _ string, fn func(Backend, string) error) error {
	f.mu.Lock()
	tok := f.token
	f.mu.Unlock()
	return fn(f.b, tok)
}

func (f *fixedToken) subscribeLogin(s func(uint64)) func() {
	f.mu.Lock()
	f.subs = append(f.subs, s)
	f.mu.Unlock()
	return func() {} // tests keep their subscribers for the test's life
}

func (f *fixedToken) generation() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gen
}

// relogin switches to token and tells the subscribers.
func (f *fixedToken) relogin(token string) {
	f.mu.Lock()
	f.token = token
	f.gen++
	gen, subs := f.gen, append([]func(uint64){}, f.subs...)
	f.mu.Unlock()
	for _, s := range subs {
		go s(gen)
	}
}

// refused reports whether err is Vault refusing a request for good (not
// found, permission denied even after a re-login, invalid), as opposed to a
// transient failure worth retrying as is.
func refused(err error) bool {
	return errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrPermissionDenied) || errors.Is(err, ErrNotFound)
}
