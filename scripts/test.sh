#!/usr/bin/env bash
# The whole suite, as `make test` and CI run it: formatting, go vet, staticcheck,
# then `go test -race ./...` with the integration run on against real Vault, Redis
# and PostgreSQL, which scripts/services.sh installs, starts and always stops.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# go and the caches need a home even where the caller's environment has none.
export HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}

CACHE=${PAVED_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/paved}
STATE=${PAVED_STATE_DIR:-/tmp/paved-services}
STATICCHECK_VERSION=v0.8.2
FLOOR_TOOLCHAIN=1.26.0
GO_TEST_FLAGS=${GO_TEST_FLAGS:-"-race -count=1 -timeout 30m"}

t0=$SECONDS
step() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - t0)); }

# Long steps run in the background and are waited for, so that a signal is
# handled at once: the trap stops the step, then the services.
child=
install_pid= install_log=
run() {
	"$@" &
	child=$!
	wait "$child"
	child=
}
cleanup() {
	if [ -n "$child" ]; then
		pkill -TERM -P "$child" 2>/dev/null || true
		kill "$child" 2>/dev/null || true
	fi
	if [ -n "$install_pid" ]; then
		pkill -TERM -P "$install_pid" 2>/dev/null || true
		kill "$install_pid" 2>/dev/null || true
	fi
	scripts/services.sh stop || true
	[ -n "$install_log" ] && rm -f "$install_log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Modules in this repository: the SDK, the benchmark-comparison module and
# the browser suite (its own module, so that the SDK's go.mod names no
# browser driver) and the paved CLI (its own module, so that govulncheck
# never enters the SDK's go.mod; cmd/paved/go.work builds it against this
# checkout). scripts/vaultbuild only pins the Vault build and has no Go code
# to check.
modules=(.)
for m in internal/benchcmp internal/browsertest cmd/paved; do [ -f "$m/go.mod" ] && modules+=("$m"); done

# The services' tools (Vault, OPA, the collector, Debian's packages) install
# and build in the background while the static checks run: on a cold machine
# that is most of the run's time. A warm machine finds them all cached.
install_log=$(mktemp "${TMPDIR:-/tmp}/paved-install.XXXXXX")
scripts/services.sh install >"$install_log" 2>&1 &
install_pid=$!

step "gofmt"
unformatted=$(gofmt -l $(git ls-files --cached --others --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

step "go vet"
for m in "${modules[@]}"; do (cd "$m" && go vet ./...); done

# go.mod promises Go 1.26: type-check everything, tests included, with that
# toolchain (fetched once through the module proxy) so that no newer API slips in.
step "go vet with the Go $FLOOR_TOOLCHAIN floor toolchain"
GOTOOLCHAIN=go$FLOOR_TOOLCHAIN go vet ./...
[ -f internal/browsertest/go.mod ] && GOTOOLCHAIN=go$FLOOR_TOOLCHAIN go -C internal/browsertest vet ./...
[ -f cmd/paved/go.mod ] && GOTOOLCHAIN=go$FLOOR_TOOLCHAIN go -C cmd/paved vet ./...

step "staticcheck $STATICCHECK_VERSION"
if [ ! -x "$CACHE/bin/staticcheck-$STATICCHECK_VERSION" ]; then
	mkdir -p "$CACHE/bin"
	GOBIN="$CACHE/tmp-gobin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
	mv "$CACHE/tmp-gobin/staticcheck" "$CACHE/bin/staticcheck-$STATICCHECK_VERSION"
	rm -rf "$CACHE/tmp-gobin"
fi
for m in "${modules[@]}"; do (cd "$m" && "$CACHE/bin/staticcheck-$STATICCHECK_VERSION" ./...); done

# The project's own SAST and secrets scan, built once per run: gosec and
# paved's road rules over the SDK, failing on any finding (each accepted
# one is marked in the code with //paved:allow RULE reason), then
# gitleaks' rules and paved's over the whole git history with the accepted
# fixtures of .paved-secrets-baseline.json.
step "paved vet ./... and paved secrets -history on the project"
paved_bin=$(mktemp -d "${TMPDIR:-/tmp}/paved-cli.XXXXXX")
go -C cmd/paved build -o "$paved_bin/paved" .
"$paved_bin/paved" vet -fail-on low ./...
"$paved_bin/paved" secrets -history
rm -rf "$paved_bin"

step "real services"
if ! wait "$install_pid"; then
	install_pid=
	echo "installing or building the services' tools failed:"; cat "$install_log"; exit 1
fi
install_pid=
cat "$install_log"
run scripts/services.sh start $$ >/dev/null
set -a
# shellcheck disable=SC1091
. "$STATE/env"
set +a
export PAVED_INTEGRATION=1

step "go test $GO_TEST_FLAGS ./... (integration run)"
# shellcheck disable=SC2086
run go test $GO_TEST_FLAGS ./...

# Headless Chromium against paved's servers (PAVED_CHROMIUM from the env file).
step "go test $GO_TEST_FLAGS ./... in internal/browsertest (real browser)"
# shellcheck disable=SC2086
run go -C internal/browsertest test $GO_TEST_FLAGS ./...

# The CLI: govulncheck and the in-process audit held together on the same
# binaries and database (the whole Go vulnerability database, and Vault's
# binary from PAVED_VAULT_BIN).
step "go test $GO_TEST_FLAGS ./... in cmd/paved (CLI)"
# shellcheck disable=SC2086
run go -C cmd/paved test $GO_TEST_FLAGS ./...

step "done"
