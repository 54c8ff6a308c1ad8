// Command service-template is the base a team copies for a production
// service on the paved road. Every block is wired, each from an
// environment variable (see [Config]), and every line says why:
//
//   - configuration validated at start-up, every fault at once (config.go);
//   - Vault: Kubernetes login, KV secrets injected into a struct, the
//     server's TLS certificate from Vault PKI (renewed in place), and an
//     optional PostgreSQL pool whose dynamic credentials rotate
//     (secrets/pgxsecrets);
//   - callers authenticated by bearer tokens from an OpenID provider (auth)
//     and authorized by an OPA policy, a signed bundle from a bundle server
//     or the embedded authz/ directory (policy);
//   - a per-client rate limit shared through Redis (httpx/redislimit), over
//     TLS with an ACL user whose password comes from Vault (plain TCP only
//     with REDIS_TLS=false and a reason, recorded as an opt-out);
//   - OTLP traces, metrics and logs (telemetry), the service's own SBOM
//     (sbom) and posture report, both behind a token;
//   - the organisation's configuration policy checked before serving
//     (policy.CheckConfig), and a graceful shutdown on SIGTERM.
//
// Beside the code: a Dockerfile (multi-stage, distroless, non-root, base
// images pinned by digest once you fill in the placeholders), deploy/kubernetes.yaml (restricted pod security, probes on
// /livez and /readyz, limits, no service-account token but a projected one
// for Vault, an Ingress with TLS, a NetworkPolicy) and .github/workflows/ci.yaml (the paved
// gates: vet, secrets, check, tests, sbom, audit, provenance). All of them
// pass `paved check` and the code passes `paved vet`, with no exception
// (cmd/paved's template_test.go keeps it so).
//
// The tests (main_test.go) run the whole service in-process against the
// fakes: secretstest for Vault, authtest for the OpenID provider, the
// embedded policy, and the in-memory rate limit; in the integration run
// (PAVED_INTEGRATION=1) the Redis tests join them: the shared Redis, and a
// redis-server of the test's own that serves TLS only, with an ACL user;
// and the end-to-end test (e2e_integration_test.go) runs two replicas of
// run against the real systems: a TLS Vault it starts (Kubernetes login,
// PKI, KV, rotating PostgreSQL credentials, its OpenID provider through
// code + PKCE), the shared PostgreSQL, Redis and OpenTelemetry Collector.
//
// To start a service from it: copy the directory to a new repository with
// its own go.mod, set PKG to "." in the Dockerfile and the workflow,
// replace listOrders and authz/ with your routes and policy, the names,
// host and digests in deploy/kubernetes.yaml with yours, replace the
// image digests (placeholders: all zeros, not real images) and verify the
// action SHAs (not verified here); their comments say how.
package main
