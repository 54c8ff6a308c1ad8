// Package paved is the shared vocabulary of the paved SDK.
//
// Every building block (httpx, auth, secrets, policy, sbom, telemetry) speaks
// through the few types defined here, and this package imports only the
// standard library, so a service that uses one block pays for nothing else:
//
//   - [OptOut]: a named, reasoned departure from a secure default. Weakening a
//     control is never a boolean flag; it is an OptOut whose reason lands in
//     the startup log, the telemetry and the posture report.
//   - [Control] and [Posture]: the controls each block enforces and the
//     opt-outs it was given, collected in a registry that telemetry exports.
//   - [Event] and [Sink]: typed security events (authentication failures,
//     rate-limit denials, policy decisions...) and where they go. The default
//     sink discards them at no cost.
//   - [Principal]: the authenticated caller, stored in a request context by
//     auth and read by policy, httpx and your handlers.
//
// All types are safe for concurrent use unless their documentation says
// otherwise.
package paved
