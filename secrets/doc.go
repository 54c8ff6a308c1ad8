// Package secrets reads and manages secrets in HashiCorp Vault with
// github.com/hashicorp/vault/api.
//
// It will hold: login and token renewal, KV reads and writes, dynamic leases,
// PKI certificates that satisfy httpx's certificate source, transit
// encryption, struct injection, and a secret value type that redacts itself
// in logs, JSON and fmt. Its fake backend is package secretstest.
package secrets
