# shellcheck shell=bash
# gitleaks's own CLI, the same version cmd/paved links as a library, built once
# from the Go module proxy and cached as $CACHE/bin/gitleaks-$GITLEAKS_VERSION.
# It is for the same-run performance comparison with `paved secrets`
# (PAVED_GITLEAKS_BIN); the recall test on gitleaks' fixtures runs
# gitleaks' detector in-process. A tool, never a service.
SERVICE_HOOKS+=(gitleaks)
GITLEAKS_VERSION=8.30.1
GITLEAKS_BIN=$CACHE/bin/gitleaks-$GITLEAKS_VERSION

gitleaks_install() {
	if [ -x "$GITLEAKS_BIN" ]; then
		log "reusing cached gitleaks $GITLEAKS_VERSION ($GITLEAKS_BIN)"
		return 0
	fi
	mkdir -p "$CACHE/bin"
	log "building gitleaks $GITLEAKS_VERSION from the Go module proxy into $CACHE/bin (once)"
	local start=$SECONDS tmp
	tmp=$(mktemp -d "$CACHE/bin/gitleaks-build.XXXXXX")
	# go install with a version ignores any go.mod around it.
	if ! (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-trimpath go install "github.com/zricethezav/gitleaks/v8@v$GITLEAKS_VERSION"); then
		rm -rf "$tmp"
		die "building gitleaks $GITLEAKS_VERSION failed"
	fi
	mv "$tmp/gitleaks" "$GITLEAKS_BIN"
	rm -rf "$tmp"
	log "built gitleaks in $((SECONDS - start)) s"
}

gitleaks_env() {
	printf 'PAVED_GITLEAKS_BIN=%s\n' "$GITLEAKS_BIN"
}
