// Package authtest is an in-process OpenID provider for tests and demos,
// and the conformance suite that real providers pass too.
//
// [NewServer] (or [Start] outside tests) serves, on an httptest TLS server
// bound to 127.0.0.1:
//
//   - discovery (/.well-known/openid-configuration) and JWKS (/jwks) with
//     an ES256 and an RS256 key;
//   - /authorize: the configured user is signed in and consents at once;
//     PKCE S256 is required; the response carries iss (RFC 9207);
//     offline_access is granted only with prompt=consent (OpenID Connect
//     Core 11), and prompt=none with another value is refused;
//   - /token: authorization_code (PKCE checked, codes single use),
//     refresh_token (rotated on every use; a rotated token presented
//     again is refused and revokes every refresh token of that sign-in,
//     as strict providers do), client_credentials and RFC 8693 token
//     exchange. A refresh token is issued only when offline_access was
//     granted (Config.LenientOfflineAccess issues one with every code
//     grant, as Keycloak does), and a refreshed ID token keeps the
//     auth_time of the sign-in (Core 12.2);
//   - /userinfo: serves access tokens issued for a user; an ID token or a
//     client-credentials token as the bearer gets 401 invalid_token
//     (RFC 6750);
//   - /end_session (RP-Initiated Logout 1.0) by GET or POST: redirects only
//     to a registered post_logout_redirect_uri (exact match,
//     Config.PostLogoutRedirectURIs) and only when id_token_hint (one it
//     issued to the client, expired or not) or client_id names the
//     client, passing state back; otherwise it shows a logged-out page.
//
// [Server.Mint] and [Server.MintToken] sign tokens with any claims and
// headers (including alg none or HMAC, for attack tests);
// [Server.RotateKeys] and [Server.RetireKeys] rotate keys;
// [Server.SetNow] and [Server.Advance] move the instance's clock;
// [Server.SetJWKSBroken] and [Server.SetJWKSDelay] make the key set fail or
// lag; [Server.JWKSRequests], [Server.RefreshRequests] and
// [Server.RefreshReuses] count what clients asked. [Server.Client] returns an *http.Client that trusts the server's
// certificate, [Server.CertPool] and [Server.CACertPEM] the certificate for
// other clients (curl --cacert).
//
// [RunConformance] checks a [Provider] — this Server in unit tests, Vault's
// OpenID provider in the integration run — with the same tests, so the
// fake is trusted only where the real system agrees. A case needing what
// a provider lacks is skipped, decided from its discovery document where
// that says so (Vault lists no refresh_token grant and no
// end_session_endpoint).
package authtest
