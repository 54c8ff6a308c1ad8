// Package httpx is a secure-by-default HTTP server and middleware chain.
//
// An empty [Config] gives, with no further choice to make:
//
//   - TLS only: TLS 1.2 at least (1.3 preferred), for TLS 1.2 only the six
//     ECDHE AEAD suites, key exchange X25519MLKEM768, X25519, P-256 or
//     P-384, HTTP/2. The certificate comes from a [CertificateSource]: files
//     with hot reload ([NewFileCertificate]) or an ephemeral development CA
//     ([NewDevCertificate]); any other source, such as a Vault PKI client,
//     can implement the one-method interface. Optional mutual TLS
//     ([Config.ClientCAs], [ClientCertificate]).
//   - Timeouts and limits: read-header 10 s, read 30 s, write 60 s, idle
//     120 s, headers 16 KiB (431 problem+json on HTTP/1.1 and HTTP/2 alike;
//     see [Config.MaxHeaderBytes] for how they are counted and what
//     net/http does far past the limit), bodies 1 MiB (413; per route with
//     [BodyLimit]). Every one has a floor and a ceiling, stated in its
//     field's comment.
//   - Security headers ([SecurityHeaders]): HSTS, a deny-all CSP (or a
//     nonce-based one with [ProfileHTML]), nosniff, X-Frame-Options DENY,
//     Referrer-Policy no-referrer, COOP/CORP same-origin, Cache-Control
//     no-store, no Server header. Each response has its own copy: a
//     handler may change its response's fields, never another's, nor
//     those of the 500 or 413 the chain writes in place of its response.
//   - Cross-origin protection for state-changing requests ([CrossOrigin],
//     Go's http.CrossOriginProtection), with [Config.TrustedOrigins].
//   - The client address ([ClientIP]): the TCP peer, or the forwarded
//     header of a trusted proxy read right to left; IPv6 grouped by /64.
//   - Rate limiting ([RateLimiter]): 600 requests a minute per client in
//     memory with a hard cap on tracked clients ([MemoryStore]), or shared
//     by replicas in Redis (package httpx/redislimit, which only its users
//     link); 429 problem+json with Retry-After and the IETF
//     RateLimit-Policy and RateLimit fields. A store keeps each policy
//     apart, so several limiters may share one.
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
// [AllowPlainHTTP], [AllowDevCertificate], [DisableRateLimit] and
// [DisableCrossOriginProtection] in [Config.OptOuts] (and a store's own,
// such as redislimit.AllowLocalFallback, in that store's configuration).
// Each server registers as an instance of [Component] ([Config.Name]) in
// the paved posture registry, records its controls and opt-outs there,
// naming every setting changed from its default, and logs each opt-out
// once, when [New] makes it.
//
// [New] and the other constructors report every faulty field at once, each
// as a [paved.ConfigError] naming the field, the problem and the fix.
//
// Every piece is also plain middleware (func(http.Handler) http.Handler)
// that composes with any router; the pieces share one per-request record,
// so a whole chain costs a few allocations.
//
// Errors reach clients as RFC 9457 problem details ([Problem],
// [WriteProblem]). Package httpx/httpxtest holds the conformance suite
// every rate-limit [Store] passes.
package httpx
