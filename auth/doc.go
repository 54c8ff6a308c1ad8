// Package auth verifies OpenID Connect credentials for APIs, browsers and
// services, on top of github.com/coreos/go-oidc/v3 and golang.org/x/oauth2.
//
// # Bearer tokens for APIs
//
// [New] takes a [Config] naming one or more issuers (each discovered with
// go-oidc) and the audiences this API accepts, and returns a [Verifier].
// [Verifier.Verify] applies, in order and before any signature work where
// it can:
//
//   - a size cap (8 KiB) and a strict shape: three canonical base64url
//     segments, a JSON object payload, no nested JWT;
//   - header rules: alg in an asymmetric allow-list (never none or HMAC),
//     no jku, x5u, jwk, x5c or b64, no crit, a kid without path, quote or
//     SQL characters;
//   - routing by the unverified iss to that issuer's go-oidc verifier, which
//     checks the signature through paved's key set: keys trusted for a TTL
//     (5 min), fetched again on an unknown kid at most once per issuer per
//     cooldown (30 s), so forged kids cannot amplify into fetches; a key set
//     that is down keeps working until the TTL, then tokens are denied with
//     reason "jwks_unavailable";
//   - RFC 9068 typ at+jwt (relaxed per issuer only by the named opt-out
//     [AllowUntypedTokens]), ID tokens refused as access tokens, aud among
//     the accepted audiences, azp when present, exp/nbf/iat with a 60 s
//     skew.
//
// Verified tokens are cached by SHA-256 of the token, bounded, never past
// exp (nor past the key TTL): a repeated token costs a hash and a map
// lookup, with no allocation.
//
// Every rejection is an *[Error] wrapping one sentinel ([ErrMalformed],
// [ErrHeader], [ErrKey], [ErrSignature], [ErrClaims], [ErrExpired],
// [ErrNoToken], [ErrForbidden]) with a Reason such as "expired" or
// "unknown_kid"; no error, event or response ever contains the token.
//
// # Middleware and requirements
//
// [Verifier.Middleware] stores the caller as a [paved.Principal] (subject,
// issuer, audience, scopes, roles, groups, amr/acr, raw claims; roles and
// groups mapped per issuer by [ClaimMapping]) and answers failures with 401,
// WWW-Authenticate: Bearer error="invalid_token" (RFC 6750) and an RFC 9457
// problem naming the reason. [Require] with [RequireScope], [RequireRole],
// [RequireGroup] and [RequireMFA] composes per route; a missing scope, role
// or group is 403 insufficient_scope, missing MFA 401
// insufficient_user_authentication (RFC 9470). [Verifier.Protect] does both.
//
// # Browser login
//
// [NewLogin] runs the authorization code flow with PKCE S256, state and
// nonce, RFC 9207 iss checking, and ID token verification; the session
// lives in an AES-256-GCM sealed cookie (__Host- prefix, Secure, HttpOnly,
// SameSite=Lax, key rotation list, under 4 KB), renewed with the refresh
// token; [Login.LogoutHandler] does RP-initiated logout (POST from this
// origin only). Navigations without a session are redirected to sign in;
// API and XHR requests get 401.
//
// # Service to service
//
// [NewService] gives a client-credentials [Service.TokenSource] (cached,
// renewed a minute early), [Transport] attaches it to outgoing requests
// (https only, and never to another host on a redirect), and
// [Service.Exchange] performs RFC 8693 token exchange when the provider
// advertises it.
//
// # Operations
//
// [Verifier.Check] and [Login.Check] are httpx readiness checks (issuer
// reachable, keys loaded and fresh). New and NewLogin register their controls and opt-outs in the
// [paved.Posture] and log opt-outs once; verifications emit
// [paved.EventAuthnSuccess] and [paved.EventAuthnFailure] events (reason,
// latency, issuer, MFA present) to the [paved.Sink].
//
// The fake provider for tests is package authtest, which also holds the
// conformance suite every provider (the fake, Vault) must pass.
package auth
