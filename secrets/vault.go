package secrets

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/pavedroad/paved/httpx"
)

// VaultConfig says how to reach a Vault server; it is used when
// [Config.Backend] is nil.
type VaultConfig struct {
	// Address is Vault's URL, such as "https://vault.internal:8200".
	// Default: the VAULT_ADDR environment variable. It must be https
	// unless the host is a loopback address or OptOuts holds
	// [AllowPlainHTTP].
	Address string
	// TLS configures the connection: the CA that signs Vault's
	// certificate (RootCAs), and for the TLS certificate login method,
	// the client certificate (Certificates or GetClientCertificate).
	// Default: the system roots (or VAULT_CACERT and the other VAULT_*
	// TLS variables the api client reads), TLS 1.2 or newer. A MinVersion
	// lower than TLS 1.2 is raised to it; no CipherSuites means paved's
	// (httpx's ECDHE AEAD suites). InsecureSkipVerify, here or through
	// VAULT_SKIP_VERIFY, is refused.
	TLS *tls.Config
	// Namespace is the Vault Enterprise namespace; default none.
	Namespace string
	// Timeout bounds each request to Vault. Default 10s; from 100ms to 5m.
	// The client's background requests (renewal, refresh) are bounded by
	// it whatever the Backend.
	Timeout time.Duration
}

// DefaultVaultTimeout is VaultConfig.Timeout's default.
const DefaultVaultTimeout = 10 * time.Second

// vaultBackend is the Backend of a real Vault, over an *api.Client.
type vaultBackend struct {
	c  *api.Client
	hc *http.Client // the transport New built (nil for VaultBackend's caller-owned client)
}

// VaultBackend returns a [Backend] over c. The client's own token is not
// used: every call carries the token the [Client] passes. Its retries
// (api.Config.MaxRetries) add to the Client's own backoff; [NewVaultBackend]
// turns them off.
func VaultBackend(c *api.Client) Backend { return &vaultBackend{c: c} }

// NewVaultBackend builds the [Backend] of the Vault that cfg describes,
// with api's own retries off (the [Client] backs off itself).
func NewVaultBackend(cfg VaultConfig) (Backend, error) {
	return newVaultBackend(cfg, DefaultInjectConcurrency)
}

// newVaultBackend is NewVaultBackend keeping up to conns idle connections,
// so that conns concurrent reads (Inject's) reuse theirs.
func newVaultBackend(cfg VaultConfig, conns int) (Backend, error) {
	ac := api.DefaultConfig()
	if ac.Error != nil {
		return nil, ac.Error
	}
	if cfg.Address != "" {
		ac.Address = cfg.Address
	}
	ac.MaxRetries = 0
	ac.Timeout = cfg.Timeout
	if ac.Timeout == 0 {
		ac.Timeout = DefaultVaultTimeout
	}
	tr, ok := ac.HttpClient.Transport.(*http.Transport)
	if !ok {
		return nil, errors.New("secrets: unexpected api default transport")
	}
	var tc *tls.Config
	if cfg.TLS != nil {
		tc = cfg.TLS.Clone()
	} else if tr.TLSClientConfig != nil {
		tc = tr.TLSClientConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.InsecureSkipVerify {
		return nil, errors.New("secrets: VAULT_SKIP_VERIFY or TLS.InsecureSkipVerify turns off the verification of Vault's certificate: refused; trust Vault's CA with VAULT_CACERT or TLS.RootCAs")
	}
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	if tc.CipherSuites == nil {
		// paved's TLS 1.2 floor: the ECDHE AEAD suites of httpx.
		tc.CipherSuites = httpx.TLSConfig(nil, nil, 0).CipherSuites
	}
	if len(tc.NextProtos) == 0 {
		// api configured HTTP/2 on the transport; a caller's TLS config
		// must still offer it, so that concurrent reads share a connection.
		tc.NextProtos = []string{"h2", "http/1.1"}
	}
	tr.TLSClientConfig = tc
	// Keep enough idle connections for Inject's concurrent reads.
	tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, conns)
	c, err := api.NewClient(ac)
	if err != nil {
		return nil, err
	}
	c.ClearToken()
	if cfg.Namespace != "" {
		c.SetNamespace(cfg.Namespace)
	}
	return &vaultBackend{c: c, hc: ac.HttpClient}, nil
}

// APIClient returns the *api.Client of a Backend built by [VaultBackend] or
// [NewVaultBackend], or nil for another Backend.
func APIClient(b Backend) *api.Client {
	if v, ok := b.(*vaultBackend); ok {
		return v.c
	}
	return nil
}

// String returns Vault's address, for errors and posture.
func (v *vaultBackend) String() string { return v.c.Address() }

func (v *vaultBackend) Read(ctx context.Context, token, path string) (*Response, error) {
	return v.do(ctx, "read", http.MethodGet, token, path, nil)
}

func (v *vaultBackend) Write(ctx context.Context, token, path string, data map[string]any) (*Response, error) {
	return v.do(ctx, "write", http.MethodPut, token, path, data)
}

func (v *vaultBackend) Delete(ctx context.Context, token, path string) (*Response, error) {
	r, err := v.do(ctx, "delete", http.MethodDelete, token, path, nil)
	if errors.Is(err, ErrNotFound) {
		return &Response{}, nil
	}
	return r, err
}

func (v *vaultBackend) List(ctx context.Context, token, path string) (*Response, error) {
	return v.do(ctx, "list", "LIST", token, path, nil)
}

func (v *vaultBackend) do(ctx context.Context, op, method, token, path string, data map[string]any) (*Response, error) {
	p, query, _ := strings.Cut(path, "?")
	r := v.c.NewRequest(method, "/v1/"+p)
	r.ClientToken = token
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %s: bad query: %w", ErrInvalidRequest, op, p, err)
		}
		r.Params = q
	}
	if data != nil {
		if err := r.SetJSONBody(data); err != nil {
			return nil, fmt.Errorf("%w: %s %s: %w", ErrInvalidRequest, op, p, err)
		}
	}
	//lint:ignore SA1019 the only api call that takes a per-request token on a shared client; api's own Logical uses it.
	resp, err := v.c.RawRequestWithContext(ctx, r)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		var re *api.ResponseError
		if errors.As(err, &re) {
			return nil, NewStatusError(op, p, re.StatusCode, re.Errors...)
		}
		if resp != nil && resp.StatusCode >= 400 {
			return nil, NewStatusError(op, p, resp.StatusCode)
		}
		if ctx.Err() != nil && !errors.Is(err, context.DeadlineExceeded) {
			return nil, ctx.Err()
		}
		return nil, unavailable(op, p, err)
	}
	if resp.StatusCode == http.StatusNoContent {
		return &Response{}, nil
	}
	s, err := api.ParseSecret(resp.Body)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return &Response{}, nil
		}
		return nil, unavailable(op, p, err)
	}
	return fromAPISecret(s), nil
}

func fromAPISecret(s *api.Secret) *Response {
	if s == nil {
		return &Response{}
	}
	r := &Response{
		RequestID:     s.RequestID,
		Data:          s.Data,
		LeaseID:       s.LeaseID,
		LeaseDuration: time.Duration(s.LeaseDuration) * time.Second,
		Renewable:     s.Renewable,
		Warnings:      s.Warnings,
		MountType:     s.MountType,
	}
	if s.Auth != nil {
		r.Auth = &Auth{
			ClientToken:   NewSecret(s.Auth.ClientToken),
			Accessor:      s.Auth.Accessor,
			Policies:      s.Auth.Policies,
			LeaseDuration: time.Duration(s.Auth.LeaseDuration) * time.Second,
			Renewable:     s.Auth.Renewable,
			EntityID:      s.Auth.EntityID,
		}
	}
	return r
}

// jsonNumber converts a value from a Response's Data (json.Number when the
// Vault api decoded it, a Go number from the fake) to an int64.
func jsonNumber(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			f, ferr := n.Float64()
			if ferr != nil {
				return 0, false
			}
			return int64(f), true
		}
		return i, true
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		return int64(n), true
	case string:
		var i int64
		if _, err := fmt.Sscan(n, &i); err == nil {
			return i, true
		}
	}
	return 0, false
}

var _ Backend = (*vaultBackend)(nil)
