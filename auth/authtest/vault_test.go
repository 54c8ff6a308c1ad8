package authtest_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/internal/testenv"
)

// vaultProvider adapts Vault's OpenID provider (identity/oidc) to the
// conformance suite, with plain net/http calls to Vault's HTTP API.
type vaultProvider struct {
	t      *testing.T
	vault  testenv.Vault
	oidc   testenv.OIDC
	client *http.Client

	once      sync.Once
	userToken string
	loginErr  error
}

var (
	_ authtest.Provider    = (*vaultProvider)(nil)
	_ authtest.KeyRotator  = (*vaultProvider)(nil)
	_ authtest.LoginDriver = (*vaultProvider)(nil)
	_ authtest.Deviator    = (*vaultProvider)(nil)
)

func newVaultProvider(t *testing.T) *vaultProvider {
	v := testenv.RequireVault(t)
	o := testenv.RequireOIDC(t)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if ca := os.Getenv("VAULT_CACERT"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			t.Fatalf("VAULT_CACERT: %v", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &vaultProvider{t: t, vault: v, oidc: o, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (p *vaultProvider) Issuer() string       { return p.oidc.Issuer }
func (p *vaultProvider) Client() *http.Client { return p.client }

func (p *vaultProvider) BearerIssuer() auth.Issuer {
	is := auth.Issuer{
		URL:       p.oidc.TokenIssuer,
		Audiences: []string{p.oidc.TokenAudience},
		OptOuts:   []paved.OptOut{auth.AllowUntypedTokens("Vault identity tokens carry no RFC 9068 typ header")},
	}
	if strings.HasPrefix(is.URL, "http://") {
		is.OptOuts = append(is.OptOuts, auth.AllowHTTPIssuer("Vault dev server on loopback in the integration run"))
	}
	return is
}

// vaultDo calls Vault's API with token and decodes the JSON answer into out.
func (p *vaultProvider) vaultDo(ctx context.Context, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(p.vault.Addr, "/")+path, rd)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("vault %s %s: %d %s", method, path, resp.StatusCode, truncate(string(b), 300))
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// user logs in the userpass user once; its token carries an entity.
func (p *vaultProvider) user(ctx context.Context) (string, error) {
	p.once.Do(func() {
		var out struct {
			Auth struct {
				ClientToken string `json:"client_token"`
			} `json:"auth"`
		}
		p.loginErr = p.vaultDo(ctx, http.MethodPost,
			"/v1/auth/"+url.PathEscape(p.oidc.UserpassMount)+"/login/"+url.PathEscape(p.oidc.Username), "",
			map[string]string{"password": p.oidc.Password}, &out)
		p.userToken = out.Auth.ClientToken
		if p.loginErr == nil && p.userToken == "" {
			p.loginErr = fmt.Errorf("userpass login returned no client token")
		}
	})
	return p.userToken, p.loginErr
}

func (p *vaultProvider) BearerToken(ctx context.Context) (string, error) {
	tok, err := p.user(ctx)
	if err != nil {
		return "", err
	}
	var out struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := p.vaultDo(ctx, http.MethodGet, "/v1/identity/oidc/token/"+url.PathEscape(p.oidc.TokenRole), tok, nil, &out); err != nil {
		return "", err
	}
	return out.Data.Token, nil
}

func (p *vaultProvider) RotateSigningKeys(ctx context.Context) error {
	var role struct {
		Data struct {
			Key string `json:"key"`
		} `json:"data"`
	}
	if err := p.vaultDo(ctx, http.MethodGet, "/v1/identity/oidc/role/"+url.PathEscape(p.oidc.TokenRole), p.vault.Token, nil, &role); err != nil {
		return err
	}
	if role.Data.Key == "" {
		return fmt.Errorf("role %s names no key", p.oidc.TokenRole)
	}
	return p.vaultDo(ctx, http.MethodPost, "/v1/identity/oidc/key/"+url.PathEscape(role.Data.Key)+"/rotate", p.vault.Token, map[string]any{}, nil)
}

func (p *vaultProvider) LoginClient() (string, string, string) {
	return p.oidc.ClientID, p.oidc.ClientSecret, p.oidc.RedirectURI
}

// Authorize sends the relying party's authorization request to Vault's
// authorize API (the discovered authorization_endpoint is Vault's UI) as
// the logged-in user; Vault answers {code, state} in JSON.
func (p *vaultProvider) Authorize(ctx context.Context, authURL string) (string, error) {
	tok, err := p.user(ctx)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(authURL)
	if err != nil {
		return "", err
	}
	path := strings.TrimPrefix(strings.TrimSuffix(p.oidc.Issuer, "/"), strings.TrimSuffix(p.vault.Addr, "/")) + "/authorize?" + u.RawQuery
	var out struct {
		Code  string `json:"code"`
		State string `json:"state"`
		Error string `json:"error"`
	}
	if err := p.vaultDo(ctx, http.MethodGet, path, tok, nil, &out); err != nil {
		return "", err
	}
	if out.Code == "" {
		return "", fmt.Errorf("vault authorize: error %q", out.Error)
	}
	cb, err := url.Parse(p.oidc.RedirectURI)
	if err != nil {
		return "", err
	}
	q := cb.Query()
	q.Set("code", out.Code)
	q.Set("state", out.State)
	cb.RawQuery = q.Encode()
	return cb.String(), nil
}

// Deviation implements [authtest.Deviator]. Vault's discovery document
// already says what it lacks (no refresh_token or client_credentials
// grant, no end_session_endpoint), so the suite skips those cases by
// itself; this is what discovery cannot say.
func (p *vaultProvider) Deviation(name string) string {
	if name == "Userinfo/IDToken" {
		// Seen with Vault 1.21.0: "Bearer aaaa.bbbb.cccc" gets the same
		// 500, "Bearer garbage" gets 401 invalid_token.
		return "Vault answers any three-segment (JWT-shaped) bearer token at userinfo with 500 internal error, " +
			"as its request handling first reads such a token as a response-wrapping JWT; other invalid tokens get 401 invalid_token"
	}
	return ""
}

// TestConformanceVault runs the conformance suite against Vault's OpenID
// provider in the integration run (PAVED_INTEGRATION=1); it is skipped in
// unit runs.
func TestConformanceVault(t *testing.T) {
	authtest.RunConformance(t, newVaultProvider(t))
}
