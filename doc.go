// Package paved is the shared vocabulary of the paved SDK.
//
// Every building block (httpx, auth, secrets, policy, sbom, telemetry) speaks
// through the few types defined here, and this package imports only the
// standard library, so a service that uses one block pays for nothing else:
//
//   - [ConfigError] and [ConfigCheck]: how every validating constructor
//     reports bad configuration, every faulty field at once, each naming
//     the field, what is wrong and what would be right.
//   - [OptOut]: a named, reasoned departure from a secure default. Weakening a
//     control is never a boolean flag; it is an OptOut whose reason lands in
//     the startup log, the telemetry and the posture report.
//   - [Control], [Posture] and [Registration]: the controls each instance of
//     a block enforces and the opt-outs it was given, collected in a
//     registry that telemetry exports.
//   - [Event] and [Sink]: typed security events (authentication failures,
//     rate-limit denials...) and where they go. The default sink discards
//     them at no cost, and says so through [Sink.Enabled].
//   - [Principal]: the authenticated caller, stored in a request context by
//     auth and read by policy, httpx and your handlers.
//
// # Conventions every package follows
//
//   - The package exports its component name as the constant Component
//     ("httpx", "auth"), used in its opt-outs, controls, events and config
//     errors.
//   - Its config struct names the sink field Events (a [Sink]; nil means
//     [DefaultSink] at the time of each event), the posture field Posture
//     (nil means [DefaultPosture]) and the logger field Logger (nil means
//     slog.Default).
//   - Each instance it builds (a server, a verifier) calls
//     [Posture.Register] once and writes its controls through the
//     [Registration]; a setting changed from its default shows in its
//     control's Detail.
//   - An opt-out's constructor, constant and wire name agree: the
//     constructor AllowPlainHTTP(reason), the constant OptOutAllowPlainHTTP,
//     the name "allow-plain-http".
//   - Its constructor New(cfg) validates everything with a [ConfigCheck]
//     and returns every fault at once.
//
// All types are safe for concurrent use unless their documentation says
// otherwise.
package paved
