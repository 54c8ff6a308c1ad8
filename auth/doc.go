// Package auth verifies OpenID Connect credentials for APIs, browsers and
// services, on top of github.com/coreos/go-oidc/v3 (discovery, ID tokens),
// github.com/go-jose/go-jose/v4 (signatures) and golang.org/x/oauth2.
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
//   - strict JSON in header and claims: valid UTF-8 with no escaped half
//     of a surrogate pair (RFC 7519 section 7.2; reason "bad_utf8"),
//     members read by their exact, case-sensitive names (RFC 7515 section
//     4), and no object, at any depth, with two members whose names are
//     equal or differ only in case (reason "duplicate_member"). The RFCs
//     allow a parser to keep the last duplicate; this package refuses
//     them, because parsers differ (encoding/json keeps the last and
//     matches names without case, others keep the first) and a token
//     read one way here and another way by a neighbour is the attack.
//     ID tokens in browser login are held to the same rules;
//   - header rules (for ID tokens in browser login too, except the alg,
//     which go-oidc checks): alg in an asymmetric allow-list (never none
//     or HMAC), no jku, x5u, jwk, x5c or b64, no crit, no zip (reason
//     "unsupported_zip"), a kid of at most 128 printable ASCII
//     characters without quote, backslash or "..";
//   - routing by the unverified iss to that issuer, whose key set selects
//     the key by kid and alg and has go-jose verify the signature (this
//     package has no signature code of its own). Keys are trusted for a
//     TTL (5 min) and fetched again on an unknown kid at most once per
//     issuer per cooldown (30 s), so forged kids cannot amplify into
//     fetches; a kid whose key is of another type or curve than the alg is
//     rejected as "alg_key_mismatch" without a fetch. A key set that is
//     down keeps working until the TTL, then tokens are denied with reason
//     "jwks_unavailable";
//   - RFC 9068 typ at+jwt (relaxed per issuer only by the named opt-out
//     [AllowUntypedTokens]), ID tokens refused as access tokens, aud among
//     the accepted audiences, the client (azp, else client_id) among
//     [Issuer].AuthorizedParties when the issuer lists them (any client
//     otherwise), exp/nbf/iat with a 60 s skew (a value that is not a
//     number is "bad_exp", "bad_nbf" or "bad_iat", class [ErrMalformed]).
//
// Verified tokens are cached by SHA-256 of the token, bounded, never past
// exp (nor past the key TTL). A repeated token costs a hash, a map lookup
// and a copy of the principal: every caller gets its own copy, so a
// handler that edits its principal changes nothing another request sees.
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
// problem naming the reason. [Verifier.Require] with [RequireScope],
// [RequireRole], [RequireGroup], [RequireMFA] or your own [Requirement]
// composes per route; [Verifier.Protect] does both. A failed requirement
// is answered by the sentinel its error wraps: anything wrapping
// [ErrForbidden] is 403 insufficient_scope, a missing MFA 401
// insufficient_user_authentication (RFC 9470); [Deny] and [NewError] build
// an error with a reason of your own. Denials go to the verifier's Events,
// and RequireMFA's control to the verifier's posture instance.
//
// # Browser login
//
// [NewLogin] runs the authorization code flow with PKCE S256, state and
// nonce, RFC 9207 iss checking, and ID token verification; the session
// lives in an AES-256-GCM sealed cookie (__Host- prefix, Secure, HttpOnly,
// SameSite=Lax, key rotation list, under 4 KB) or, with
// [LoginConfig].Store, server-side (package auth/redissession keeps it in
// Redis). It is renewed with the refresh token, once per session however
// many requests need it at the same moment (see [Login.Middleware] for
// what happens across replicas). offline_access is requested only when
// [LoginConfig].Scopes lists it, and then with prompt=consent (OpenID
// Connect Core section 11); [LoginConfig].AuthParams adds authorization
// parameters (prompt, max_age, acr_values, resource, ...). A session with
// no refresh token lasts as long as its access token, which the sign-in
// logs. Navigations without a session, or whose session has just ended,
// are redirected to sign in; API and XHR requests get 401 with reason
// "no_session" or "session_expired". [Login.LogoutHandler] does
// RP-initiated logout (POST from this origin only; a browser's logout
// form gets a small page that navigates to the provider, since CSP
// form-action 'self' forbids redirecting a form there, an API client a
// 303); with a session store it deletes the session, on every replica at
// once (a renewal running elsewhere meanwhile ends the session rather
// than store it again; a store failure answers 503
// "session_store_error"), while a copy of a sealed cookie taken before
// logout works until its access token needs a refresh (see there).
// Cookies and stored sessions are sealed with the login's issuer and
// client ID as additional data, so two logins sharing CookieKeys do not
// accept each other's.
// [Login.Require] and [Login.Protect] add requirements behind the session.
//
// # Service to service
//
// [NewService] gives a client-credentials [Service.TokenSource] (cached,
// renewed a minute early), [Transport] attaches it to outgoing requests
// (https only, and never to another host on a redirect), and
// [Service.Exchange] performs RFC 8693 token exchange when the provider
// advertises it.
//
// # Configuration and operations
//
// New, NewLogin and NewService validate their config with a
// [paved.ConfigCheck] and report every faulty field at once, each a
// [paved.ConfigError]; every security-relevant duration and size has a
// floor and a ceiling stated on its field. Each registers one instance,
// named by the config's Name, in the [paved.Posture] (component
// [Component]), with its controls (a setting changed from its default
// says so in the Detail) and opt-outs, which are logged once.
// [Verifier.Check] and [Login.Check] are httpx readiness checks (issuer
// reachable, keys loaded and fresh). Verifications emit
// [paved.EventAuthnSuccess] and [paved.EventAuthnFailure] (reason, latency,
// issuer, MFA present), requirements [paved.EventAuthzDenied], and a
// browser session that ends [paved.EventSessionEnded] (reason "logout",
// "expired", "refresh_failed" or "replaced"), each to the config's Events.
//
// The fake provider for tests is package authtest, which also holds the
// conformance suites every provider (the fake, Vault) and every session
// store must pass.
package auth
