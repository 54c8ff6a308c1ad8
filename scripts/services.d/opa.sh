# shellcheck shell=bash
# OPA's own CLI (github.com/open-policy-agent/opa), the same version as the
# library package policy links, built once from the Go module proxy and cached
# as $CACHE/bin/opa-$OPA_VERSION. policy's integration tests run it beside the
# SDK: `opa eval` and `opa test` on the same files, `opa run` with a signed
# bundle, and `opa run --server` for the sidecar comparison benchmark. It is a
# tool, never a long-running service of the harness: each test starts and
# stops its own `opa run`.
SERVICE_HOOKS+=(opa)
OPA_VERSION=1.22.3
OPA_BIN=$CACHE/bin/opa-$OPA_VERSION

opa_install() {
	if [ -x "$OPA_BIN" ]; then
		log "reusing cached OPA $OPA_VERSION ($OPA_BIN)"
		return 0
	fi
	mkdir -p "$CACHE/bin"
	log "building OPA $OPA_VERSION from the Go module proxy into $CACHE/bin (once; ~3 min cold)"
	local start=$SECONDS tmp
	tmp=$(mktemp -d "$CACHE/bin/opa-build.XXXXXX")
	# go install with a version ignores any go.mod around it, so the build
	# uses OPA's own pinned dependencies.
	if ! (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-trimpath go install "github.com/open-policy-agent/opa@v$OPA_VERSION"); then
		rm -rf "$tmp"
		die "building OPA $OPA_VERSION failed"
	fi
	mv "$tmp/opa" "$OPA_BIN"
	rm -rf "$tmp"
	log "built OPA in $((SECONDS - start)) s"
}

opa_env() {
	printf 'PAVED_OPA_BIN=%s\n' "$OPA_BIN"
}
