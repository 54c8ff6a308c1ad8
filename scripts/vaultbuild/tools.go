//go:build tools

// Package vaultbuild pins the Vault server module for the integration harness.
package vaultbuild

import _ "github.com/hashicorp/vault"
