// Package examples holds runnable programs that show paved in use. Each has
// a test that runs it on fakes, and all but the service template run with
// no infrastructure at all.
//
// Start here:
//
//   - quickstart: a secure server on loopback with every block wired, and
//     the curl commands to try (go run ./examples/quickstart).
//   - service-template: the base a team copies for a production service:
//     configuration from the environment, every block against the real
//     systems, a Dockerfile, Kubernetes manifests and the CI gates (its
//     package documentation: go doc ./examples/service-template).
//
// One program per package, each about that package alone:
//
//   - httpx: the secure server, a per-route rate limit (in Redis when
//     REDIS_ADDR is set) and problem+json errors; serves until Ctrl-C
//     (go run ./examples/httpx).
//   - auth: a scoped API route, a service's client-credentials token and
//     users' tokens, each refusal with its reason (go run ./examples/auth).
//   - secrets: AppRole login, configuration injected from KV with its
//     password redacted, a followed rotation, Transit encryption, against
//     the in-memory Vault of secretstest (go run ./examples/secrets).
//   - policy: Rego embedded as an fs.FS, its own Rego tests, and the HTTP
//     authorizer deciding tenant isolation (go run ./examples/policy).
//   - sbom: SPDX, CycloneDX and provenance of the running binary or of a
//     file, and the start-up vulnerability gate (go run ./examples/sbom).
//   - telemetry: spans, metrics and logs through the stdout exporters, and
//     the posture controls (go run ./examples/telemetry).
package examples
