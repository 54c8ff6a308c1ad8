# shellcheck shell=bash
# gosec's own CLI, the same version cmd/paved links as a library, built once
# from the Go module proxy and cached as $CACHE/bin/gosec-$GOSEC_VERSION.
# It is for the same-run performance comparison with `paved vet`
# (PAVED_GOSEC_BIN); the recall tests (paved vet finds at least what gosec
# alone finds) run gosec's analyzer in-process. A tool, never a service.
SERVICE_HOOKS+=(gosec)
GOSEC_VERSION=2.30.0
GOSEC_BIN=$CACHE/bin/gosec-$GOSEC_VERSION

gosec_install() {
	if [ -x "$GOSEC_BIN" ]; then
		log "reusing cached gosec $GOSEC_VERSION ($GOSEC_BIN)"
		return 0
	fi
	mkdir -p "$CACHE/bin"
	log "building gosec $GOSEC_VERSION from the Go module proxy into $CACHE/bin (once)"
	local start=$SECONDS tmp
	tmp=$(mktemp -d "$CACHE/bin/gosec-build.XXXXXX")
	# go install with a version ignores any go.mod around it.
	if ! (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-trimpath go install "github.com/securego/gosec/v2/cmd/gosec@v$GOSEC_VERSION"); then
		rm -rf "$tmp"
		die "building gosec $GOSEC_VERSION failed"
	fi
	mv "$tmp/gosec" "$GOSEC_BIN"
	rm -rf "$tmp"
	log "built gosec in $((SECONDS - start)) s"
}

gosec_env() {
	printf 'PAVED_GOSEC_BIN=%s\n' "$GOSEC_BIN"
}
