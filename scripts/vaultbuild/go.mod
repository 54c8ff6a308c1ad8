// Tools-only module: builds the Vault server binary used by the integration run.
// It is never imported by the SDK; Vault's own go.mod relies on local replace
// directives, so these replaces pin published versions instead.
module github.com/pavedroad/paved/scripts/vaultbuild

go 1.25.1

require github.com/hashicorp/vault v1.21.0

replace (
	github.com/99designs/keyring => github.com/Jeffail/keyring v1.2.3
	github.com/hashicorp/vault/api => github.com/hashicorp/vault/api v1.22.0
	github.com/hashicorp/vault/sdk => github.com/hashicorp/vault/sdk v0.20.0
	github.com/ma314smith/signedxml v1.1.1 => github.com/moov-io/signedxml v1.1.1
)
