// Command auth protects an API route with package auth's bearer-token
// verifier and calls it with tokens from an in-process OpenID provider
// (package authtest), which stands in for your issuer:
//
//	go run ./examples/auth
//
// It prints, for each caller, the status the route answers and why: a
// service's client-credentials token and a user's token pass, a token
// without the route's scope gets 403, expired, unsigned, foreign-audience
// and missing tokens get 401. Then it exits.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "auth example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, _ []string, stdout io.Writer) error {
	// The stand-in provider: discovery, keys and a token endpoint on a
	// loopback TLS port. In a service the issuer is your provider's URL.
	idp, err := authtest.Start(authtest.Config{})
	if err != nil {
		return err
	}
	defer idp.Close()
	quiet := slog.New(slog.DiscardHandler) // nothing worth logging here

	// The verifier: it discovers the issuer, fetches its keys, and accepts
	// only asymmetric signatures, typ at+jwt, our audience, a live exp.
	verifier, err := auth.New(ctx, auth.Config{
		Issuers:    []auth.Issuer{{URL: idp.Issuer()}},
		Audiences:  []string{idp.Audience()},
		HTTPClient: idp.Client(), // trusts the provider's test certificate
		Logger:     quiet,
		Posture:    new(paved.Posture),
	})
	if err != nil {
		return err // every faulty field at once, as paved.ConfigErrors
	}

	// The route: a bearer token with the orders:read scope. The verified
	// caller reaches the handler as a paved.Principal.
	mux := http.NewServeMux()
	mux.Handle("GET /orders", verifier.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := paved.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "orders of %s", p.Subject)
	}), auth.RequireScope("orders:read")))

	// The route served on a loopback TLS port, as a service serves it
	// (httpx.New in a real one).
	api := httptest.NewTLSServer(mux)
	defer api.Close()

	// Another service calling this one: client credentials, renewed before
	// they expire; auth.Transport adds the token to every request (and
	// refuses plain http, so that the token never leaves unencrypted).
	svc, err := auth.NewService(ctx, auth.ServiceConfig{
		Issuer: idp.Issuer(), ClientID: idp.ClientID(), ClientSecret: idp.ClientSecret(),
		Scopes: []string{"orders:read"}, HTTPClient: idp.Client(), Logger: quiet, Posture: new(paved.Posture),
	})
	if err != nil {
		return err
	}
	service := &http.Client{Transport: auth.Transport(api.Client().Transport, svc.TokenSource(ctx)), Timeout: 10 * time.Second}

	// Each caller, and what the route tells it. The others set their
	// Authorization header by hand, to show each refusal.
	forged, err := idp.MintToken(authtest.Token{Alg: "none", Claims: map[string]any{"scope": "orders:read"}})
	if err != nil {
		return err
	}
	for _, c := range []struct {
		who    string
		client *http.Client
		token  string
	}{
		{"service (client credentials)", service, ""},
		{"user with orders:read", api.Client(), idp.Mint(map[string]any{"sub": "alice", "scope": "orders:read"})},
		{"user without the scope", api.Client(), idp.Mint(map[string]any{"sub": "bob", "scope": "profile"})},
		{"expired token", api.Client(), idp.Mint(map[string]any{"scope": "orders:read", "exp": time.Now().Add(-time.Hour).Unix()})},
		{"token for another API", api.Client(), idp.Mint(map[string]any{"scope": "orders:read", "aud": "billing"})},
		{"unsigned token (alg none)", api.Client(), forged},
		{"no token", api.Client(), ""},
	} {
		req, err := http.NewRequestWithContext(ctx, "GET", api.URL+"/orders", nil)
		if err != nil {
			return err
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.client.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close() // the body is read: nothing to report
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusOK {
			fmt.Fprintf(stdout, "%-29s %d %s\n", c.who, resp.StatusCode, body)
			continue
		}
		// Refusals are problem+json with a reason a client can act on,
		// and a WWW-Authenticate challenge (RFC 6750).
		var problem struct{ Reason string }
		if err := json.Unmarshal(body, &problem); err != nil {
			return fmt.Errorf("%s: %d, not problem+json: %w", c.who, resp.StatusCode, err)
		}
		fmt.Fprintf(stdout, "%-29s %d %s (%s)\n", c.who, resp.StatusCode, problem.Reason, resp.Header.Get("WWW-Authenticate"))
	}
	return nil
}
