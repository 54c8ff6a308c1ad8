package creds

// Short literals near credential words are not secrets (gosec's G101 reports these).
const passwordField = "password"

var tokenHeader = "X-Vault-Token-Header-Name"

var config = map[string]string{"secret_key": "the-name-of-a-key-in-the-config-file"}

const githubPAT = "ghp_8yQ2Zm4Lw7Kp0Xv3Rt6Bn9Jc5Hd1Fs2Ga4Qe" // want `PAV107: gitleaks rule github-pat`

var vaultRoot = "hvs.Q7pLm2Xv9Rt4Bn6Jc8Hd1Fs3" // want `PAV107: gitleaks rule paved-vault-short-token`

var approle = `secret_id = "6a1e3f2c-9b8d-4c7e-a5f1-0d2b3c4e5f60"` // want `PAV107: gitleaks rule paved-vault-approle-secret-id`

// A digest is not a secret; the same text named as a key on the next
// line is reported there only.
const manifestDigest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
const uploadAPIKey = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" // want `PAV107: gitleaks rule generic-api-key`
