package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// A LoginMethod obtains a fresh Vault client token. The [Client] calls
// Login at start-up and again whenever its token can no longer be renewed
// (refused, revoked, or near its max TTL), so a method must be able to log
// in any number of times: each reads its credential anew (a file re-read,
// a single-use wrapping token unwrapped) at every call.
//
// The methods here write Vault's own login payloads through the [Backend],
// so they run alike against Vault and the secretstest fake; they follow
// github.com/hashicorp/vault/api/auth/approle and .../kubernetes.
type LoginMethod interface {
	// Login returns the Auth of a new token.
	Login(ctx context.Context, b Backend) (*Auth, error)
	// Method names the auth method for the posture report and events,
	// such as "approle" or "kubernetes".
	Method() string
}

// ErrLogin classifies a login method's own failures (an unreadable
// credential file, an answer without a token). Errors from Vault wrap the
// backend sentinels instead.
var ErrLogin = errors.New("secrets: login failed")

func loginWrite(ctx context.Context, b Backend, mount, def string, data map[string]any) (*Auth, error) {
	if mount == "" {
		mount = def
	}
	p := "auth/" + strings.Trim(mount, "/") + "/login"
	r, err := b.Write(ctx, "", p, data)
	if err != nil {
		return nil, err
	}
	if r == nil || r.Auth == nil || r.Auth.ClientToken.IsZero() {
		return nil, fmt.Errorf("%w: %s answered without a client token", ErrLogin, p)
	}
	return r.Auth, nil
}

func readCredential(what, path string) (string, error) {
	//paved:allow G304 the path is the login method's configured credential file, set by the operator
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: reading the %s file: %w", ErrLogin, what, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%w: the %s file %s is empty", ErrLogin, what, path)
	}
	return v, nil
}

// TokenLogin uses a fixed token, such as a root token of a dev server. It
// needs the [AllowStaticToken] opt-out: a fixed token is renewed while it
// can be, but cannot be replaced, so the client loses access when it is
// revoked or reaches its max TTL.
type TokenLogin struct {
	// Token is the Vault token.
	Token Secret
}

// Login looks the token up (auth/token/lookup-self) to learn its TTL.
func (t TokenLogin) Login(ctx context.Context, b Backend) (*Auth, error) {
	if t.Token.IsZero() {
		return nil, fmt.Errorf("%w: empty token", ErrLogin)
	}
	r, err := b.Read(ctx, t.Token.Reveal(), "auth/token/lookup-self")
	if err != nil {
		return nil, err
	}
	a := &Auth{ClientToken: t.Token}
	if r != nil && r.Data != nil {
		if ttl, ok := jsonNumber(r.Data["ttl"]); ok {
			a.LeaseDuration = time.Duration(ttl) * time.Second
		}
		a.Renewable, _ = r.Data["renewable"].(bool)
		a.Accessor, _ = r.Data["accessor"].(string)
		a.EntityID, _ = r.Data["entity_id"].(string)
		if ps, ok := r.Data["policies"].([]any); ok {
			for _, p := range ps {
				if s, ok := p.(string); ok {
					a.Policies = append(a.Policies, s)
				}
			}
		}
	}
	return a, nil
}

// Method returns "token".
func (TokenLogin) Method() string { return "token" }

// AppRoleLogin logs in with an AppRole role ID and secret ID. The secret
// ID is read from SecretIDFile at every login; when Wrapped is true (the
// default way to deliver one: a trusted orchestrator writes a
// response-wrapping token), the file holds a single-use wrapping token
// that is unwrapped first, so the orchestrator must write a fresh one
// before each re-login.
type AppRoleLogin struct {
	// Mount is the auth mount path; default "approle".
	Mount string
	// RoleID is the role's ID (not secret on its own).
	RoleID string
	// SecretIDFile is the file holding the secret ID, or its wrapping
	// token when Wrapped.
	SecretIDFile string
	// Wrapped says SecretIDFile holds a response-wrapping token.
	Wrapped bool
}

// Login reads the secret ID (unwrapping it when Wrapped) and logs in.
func (a AppRoleLogin) Login(ctx context.Context, b Backend) (*Auth, error) {
	v, err := readCredential("secret ID", a.SecretIDFile)
	if err != nil {
		return nil, err
	}
	if a.Wrapped {
		r, err := b.Write(ctx, v, "sys/wrapping/unwrap", nil)
		if err != nil {
			return nil, fmt.Errorf("unwrapping the secret ID (a wrapping token is single-use: write a fresh one before each login): %w", err)
		}
		id, _ := r.Data["secret_id"].(string)
		if id == "" {
			return nil, fmt.Errorf("%w: the unwrapped response has no secret_id", ErrLogin)
		}
		v = id
	}
	return loginWrite(ctx, b, a.Mount, "approle", map[string]any{"role_id": a.RoleID, "secret_id": v})
}

// Method returns "approle".
func (AppRoleLogin) Method() string { return "approle" }

// DefaultServiceAccountTokenFile is where Kubernetes mounts a pod's
// service account token.
const DefaultServiceAccountTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// KubernetesLogin logs in with the pod's service account token, read from
// TokenFile at every login (the kubelet rotates projected tokens).
type KubernetesLogin struct {
	// Mount is the auth mount path; default "kubernetes".
	Mount string
	// Role is the Vault role bound to the service account.
	Role string
	// TokenFile is the service account token file; default
	// [DefaultServiceAccountTokenFile].
	TokenFile string
}

// Login reads the token file and logs in.
func (k KubernetesLogin) Login(ctx context.Context, b Backend) (*Auth, error) {
	f := k.TokenFile
	if f == "" {
		f = DefaultServiceAccountTokenFile
	}
	jwt, err := readCredential("service account token", f)
	if err != nil {
		return nil, err
	}
	return loginWrite(ctx, b, k.Mount, "kubernetes", map[string]any{"role": k.Role, "jwt": jwt})
}

// Method returns "kubernetes".
func (KubernetesLogin) Method() string { return "kubernetes" }

// JWTLogin logs in with a workload identity JWT (Vault's jwt auth method),
// read at every login from TokenFile or, when set, from Token.
type JWTLogin struct {
	// Mount is the auth mount path; default "jwt".
	Mount string
	// Role is the Vault role.
	Role string
	// TokenFile holds the JWT (re-read at every login).
	TokenFile string
	// Token, when set, returns the JWT instead of TokenFile, as from a
	// workload identity client.
	Token func(ctx context.Context) (string, error)
}

// Login obtains the JWT and logs in.
func (j JWTLogin) Login(ctx context.Context, b Backend) (*Auth, error) {
	var jwt string
	var err error
	if j.Token != nil {
		jwt, err = j.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: obtaining the JWT: %w", ErrLogin, err)
		}
	} else {
		jwt, err = readCredential("JWT", j.TokenFile)
		if err != nil {
			return nil, err
		}
	}
	return loginWrite(ctx, b, j.Mount, "jwt", map[string]any{"role": j.Role, "jwt": jwt})
}

// Method returns "jwt".
func (JWTLogin) Method() string { return "jwt" }

// CertLogin logs in with the TLS client certificate of the connection to
// Vault (set it in [VaultConfig.TLS]); Vault's cert auth method matches it
// against its trusted certificates.
type CertLogin struct {
	// Mount is the auth mount path; default "cert".
	Mount string
	// Name restricts the login to one of the method's certificate roles;
	// default: any that matches.
	Name string
}

// Login logs in.
func (c CertLogin) Login(ctx context.Context, b Backend) (*Auth, error) {
	var data map[string]any
	if c.Name != "" {
		data = map[string]any{"name": c.Name}
	}
	return loginWrite(ctx, b, c.Mount, "cert", data)
}

// Method returns "cert".
func (CertLogin) Method() string { return "cert" }

var (
	_ LoginMethod = TokenLogin{}
	_ LoginMethod = AppRoleLogin{}
	_ LoginMethod = KubernetesLogin{}
	_ LoginMethod = JWTLogin{}
	_ LoginMethod = CertLogin{}
)
