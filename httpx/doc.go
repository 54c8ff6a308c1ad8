// Package httpx is a secure-by-default HTTP server and middleware chain.
//
// An empty [Config] gives, with no further choice to make:
//
//   - TLS only: TLS 1.2 at least (1.3 preferred), for TLS 1.2 only the six
//     ECDHE AEAD suites, key exchange X25519MLKEM768, X25519, P-256 or
//     P-384, HTTP/2. The certificate comes from a [CertificateSource]: files
//     with hot reload ([NewFileCertificate]), an ephemeral development CA
//     ([NewDevCertificate]), or Vault PKI (package secrets). Optional mutual
//     TLS ([Config.ClientCAs], [ClientCertificate]).
//   - Timeouts and limits: read-header 10 s, read 30 s, write 60 s, idle
//     120 s, headers 16 KiB (431), bodies 1 MiB (413; per route with
//     [BodyLimit]).
//   - Security headers ([SecurityHeaders]): HSTS, a deny-all CSP (or a
//     nonce-based one with [ProfileHTML]), nosniff, X-Frame-Options DENY,
//     Referrer-Policy no-referrer, COOP/CORP same-origin, Cache-Control
//     no-store, no Server header.
//   - Cross-origin protection for state-changing requests ([CrossOrigin],
//     Go's http.CrossOriginProtection), with [Config.TrustedOrigins].
//   - The client address ([ClientIP]): the TCP peer, or the forwarded
//     header of a trusted proxy read right to left; IPv6 grouped by /64.
//   - Rate limiting ([RateLimiter]): 600 requests a minute per client in
//     memory with a hard cap on tracked clients ([MemoryStore]), or shared
//     by replicas in Redis ([RedisStore]); 429 problem+json with
//     Retry-After and the IETF RateLimit-Policy and RateLimit fields.
//   - Request IDs ([RequestID], [RequestIDFrom]), panic recovery
//     ([Recover]) and an access log with credentials redacted
//     ([AccessLog]).
//   - /livez and /readyz, with readiness checks other packages register
//     through [Server.AddCheck].
//   - Graceful shutdown: [Server.ListenAndServe] serves until its context
//     ends, then drains; [NotifyContext] ends a context on SIGINT or
//     SIGTERM.
//
// Weakening any of it takes a named opt-out with a reason, never a flag:
// [AllowPlainHTTP], [AllowDevCertificate], [DisableRateLimit],
// [DisableCrossOriginProtection] in [Config.OptOuts], and
// [RedisLocalFallback] for a [RedisStore]. The server records its controls
// and opt-outs in the paved posture registry and logs each opt-out once at
// startup.
//
// Every piece is also plain middleware (func(http.Handler) http.Handler)
// that composes with any router; the pieces share one per-request record,
// so a whole chain costs a few allocations.
//
// Errors reach clients as RFC 9457 problem details ([Problem],
// [WriteProblem]).
package httpx
