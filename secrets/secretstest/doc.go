// Package secretstest will hold an in-memory fake of the secrets backend for
// unit tests, together with the conformance suite that the fake and a real
// Vault server must both pass. Neither exists yet: package secrets is
// planned, and this package has no code.
package secretstest
