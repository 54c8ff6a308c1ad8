package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
)

// Run with:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./auth/ | tee new.txt; benchstat new.txt

func benchVerify(b *testing.B, alg string, cache bool) {
	srv := authtest.NewServer(b, authtest.Config{Algorithm: alg})
	v := newVerifier(b, srv, func(c *auth.Config) {
		if !cache {
			c.CacheSize = -1
		}
	})
	tok := srv.Mint(nil)
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func benchGoOIDC(b *testing.B, alg string) {
	srv := authtest.NewServer(b, authtest.Config{Algorithm: alg})
	ctx := oidc.ClientContext(context.Background(), srv.Client())
	p, err := oidc.NewProvider(ctx, srv.Issuer())
	if err != nil {
		b.Fatal(err)
	}
	ver := p.Verifier(&oidc.Config{ClientID: srv.Audience(), Now: srv.Now})
	tok := srv.Mint(nil)
	if _, err := ver.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ver.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyColdES256(b *testing.B)     { benchVerify(b, "ES256", false) }
func BenchmarkGoOIDCVerifyES256(b *testing.B)   { benchGoOIDC(b, "ES256") }
func BenchmarkVerifyColdRS256(b *testing.B)     { benchVerify(b, "RS256", false) }
func BenchmarkGoOIDCVerifyRS256(b *testing.B)   { benchGoOIDC(b, "RS256") }
func BenchmarkVerifyCacheHitES256(b *testing.B) { benchVerify(b, "ES256", true) }
func BenchmarkVerifyCacheHitRS256(b *testing.B) { benchVerify(b, "RS256", true) }

func BenchmarkMiddlewareCacheHit(b *testing.B) {
	srv := authtest.NewServer(b, authtest.Config{})
	v := newVerifier(b, srv)
	h := v.Middleware()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+srv.Mint(nil))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
