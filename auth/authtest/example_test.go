package authtest_test

import (
	"context"
	"fmt"
	"net/url"

	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
	"golang.org/x/oauth2"
)

// Mint a token with any claims and verify it.
func ExampleServer_Mint() {
	idp, err := authtest.Start(authtest.Config{})
	if err != nil {
		panic(err)
	}
	defer idp.Close()
	tok := idp.Mint(map[string]any{"sub": "bob", "groups": []string{"ops"}})

	v, _ := auth.New(context.Background(), auth.Config{
		Issuers: []auth.Issuer{{URL: idp.Issuer()}}, Audiences: []string{idp.Audience()}, HTTPClient: idp.Client(),
	})
	p, err := v.Verify(context.Background(), tok)
	fmt.Println(p.Subject, p.Groups, err)
	// Output: bob [ops] <nil>
}

// Switches make the key set misbehave for failure tests.
func ExampleServer_SetJWKSBroken() {
	idp, _ := authtest.Start(authtest.Config{})
	defer idp.Close()
	idp.SetJWKSBroken(true)
	v, _ := auth.New(context.Background(), auth.Config{
		Issuers: []auth.Issuer{{URL: idp.Issuer()}}, Audiences: []string{idp.Audience()}, HTTPClient: idp.Client(),
	})
	_, err := v.Verify(context.Background(), idp.Mint(nil))
	fmt.Println(err)
	// Output: auth: no usable signing key: jwks_unavailable: key set unreachable and cached keys expired
}

// Like a certified provider, the server grants offline_access, and issues
// a refresh token, only when the authorization request carries
// prompt=consent (OpenID Connect Core 11); Config.LenientOfflineAccess
// relaxes it.
func ExampleConfig_offlineAccess() {
	idp, _ := authtest.Start(authtest.Config{})
	defer idp.Close()
	id, secret, redirect := idp.LoginClient()
	cfg := oauth2.Config{
		ClientID: id, ClientSecret: secret, RedirectURL: redirect, Scopes: []string{"openid", "offline_access"},
		Endpoint: oauth2.Endpoint{AuthURL: idp.Issuer() + "/authorize", TokenURL: idp.Issuer() + "/token"},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, idp.Client())
	for _, prompt := range []string{"login", "consent"} {
		verifier := oauth2.GenerateVerifier()
		cb, err := idp.Authorize(ctx, cfg.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", prompt)))
		if err != nil {
			panic(err)
		}
		u, _ := url.Parse(cb)
		tok, err := cfg.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			panic(err)
		}
		fmt.Printf("prompt=%s: scope %q, refresh token %v\n", prompt, tok.Extra("scope"), tok.RefreshToken != "")
	}
	// Output:
	// prompt=login: scope "openid", refresh token false
	// prompt=consent: scope "openid offline_access", refresh token true
}
