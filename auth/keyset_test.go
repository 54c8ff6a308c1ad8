package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

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

func TestSlowKeySetHonoursContext(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{})
	v := newVerifier(t, srv)
	srv.SetJWKSDelay(500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := v.Verify(ctx, srv.Mint(nil))
	if reason(err) != auth.ReasonKeysUnavailable {
		t.Fatalf("slow key set: %v", err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("Verify waited %v for a slow key set despite its context", d)
	}
	// The shared fetch completes for later callers.
	deadline := time.Now().Add(5 * time.Second)
	for v.KeyFetches(srv.Issuer()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := v.Verify(context.Background(), srv.Mint(nil)); err != nil {
		t.Fatalf("after the slow fetch: %v", err)
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
	p2, err := v.Verify(context.Background(), tok)
	if err != nil || p1 != p2 {
		t.Fatalf("second Verify did not hit the cache: %v", err)
	}
	// Past exp (within skew) the entry is not served: the token is verified
	// again and a fresh principal returned.
	srv.Advance(100 * time.Second)
	p3, err := v.Verify(context.Background(), tok)
	if err != nil || p3 == p1 {
		t.Fatalf("cache served a token past exp: same=%v err=%v", p3 == p1, err)
	}
	srv.Advance(time.Minute)
	if _, err := v.Verify(context.Background(), tok); reason(err) != auth.ReasonExpired {
		t.Fatalf("expired token: %v", err)
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
