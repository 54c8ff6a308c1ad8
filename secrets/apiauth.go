package secrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/vault/api"
)

// APIAuthLogin adapts an api.AuthMethod, such as the login methods of the
// github.com/hashicorp/vault/api/auth/* modules (aws, gcp, azure, ldap,
// userpass, approle, kubernetes), to a [LoginMethod], so the [Client]
// renews and replaces the tokens they issue. It works only over a Backend
// of [NewVaultBackend] or [VaultBackend]: the method runs on a clone of that
// backend's *api.Client, without a token. The login methods of this
// package need no adapter and run against the secretstest fake too.
type APIAuthLogin struct {
	// Auth is the api auth method.
	Auth api.AuthMethod
	// Name names the method in posture and events, such as "aws".
	Name string
}

// Login runs the api auth method.
func (a APIAuthLogin) Login(ctx context.Context, b Backend) (*Auth, error) {
	ac := APIClient(b)
	if ac == nil {
		return nil, fmt.Errorf("%w: APIAuthLogin needs a Vault backend (NewVaultBackend or VaultBackend)", ErrLogin)
	}
	if a.Auth == nil {
		return nil, fmt.Errorf("%w: APIAuthLogin without an Auth method", ErrLogin)
	}
	cl, err := ac.Clone()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLogin, err)
	}
	cl.ClearToken()
	if ns := ac.Namespace(); ns != "" {
		cl.SetNamespace(ns)
	}
	s, err := a.Auth.Login(ctx, cl)
	if err != nil {
		var re *api.ResponseError
		if errors.As(err, &re) {
			return nil, NewStatusError("write", "auth/"+a.Method()+"/login", re.StatusCode, re.Errors...)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrLogin, a.Method(), err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return nil, fmt.Errorf("%w: %s answered without a client token", ErrLogin, a.Method())
	}
	return fromAPISecret(s).Auth, nil
}

// Method returns Name, or "api" when it is empty.
func (a APIAuthLogin) Method() string {
	if a.Name == "" {
		return "api"
	}
	return a.Name
}

var _ LoginMethod = APIAuthLogin{}
