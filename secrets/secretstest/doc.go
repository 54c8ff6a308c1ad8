// Package secretstest is an in-memory Vault for tests and local
// development, behind the secrets.Backend interface.
//
// [New] returns a [Fake] that answers Vault's own paths with Vault's own
// payloads: KV v1 and v2 with versions, soft deletes and metadata; the
// mount preflight; tokens with TTLs and max TTLs on a manual [Clock];
// AppRole logins with response-wrapped secret IDs ([Fake.WrapSecretID])
// and other methods through [Fake.AddLogin]; leases that die with their
// token; and the dynamic engines (database credentials, PKI, transit).
// Faults are one call away: [Fake.Seal], [Fake.SetDown], [Fake.Pause],
// [Fake.Deny], [Fake.DenyToken], [Fake.RevokeToken]; [Fake.Count] counts
// the requests each path received.
//
// [RunConformance] is the suite the fake passes in unit tests and a real
// Vault dev server passes in the integration run ([FakeEnv] adapts the
// fake; the secrets package's integration tests adapt Vault).
//
// For local development, [Fake.LoadEnv] and [Fake.LoadFile] fill a fake
// from environment variables ("mount/path#key=value") or a JSON file.
package secretstest
