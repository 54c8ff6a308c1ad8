// Package secrets reads and manages secrets in HashiCorp Vault, through
// github.com/hashicorp/vault/api, with the behaviour of Vault Agent as a
// library: the client logs in, keeps its token alive, logs in again by
// itself, serves static secrets from a cache that survives outages, and
// never mints a lease it does not need.
//
// # Client
//
// [New] validates a [Config], logs in with a [LoginMethod] ([AppRoleLogin]
// with a response-wrapped secret ID re-read from its file at every login,
// [KubernetesLogin], [JWTLogin], [CertLogin]; a fixed [TokenLogin] needs the
// [AllowStaticToken] opt-out; [APIAuthLogin] runs any api.AuthMethod of the
// api/auth/* modules) and fails closed: when Vault stays
// unreachable for Config.StartupAttempts tries with jittered backoff, it
// returns an *[Error] of reason [ReasonStartup] naming the address. The
// token is renewed at 2/3 of its TTL; when renewal is refused, the token is
// revoked, or its max TTL nears (a renewal grants less than a third of the
// login's TTL), the client logs in again and revokes the old token. Every
// retry sleeps (internal/backoff, capped at Config.RetryCap); a storm of
// refused requests causes one login, and a 403 from a policy (rather than
// an invalid token) causes none. [Client.Close] revokes the token, and
// with it every lease it created (a [TokenLogin] token, the caller's own,
// is left alive).
//
// # Static secrets
//
// A [Ref] names one key of a KV secret: "mount/path#key", or
// "mount/path#key@3" for version 3 of a KV v2 secret. The mount and its
// KV version are found by asking Vault (sys/internal/ui/mounts, as the
// vault CLI does); a reference to any other engine is refused with
// [ReasonWrongMount], so a static refresh never reads a dynamic path and
// never mints a lease. [Client.Static] returns a kept-fresh handle whose
// [Static.Value] is one atomic load; the client re-reads every secret each
// Config.RefreshInterval (default 5 min) and calls [Static.OnChange]
// callbacks with the old and new values. A pinned version is immutable and
// not refreshed. [Client.Get] is the one-shot form.
//
// [Client.Inject] fills a struct's fields tagged `secret:"mount/path#key"`
// (string, []byte or [Secret]); every field is required unless tagged
// ",optional", reads run concurrently (Config.InjectConcurrency), and a
// failure names the field and the reference.
//
// # Outages
//
// While Vault is unreachable, sealed or stopped, the last good values keep
// being served for at most Config.MaxStale (default 1h) after their last
// good read, [Client.Check] (an httpx.Check) reports degraded
// (httpx.ErrDegraded: still ready), and renewal and refresh retry with
// backoff until Vault answers again. Past the bound, reads fail with
// [ReasonStale] and the check reports not ready: stale data is never
// served silently.
//
// # Secret
//
// [Secret] redacts itself in fmt (every verb), slog, JSON, text and gob;
// only [Secret.Reveal] gives the value.
//
// # Backend
//
// The client talks to a [Backend]: Vault's logical HTTP API (read, write,
// delete, list of a path, with a per-call token). [NewVaultBackend] and
// [VaultBackend] are the real one; package secretstest has an in-memory
// fake that answers Vault's own paths, and a conformance suite that both
// pass. Posture controls (auth-method, token-renewal, transport-tls,
// staleness-bound) and events (paved.EventSecretLogin, EventSecretRenewal,
// EventSecretRotation, EventSecretFailure) go to Config.Posture and
// Config.Events.
//
// Dynamic secrets ([Client.Dynamic]), PKI certificates for httpx
// ([Client.PKI]) and transit ([Client.Transit]) are built on the same
// client and backend.
package secrets
