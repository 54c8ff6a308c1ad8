// Package secretstest is an in-memory fake of the secrets backend for unit
// tests. It passes the same conformance suite as a real Vault server.
package secretstest
