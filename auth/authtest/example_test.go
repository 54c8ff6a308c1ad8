package authtest_test

import (
	"context"
	"fmt"

	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
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
