package auth_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
)

func TestUnknownKIDFloodFetchesOncePerCooldown(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	if _, err := v.Verify(context.Background(), srv.Mint(nil)); err != nil {
		t.Fatal(err)
	}
	if got := srv.JWKSRequests(); got != 1 {
		t.Fatalf("JWKS requests after first token = %d, want 1", got)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := mustMint(t, srv, authtest.Token{Header: map[string]any{"kid": fmt.Sprintf("forged-%d", i)}})
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if reason(err) != auth.ReasonUnknownKID || !errors.Is(err, auth.ErrKey) {
			t.Fatalf("forged kid: %v, want unknown_kid", err)
		}
	}
	if got := srv.JWKSRequests(); got != 1 {
		t.Fatalf("JWKS requests after 1000 forged kids within the cooldown = %d, want 1", got)
	}
	srv.Advance(auth.DefaultRefreshCooldown + time.Second)
	for i := range 100 {
		tok := mustMint(t, srv, authtest.Token{Header: map[string]any{"kid": fmt.Sprintf("later-%d", i)}})
		if _, err := v.Verify(context.Background(), tok); reason(err) != auth.ReasonUnknownKID {
			t.Fatalf("forged kid: %v", err)
		}
	}
	if got := srv.JWKSRequests(); got != 2 {
		t.Fatalf("JWKS requests after the cooldown = %d, want 2", got)
	}
}

func TestRotation(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	long := func() string { return srv.Mint(map[string]any{"exp": srv.Now().Add(time.Hour).Unix()}) }
	old1, old2, old3 := long(), long(), long()
	if _, err := v.Verify(context.Background(), old1); err != nil {
		t.Fatal(err)
	}
	srv.RotateKeys()
	// A token from the new key: unknown kid, but the previous fetch was
	// within the cooldown.
	srv.Advance(auth.DefaultRefreshCooldown + time.Second)
	if _, err := v.Verify(context.Background(), long()); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	srv.RetireKeys()
	// Cached keys (within the TTL) still verify a token from the retired key.
	if _, err := v.Verify(context.Background(), old2); err != nil {
		t.Fatalf("retired key within TTL: %v", err)
	}
	srv.Advance(auth.DefaultKeyTTL)
	if _, err := v.Verify(context.Background(), old3); reason(err) != auth.ReasonUnknownKID {
		t.Fatalf("retired key after TTL: %v, want unknown_kid", err)
	}
	// Nor does the token cache keep honouring one verified before.
	if _, err := v.Verify(context.Background(), old2); reason(err) != auth.ReasonUnknownKID {
		t.Fatalf("cached token from a retired key after TTL: %v, want unknown_kid", err)
	}
	if _, err := v.Verify(context.Background(), long()); err != nil {
		t.Fatalf("current key after TTL: %v", err)
	}
}

func TestKeySetDownKeepsCachedKeysUntilTTL(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	ctx := context.Background()
	mint := func() string { return srv.Mint(map[string]any{"exp": srv.Now().Add(time.Hour).Unix()}) }
	if _, err := v.Verify(ctx, mint()); err != nil {
		t.Fatal(err)
	}
	srv.SetJWKSBroken(true)
	srv.Advance(auth.DefaultKeyTTL - time.Minute)
	if _, err := v.Verify(ctx, mint()); err != nil {
		t.Fatalf("within TTL with the key set down: %v", err)
	}
	if err := v.Check(ctx); err != nil {
		t.Fatalf("Check within TTL: %v", err)
	}
	srv.Advance(2 * time.Minute)
	_, err := v.Verify(ctx, mint())
	if reason(err) != auth.ReasonKeysUnavailable || !errors.Is(err, auth.ErrKey) {
		t.Fatalf("after TTL with the key set down: %v, want jwks_unavailable", err)
	}
	if err := v.Check(ctx); err == nil {
		t.Fatal("Check passed with expired keys and the key set down")
	}
	srv.SetJWKSBroken(false)
	srv.Advance(auth.DefaultRefreshCooldown)
	if _, err := v.Verify(ctx, mint()); err != nil {
		t.Fatalf("key set back: %v", err)
	}
	if err := v.Check(ctx); err != nil {
		t.Fatalf("Check after recovery: %v", err)
	}
}

// TestSlowKeySetHonoursContext: a caller whose context ends while the key
// set is being fetched returns at once (before the fetch ends), and the
// fetch still completes for later callers. Nothing here depends on how
// fast the machine is: the key set answers only after the caller's
// context has ended.
func TestSlowKeySetHonoursContext(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	srv.SetJWKSDelay(3 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := v.Verify(ctx, srv.Mint(nil))
	if reason(err) != auth.ReasonKeysUnavailable {
		t.Fatalf("slow key set: %v", err)
	}
	if n := v.KeyFetches(srv.Issuer()); n != 0 {
		t.Fatalf("Verify returned after the fetch (%d fetches), not when its context ended", n)
	}
	// The shared fetch completes for later callers.
	deadline := time.Now().Add(30 * time.Second)
	for v.KeyFetches(srv.Issuer()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := v.Verify(context.Background(), srv.Mint(nil)); err != nil {
		t.Fatalf("after the slow fetch: %v", err)
	}
	if n := srv.JWKSRequests(); n != 1 {
		t.Fatalf("JWKS requests = %d, want 1 shared fetch", n)
	}
}

func TestCache(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	tok := srv.Mint(map[string]any{"exp": srv.Now().Add(90 * time.Second).Unix()})
	p1, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	fetches := srv.JWKSRequests()
	p2, err := v.Verify(context.Background(), tok)
	if err != nil || !reflect.DeepEqual(p1, p2) || auth.CacheLen(v) != 1 {
		t.Fatalf("second Verify = %+v, %v; want the first principal from the cache", p2, err)
	}
	if p1 == p2 {
		t.Fatal("the cache handed out its own principal")
	}
	// Past exp (within skew) the entry is not served: the token is verified
	// again, which needs the keys (no fetch: they are fresh).
	srv.Advance(100 * time.Second)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("past exp within skew: %v", err)
	}
	srv.Advance(time.Minute)
	if _, err := v.Verify(context.Background(), tok); reason(err) != auth.ReasonExpired {
		t.Fatalf("expired token: %v", err)
	}
	if srv.JWKSRequests() != fetches {
		t.Fatal("fetched keys again")
	}
}

// TestCachedPrincipalIsTheCallersOwn: a caller that changes the principal
// Verify returned (fields, slice elements, appends, claims, nested
// claims) changes nothing the next verification of the token returns,
// from the cache or cold.
func TestCachedPrincipalIsTheCallersOwn(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	tok := srv.Mint(map[string]any{"scope": "orders:read orders:write", "x": "original",
		"roles": []string{"reader"}, "realm": map[string]any{"tier": "gold"}, "amr": []string{"pwd", "otp"}})
	want, err := v.Verify(context.Background(), tok) // cold: stored in the cache
	if err != nil {
		t.Fatal(err)
	}
	snapshot, _ := json.Marshal(want)
	mutate := func(p *paved.Principal) {
		p.Subject = "mallory"
		p.Scopes[0] = "admin:all"
		p.Scopes = append(p.Scopes[:1], "admin:write")
		p.Roles = append(p.Roles, "admin")
		p.AMR[0] = "mfa"
		p.Audience[0] = "other"
		p.Claims["x"] = "changed"
		p.Claims["realm"].(map[string]any)["tier"] = "platinum"
		p.Claims["roles"].([]any)[0] = "admin"
		delete(p.Claims, "sub")
	}
	mutate(want)
	for i := range 3 {
		p, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(p); string(got) != string(snapshot) {
			t.Fatalf("cache hit %d after a caller's changes = %s, want %s", i+1, got, snapshot)
		}
		mutate(p)
	}
}

func TestCacheBounded(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv, func(c *auth.Config) { c.CacheSize = 10 })
	for range 50 {
		if _, err := v.Verify(context.Background(), srv.Mint(nil)); err != nil {
			t.Fatal(err)
		}
	}
	if n := auth.CacheLen(v); n > 10 {
		t.Fatalf("cache holds %d entries, bound is 10", n)
	}
}

// TestRefreshRateLimitPerIssuer: concurrent forged kids against two
// issuers cost one fetch per issuer, and one issuer's cooldown does not
// block the other's fetch.
func TestRefreshRateLimitPerIssuer(t *testing.T) {
	a := authtest.NewServer(t, authtest.Config{Audience: "api"})
	b := authtest.NewServer(t, authtest.Config{Audience: "api"})
	pool := x509.NewCertPool()
	pool.AddCert(a.Certificate())
	pool.AddCert(b.Certificate())
	v, err := auth.New(context.Background(), auth.Config{
		Issuers:    []auth.Issuer{{URL: a.Issuer()}, {URL: b.Issuer()}},
		Audiences:  []string{"api"},
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
		Logger:     quiet, Posture: &paved.Posture{}, Events: paved.NopSink{},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 400 {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := mustMint(t, srv, authtest.Token{Header: map[string]any{"kid": fmt.Sprintf("forged-%d", i)}})
			if _, err := v.Verify(context.Background(), tok); reason(err) != auth.ReasonUnknownKID {
				t.Errorf("forged kid: %v", err)
			}
		}()
	}
	wg.Wait()
	if ga, gb := a.JWKSRequests(), b.JWKSRequests(); ga != 1 || gb != 1 {
		t.Fatalf("JWKS requests a=%d b=%d, want 1 each", ga, gb)
	}
	if fa, fb := v.KeyFetches(a.Issuer()), v.KeyFetches(b.Issuer()); fa != 1 || fb != 1 {
		t.Fatalf("KeyFetches a=%d b=%d, want 1 each", fa, fb)
	}
	// Real tokens from both still verify within the cooldown.
	for _, srv := range []*authtest.Server{a, b} {
		if _, err := v.Verify(context.Background(), srv.Mint(nil)); err != nil {
			t.Fatalf("%s: %v", srv.Issuer(), err)
		}
	}
}

// TestKeyTTLShorterThanCooldown: a key TTL under the refresh cooldown
// would deny every token between the TTL and the next allowed fetch, with
// the key set healthy; New refuses it.
func TestKeyTTLShorterThanCooldown(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	_, err := auth.New(context.Background(), auth.Config{
		Issuers: []auth.Issuer{{URL: srv.Issuer()}}, Audiences: []string{srv.Audience()},
		KeyTTL: 10 * time.Second, HTTPClient: srv.Client(), Logger: quiet, Posture: &paved.Posture{},
	})
	if err == nil || !strings.Contains(err.Error(), "KeyTTL") || !strings.Contains(err.Error(), "RefreshCooldown") {
		t.Fatalf("New with KeyTTL < RefreshCooldown = %v, want an error naming both", err)
	}
	v := newVerifier(t, srv, func(c *auth.Config) { c.KeyTTL, c.RefreshCooldown = 10*time.Second, 10*time.Second })
	mint := func() string { return srv.Mint(map[string]any{"exp": srv.Now().Add(time.Hour).Unix()}) }
	for range 3 {
		if _, err := v.Verify(context.Background(), mint()); err != nil {
			t.Fatalf("healthy key set: %v", err)
		}
		srv.Advance(15 * time.Second)
	}
}

// TestNoDowngradeOnRedirect: an https key set that redirects to plain
// http is not followed; keys never arrive unencrypted.
func TestNoDowngradeOnRedirect(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	var plainHits atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		resp, err := srv.Client().Get(srv.Issuer() + "/jwks")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, resp.Body)
	}))
	defer plain.Close()
	var iss string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "jwks_uri": iss + "/jwks",
			"authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token"})
	})
	mux.Handle("GET /jwks", http.RedirectHandler(plain.URL+"/jwks", http.StatusFound))
	disc := httptest.NewTLSServer(mux)
	defer disc.Close()
	iss = disc.URL
	v, err := auth.New(context.Background(), auth.Config{
		Issuers: []auth.Issuer{{URL: iss}}, Audiences: []string{srv.Audience()},
		HTTPClient: disc.Client(), Now: srv.Now, Logger: quiet, Posture: &paved.Posture{}, Events: paved.NopSink{},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), srv.Mint(map[string]any{"iss": iss}))
	if reason(err) != auth.ReasonKeysUnavailable {
		t.Fatalf("key set redirected to http: %v, want jwks_unavailable", err)
	}
	if n := plainHits.Load(); n != 0 {
		t.Fatalf("followed the redirect to plain http %d times", n)
	}
}

// TestAlgKeyMismatchDoesNotFetch: a token whose alg does not fit the key
// its kid names is rejected as alg_key_mismatch without fetching the key
// set, even past the cooldown: no new key set could make it valid. An
// unknown kid past the cooldown does fetch.
func TestAlgKeyMismatchDoesNotFetch(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	if _, err := v.Verify(context.Background(), srv.Mint(nil)); err != nil {
		t.Fatal(err)
	}
	esKID, rsKID := srv.KeyIDs()
	srv.Advance(auth.DefaultRefreshCooldown + time.Second) // a fetch would be allowed now
	for _, tok := range []string{
		mustMint(t, srv, authtest.Token{Alg: "RS256", Header: map[string]any{"alg": "ES256", "kid": rsKID}}),
		mustMint(t, srv, authtest.Token{Alg: "ES256", Header: map[string]any{"alg": "RS256", "kid": esKID}}),
	} {
		_, err := v.Verify(context.Background(), tok)
		if !errors.Is(err, auth.ErrKey) || reason(err) != auth.ReasonAlgKeyMismatch {
			t.Fatalf("alg that does not fit the kid's key: %v, want ErrKey alg_key_mismatch", err)
		}
	}
	if got := srv.JWKSRequests(); got != 1 {
		t.Fatalf("JWKS requests after alg/key mismatches = %d, want 1 (no fetch)", got)
	}
	if _, err := v.Verify(context.Background(), mustMint(t, srv, authtest.Token{Header: map[string]any{"kid": "not-a-key"}})); reason(err) != auth.ReasonUnknownKID {
		t.Fatalf("unknown kid: %v", err)
	}
	if got := srv.JWKSRequests(); got != 2 {
		t.Fatalf("JWKS requests after an unknown kid past the cooldown = %d, want 2", got)
	}
}

// TestCacheHonoursKeyTTLFromFetch: a cached verification is not served
// past KeyTTL after the keys that verified it were fetched, so a key the
// provider removed stops working within KeyTTL.
func TestCacheHonoursKeyTTLFromFetch(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	if _, err := v.Verify(context.Background(), srv.Mint(nil)); err != nil { // fetches the keys
		t.Fatal(err)
	}
	srv.Advance(auth.DefaultKeyTTL - time.Minute)
	tok := srv.Mint(map[string]any{"exp": srv.Now().Add(time.Hour).Unix()})
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	srv.RotateKeys()
	srv.RetireKeys() // the key that signed tok is gone
	srv.Advance(2 * time.Minute)
	if _, err := v.Verify(context.Background(), tok); reason(err) != auth.ReasonUnknownKID {
		t.Fatalf("token of a removed key, KeyTTL after the fetch: %v, want %s", err, auth.ReasonUnknownKID)
	}
}
