package testenv

import (
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/pavedroad/paved/auth/authtest"
)

// TokenReviewerJWT is the reviewer token a [TokenReview] accepts, for
// Vault's auth/kubernetes/config token_reviewer_jwt.
const TokenReviewerJWT = "reviewer-jwt"

// TokenReview is a stand-in for the Kubernetes API server's TokenReview
// endpoint, which Vault's kubernetes auth method asks whether a pod's
// service-account token is valid (no cluster runs here). It accepts the
// tokens [TokenReview.ServiceAccountToken] minted, for one service
// account, and answers the audiences asked, as an audience-aware API
// server does.
type TokenReview struct {
	srv                *httptest.Server
	signer             *authtest.Server // only signs service-account-shaped JWTs
	namespace, account string

	mu      sync.Mutex
	valid   map[string]bool
	reviews int
}

// NewTokenReview starts the stand-in over TLS for the service account
// namespace/account; it stops at the end of the test.
func NewTokenReview(t testing.TB, namespace, account string) *TokenReview {
	t.Helper()
	tr := &TokenReview{signer: authtest.NewServer(t, authtest.Config{}), namespace: namespace, account: account, valid: map[string]bool{}}
	tr.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apis/authentication.k8s.io/v1/tokenreviews" || r.Header.Get("Authorization") != "Bearer "+TokenReviewerJWT {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		var req struct {
			Spec struct {
				Token     string   `json:"token"`
				Audiences []string `json:"audiences"`
			} `json:"spec"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		tr.mu.Lock()
		ok := tr.valid[req.Spec.Token]
		tr.reviews++
		tr.mu.Unlock()
		status := map[string]any{"authenticated": false}
		if ok {
			status = map[string]any{"authenticated": true, "audiences": req.Spec.Audiences, "user": map[string]any{
				"username": "system:serviceaccount:" + namespace + ":" + account, "uid": "uid-1", "groups": []string{"system:serviceaccounts"}}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status})
	}))
	t.Cleanup(tr.srv.Close)
	return tr
}

// URL is the stand-in's https base URL, for kubernetes_host.
func (tr *TokenReview) URL() string { return tr.srv.URL }

// CAPEM is the PEM of the certificate the stand-in serves, for
// kubernetes_ca_cert.
func (tr *TokenReview) CAPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tr.srv.Certificate().Raw}))
}

// ServiceAccountToken mints a projected token of the service account
// (audience "vault"), which the stand-in then accepts.
func (tr *TokenReview) ServiceAccountToken() string {
	tok := tr.signer.Mint(map[string]any{"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:" + tr.namespace + ":" + tr.account,
		"kubernetes.io/serviceaccount/namespace": tr.namespace, "kubernetes.io/serviceaccount/service-account.name": tr.account,
		"kubernetes.io/serviceaccount/service-account.uid": "uid-1", "jti": rand.Text(), "aud": []string{"vault"}})
	tr.mu.Lock()
	tr.valid[tok] = true
	tr.mu.Unlock()
	return tok
}

// AcceptOnly makes tok the one token the stand-in still accepts, as after
// the kubelet rotated the projected token.
func (tr *TokenReview) AcceptOnly(tok string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for k := range tr.valid {
		tr.valid[k] = k == tok
	}
}

// Reviews counts the reviews asked so far.
func (tr *TokenReview) Reviews() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.reviews
}
