package secrets

import "context"

// TokenOps drives the lease manager, PKI and transit straight over a
// backend with one token (no Client, no login), for the tests of package
// secrets_test. Relogin simulates a re-login of the Client.
type TokenOps struct{ f *fixedToken }

func NewTokenOps(b Backend, token string) *TokenOps {
	return &TokenOps{&fixedToken{b: b, token: token}}
}

func (o *TokenOps) Relogin(token string) { o.f.relogin(token) }

func (o *TokenOps) Dynamic(ctx context.Context, cfg DynamicConfig) (*Dynamic, error) {
	return newDynamic(ctx, o.f, cfg)
}

func (o *TokenOps) PKI(ctx context.Context, cfg PKIConfig) (*PKI, error) {
	return newPKI(ctx, o.f, cfg)
}

func (o *TokenOps) Transit(mount string) *Transit { return newTransit(o.f, mount) }
