#!/usr/bin/env bash
# Real services for paved's integration run, on loopback only.
#
#   scripts/services.sh install      install Redis, PostgreSQL, testssl.sh (Debian), build Vault (cached)
#                                    and whatever scripts/services.d/*.sh add
#   scripts/services.sh start [PID]  install, then start Vault (dev), Redis and PostgreSQL on free loopback
#                                    ports, configure Vault, and write $PAVED_STATE_DIR/env; with PID, a
#                                    watchdog stops everything when that process dies (even by SIGKILL)
#   scripts/services.sh stop         stop whatever a previous start left running and remove its state
#
# Environment:
#   PAVED_CACHE_DIR  where built tools are kept between runs (default ~/.cache/paved), outside the work tree
#   PAVED_STATE_DIR  throwaway data, pid files, logs and the env file (default /tmp/paved-services)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${PAVED_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/paved}
STATE=${PAVED_STATE_DIR:-/tmp/paved-services}
VAULT_VERSION=1.21.0
VAULT_BIN=$CACHE/bin/vault-$VAULT_VERSION
SERVICE_HOOKS=() # before the hooks are sourced: each appends itself
for hook in "$ROOT"/scripts/services.d/*.sh; do
	# shellcheck disable=SC1090
	[ -e "$hook" ] && . "$hook"
done
has_hook() { declare -F "$1_$2" >/dev/null; }

log() { printf 'services: %s\n' "$*" >&2; }

# Further services plug in through scripts/services.d/NAME.sh. Each file appends
# NAME to SERVICE_HOOKS and may define any of:
#   NAME_packages  print the Debian packages it needs that are missing (installed with the rest)
#   NAME_install   build or fetch its tools into $CACHE (runs concurrently with the Vault build)
#   NAME_start     start it (after Vault, Redis and PostgreSQL are up and configured)
#   NAME_env       print KEY=value lines for $STATE/env
#   NAME_stop      stop it (before $STATE is removed)
die() { log "error: $*"; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install_packages() {
	local want=()
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null || want+=(redis-server)
	[ -n "$(pg_bindir)" ] && [ -x "$(pg_bindir)/initdb" ] || want+=(postgresql)
	command -v testssl >/dev/null || command -v testssl.sh >/dev/null || want+=(testssl.sh)
	command -v wrk >/dev/null || want+=(wrk)
	command -v openssl >/dev/null || want+=(openssl)
	local h
	for h in "${SERVICE_HOOKS[@]}"; do
		has_hook "$h" packages && mapfile -t -O "${#want[@]}" want < <("${h}_packages")
	done
	[ ${#want[@]} -eq 0 ] && return 0
	log "installing Debian packages: ${want[*]}"
	# Keep the packages' own services from starting: the harness starts its own instances.
	local policy=/usr/sbin/policy-rc.d created=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
		as_root chmod 755 "$policy"
		created=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
	[ "$created" = 1 ] && as_root rm -f "$policy"
	return 0
}

build_vault() {
	if [ -x "$VAULT_BIN" ]; then
		log "reusing cached Vault $VAULT_VERSION ($VAULT_BIN)"
		return 0
	fi
	mkdir -p "$CACHE/bin"
	log "building Vault $VAULT_VERSION from the Go module proxy into $CACHE/bin (once; ~12 min cold)"
	local start=$SECONDS
	(
		cd "$ROOT/scripts/vaultbuild"
		GOFLAGS=-mod=mod go build -trimpath -o "$VAULT_BIN.tmp.$$" github.com/hashicorp/vault
	)
	mv "$VAULT_BIN.tmp.$$" "$VAULT_BIN"
	log "built Vault in $((SECONDS - start)) s"
}

# free_port prints a loopback TCP port nothing listens on, below the
# kernel's ephemeral range: a port from that range can be taken by any
# outgoing connection's local end (or a test's listener on port 0) before
# its service binds it, and Prometheus' scrape target stays unbound until
# its test runs (a cold run lost it that way).
free_port() {
	local p lo=32768
	if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
		read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	fi
	[ "$lo" -gt 11024 ] || die "the ephemeral port range starts at $lo: no room below it for the services' ports"
	for _ in $(seq 1 200); do
		p=$((10000 + RANDOM % (lo - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free loopback port"
}

rand_hex() { od -An -N"${1:-16}" -tx1 /dev/urandom | tr -d ' \n'; }

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
	local secs=$1 what=$2
	shift 2
	for _ in $(seq 1 $((secs * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	die "$what did not come up within ${secs}s"
}

start_redis() {
	REDIS_PORT=$(free_port)
	REDIS_TLS_PORT=$(free_port)
	while [ "$REDIS_TLS_PORT" = "$REDIS_PORT" ]; do REDIS_TLS_PORT=$(free_port); done
	mkdir -p "$STATE/redis"
	server_tls "$STATE/redis/tls" Redis
	REDIS_CA_FILE=$STATE/redis/tls/ca.crt
	# Plain TCP on REDIS_PORT (REDIS_ADDR) and TLS, the certificate from the
	# throwaway CA, on REDIS_TLS_PORT (PAVED_REDIS_TLS_ADDR): one server, one keyspace.
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--tls-port "$REDIS_TLS_PORT" --tls-cert-file "$STATE/redis/tls/server.crt" --tls-key-file "$STATE/redis/tls/server.key" \
		--tls-ca-cert-file "$REDIS_CA_FILE" --tls-auth-clients no \
		--dir "$STATE/redis" --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" --daemonize yes
	wait_for 20 Redis redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping
	wait_for 20 "Redis over TLS" redis-cli -h 127.0.0.1 -p "$REDIS_TLS_PORT" --tls --cacert "$REDIS_CA_FILE" ping
	log "Redis on 127.0.0.1:$REDIS_PORT, TLS on 127.0.0.1:$REDIS_TLS_PORT"
}

pg_run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# server_tls DIR NAME: a throwaway CA named for NAME (its key deleted at once) and
# a server certificate it signed for 127.0.0.1 and localhost, so that clients can
# verify the server against DIR/ca.crt: PostgreSQL's (sslmode=verify-full,
# sslrootcert=PAVED_PG_CA_FILE) and Redis's TLS port (PAVED_REDIS_TLS_ADDR,
# PAVED_REDIS_CA_FILE). openssl's output is shown only when it fails.
server_tls() {
	local dir=$1 name=$2
	mkdir -p "$dir"
	# (&& throughout: errexit does not hold inside an if's condition)
	if ! (
		cd "$dir" &&
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -subj "/CN=paved integration $name CA" \
				-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
				-keyout ca.key -out ca.crt &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr &&
			printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' >ext &&
			openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 7 -extfile ext -out server.crt
	) >"$dir/openssl.log" 2>&1; then
		rm -f "$dir/ca.key"
		cat "$dir/openssl.log" >&2
		die "could not make the throwaway $name CA and certificate in $dir (openssl, above)"
	fi
	rm -f "$dir/ca.key" "$dir/ca.srl" "$dir/server.csr" "$dir/ext" "$dir/openssl.log"
	chmod 600 "$dir/server.key"
	chmod 644 "$dir/ca.crt" "$dir/server.crt"
}

start_postgres() {
	local bin
	bin=$(pg_bindir)
	PG_PORT=$(free_port)
	PG_PASSWORD=$(rand_hex 16)
	mkdir -p "$STATE/pg/sock"
	(umask 077 && printf '%s\n' "$PG_PASSWORD" >"$STATE/pg/pw")
	server_tls "$STATE/pg/tls" PostgreSQL
	PG_CA_FILE=$STATE/pg/tls/ca.crt
	[ "$(id -u)" = 0 ] && chown -R postgres: "$STATE/pg"
	pg_run "$bin/initdb" -D "$STATE/pg/data" -U postgres -A scram-sha-256 --pwfile="$STATE/pg/pw" >"$STATE/pg/initdb.log"
	rm -f "$STATE/pg/pw"
	pg_run "$bin/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/server.log" -w -t 60 \
		-o "-p $PG_PORT -k $STATE/pg/sock -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on -c ssl_cert_file=$STATE/pg/tls/server.crt -c ssl_key_file=$STATE/pg/tls/server.key" start >/dev/null
	DATABASE_URL="postgres://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
	log "PostgreSQL on 127.0.0.1:$PG_PORT (TLS too: sslmode=verify-full with sslrootcert=$PG_CA_FILE)"
}

start_vault() {
	VAULT_PORT=$(free_port)
	VAULT_TOKEN=$(rand_hex 16)
	VAULT_ADDR="http://127.0.0.1:$VAULT_PORT"
	mkdir -p "$STATE/vault"
	# The root token goes in the environment, not the arguments (which every
	# local user can read), and the log, which prints it, is the owner's only.
	: >"$STATE/vault.log"
	chmod 600 "$STATE/vault.log"
	(cd "$STATE/vault" && VAULT_DEV_ROOT_TOKEN_ID="$VAULT_TOKEN" exec "$VAULT_BIN" server -dev -dev-no-store-token \
		-dev-listen-address="127.0.0.1:$VAULT_PORT" >>"$STATE/vault.log" 2>&1) &
	echo $! >"$STATE/vault.pid"
	export VAULT_ADDR VAULT_TOKEN
	wait_for 60 Vault "$VAULT_BIN" status
	log "Vault $VAULT_VERSION (dev) on $VAULT_ADDR"
}

vault() { "$VAULT_BIN" "$@"; }

configure_vault() {
	# PKI: a root CA and a role for loopback server certificates.
	vault secrets enable pki >/dev/null
	vault secrets tune -max-lease-ttl=87600h pki >/dev/null
	vault write -field=certificate pki/root/generate/internal common_name="paved integration root" ttl=87600h >/dev/null
	vault write pki/roles/localhost allowed_domains=localhost allow_subdomains=true allow_localhost=true \
		allow_ip_sans=true key_type=ec key_bits=256 max_ttl=72h >/dev/null

	# Transit.
	vault secrets enable transit >/dev/null
	vault write -f transit/keys/paved >/dev/null

	# Database engine wired to the PostgreSQL instance; role "app" issues short-lived logins.
	vault secrets enable database >/dev/null
	# Passwords reach the vault CLI on stdin (key=-), not in its arguments.
	printf '%s' "$PG_PASSWORD" | vault write database/config/pg plugin_name=postgresql-database-plugin allowed_roles=app \
		connection_url="postgresql://{{username}}:{{password}}@127.0.0.1:$PG_PORT/postgres?sslmode=disable" \
		username=postgres password=- >/dev/null
	vault write database/roles/app db_name=pg default_ttl=1h max_ttl=24h \
		creation_statements="CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT pg_read_all_data TO \"{{name}}\";" \
		revocation_statements="DROP ROLE IF EXISTS \"{{name}}\";" >/dev/null

	# A userpass user linked to an entity and a group, for the OpenID provider.
	OIDC_USERNAME=alice
	OIDC_PASSWORD=$(rand_hex 12)
	vault policy write paved-oidc-user - >/dev/null <<-'EOF'
		path "identity/oidc/provider/+/authorize" { capabilities = ["read", "update"] }
		path "identity/oidc/token/*" { capabilities = ["read"] }
	EOF
	vault auth enable userpass >/dev/null
	printf '%s' "$OIDC_PASSWORD" | vault write auth/userpass/users/"$OIDC_USERNAME" password=- token_policies=default,paved-oidc-user >/dev/null
	local accessor entity group
	accessor=$(vault read -field=accessor sys/auth/userpass)
	entity=$(vault write -field=id identity/entity name="$OIDC_USERNAME" metadata=email=alice@example.com)
	vault write identity/entity-alias name="$OIDC_USERNAME" canonical_id="$entity" mount_accessor="$accessor" >/dev/null
	group=$(vault write -field=id identity/group name=engineers member_entity_ids="$entity")

	# The OpenID provider: key, assignment, scope, confidential client, provider.
	vault write identity/oidc/config issuer="$VAULT_ADDR" >/dev/null 2>&1
	vault write identity/oidc/key/paved allowed_client_ids="*" algorithm=RS256 rotation_period=24h verification_ttl=24h >/dev/null
	vault write identity/oidc/assignment/paved entity_ids="$entity" group_ids="$group" >/dev/null
	vault write identity/oidc/scope/profile description="username and groups" \
		template='{"username":{{identity.entity.name}},"groups":{{identity.entity.groups.names}}}' >/dev/null
	OIDC_REDIRECT_URI="http://127.0.0.1:8251/callback"
	vault write identity/oidc/client/paved-test redirect_uris="$OIDC_REDIRECT_URI" assignments=paved key=paved \
		id_token_ttl=30m access_token_ttl=1h client_type=confidential >/dev/null
	OIDC_CLIENT_ID=$(vault read -field=client_id identity/oidc/client/paved-test)
	OIDC_CLIENT_SECRET=$(vault read -field=client_secret identity/oidc/client/paved-test)
	vault write identity/oidc/provider/paved allowed_client_ids="$OIDC_CLIENT_ID" scopes_supported=profile \
		issuer="$VAULT_ADDR" >/dev/null 2>&1
	OIDC_ISSUER="$VAULT_ADDR/v1/identity/oidc/provider/paved"

	# Identity tokens usable as bearer tokens for APIs.
	vault write identity/oidc/role/api key=paved ttl=1h \
		template='{"groups":{{identity.entity.groups.names}}}' >/dev/null
	OIDC_TOKEN_AUDIENCE=$(vault read -field=client_id identity/oidc/role/api)
	log "Vault configured: KV (secret/), PKI (pki/), transit (transit/), database (database/roles/app), OpenID provider $OIDC_ISSUER"
}

write_env() {
	local tmp=$STATE/env.tmp
	cat >"$tmp" <<-EOF
		# Written by scripts/services.sh start; source it with: set -a; . $STATE/env; set +a
		VAULT_ADDR=$VAULT_ADDR
		VAULT_TOKEN=$VAULT_TOKEN
		REDIS_ADDR=127.0.0.1:$REDIS_PORT
		PAVED_REDIS_TLS_ADDR=127.0.0.1:$REDIS_TLS_PORT
		PAVED_REDIS_CA_FILE=$REDIS_CA_FILE
		DATABASE_URL=$DATABASE_URL
		PAVED_PG_CA_FILE=$PG_CA_FILE
		PAVED_VAULT_BIN=$VAULT_BIN
		PAVED_OIDC_ISSUER=$OIDC_ISSUER
		PAVED_OIDC_CLIENT_ID=$OIDC_CLIENT_ID
		PAVED_OIDC_CLIENT_SECRET=$OIDC_CLIENT_SECRET
		PAVED_OIDC_REDIRECT_URI=$OIDC_REDIRECT_URI
		PAVED_OIDC_USERNAME=$OIDC_USERNAME
		PAVED_OIDC_PASSWORD=$OIDC_PASSWORD
		PAVED_OIDC_USERPASS_MOUNT=userpass
		PAVED_OIDC_TOKEN_ROLE=api
		PAVED_OIDC_TOKEN_ISSUER=$VAULT_ADDR/v1/identity/oidc
		PAVED_OIDC_TOKEN_AUDIENCE=$OIDC_TOKEN_AUDIENCE
		PAVED_OIDC_KEY=paved
		PAVED_OIDC_PROVIDER=paved
	EOF
	local h
	for h in "${SERVICE_HOOKS[@]}"; do
		has_hook "$h" env && "${h}_env" >>"$tmp"
	done
	chmod 600 "$tmp"
	mv "$tmp" "$STATE/env"
}

# ours PID WORD: whether PID is still a process whose command line has WORD,
# so that a stale pid file never kills a process that reused the number.
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"; }

stop_services() {
	[ -d "$STATE" ] || return 0
	local pid
	if [ -f "$STATE/vault.pid" ]; then
		pid=$(cat "$STATE/vault.pid")
		if ours "$pid" "vault-$VAULT_VERSION" && kill "$pid" 2>/dev/null; then
			for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	if [ -f "$STATE/redis.pid" ] && ours "$(cat "$STATE/redis.pid")" redis-server; then
		pid=$(cat "$STATE/redis.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	if [ -f "$STATE/pg/data/postmaster.pid" ]; then
		pg_run "$(pg_bindir)/pg_ctl" -D "$STATE/pg/data" -m immediate -w stop >/dev/null 2>&1 || {
			pid=$(head -n 1 "$STATE/pg/data/postmaster.pid")
			ours "$pid" postgres && kill -9 "$pid" 2>/dev/null || true
		}
	fi
	if [ -f "$STATE/watchdog.pid" ]; then
		pid=$(cat "$STATE/watchdog.pid")
		[ "$pid" != "$$" ] && ours "$pid" watchdog && kill "$pid" 2>/dev/null || true
	fi
	local h
	for h in "${SERVICE_HOOKS[@]}"; do
		has_hook "$h" stop && { "${h}_stop" || log "stopping $h failed"; }
	done
	rm -rf "$STATE"
	log "stopped"
}

watchdog() { # watchdog PID: stop the services once PID is gone
	local watched=$1
	while kill -0 "$watched" 2>/dev/null; do sleep 1; done
	stop_services
}

# build_all builds Vault and every hook's tools concurrently and fails if any failed.
build_all() {
	local pids=() h p fail=0
	build_vault &
	pids+=($!)
	for h in "${SERVICE_HOOKS[@]}"; do
		if has_hook "$h" install; then
			"${h}_install" &
			pids+=($!)
		fi
	done
	for p in "${pids[@]}"; do wait "$p" || fail=1; done
	[ "$fail" = 0 ] || die "a build failed (see above)"
}

start_hooks() {
	local h
	for h in "${SERVICE_HOOKS[@]}"; do
		has_hook "$h" start && "${h}_start"
	done
	return 0
}

case "${1:-}" in
install)
	install_packages
	build_all
	;;
start)
	install_packages
	build_all
	stop_services # whatever an earlier, killed run may have left
	mkdir -p "$STATE"
	chmod 755 "$STATE"
	if [ -n "${2:-}" ]; then
		setsid nohup "$0" watchdog "$2" >/dev/null 2>&1 </dev/null &
		echo $! >"$STATE/watchdog.pid"
	fi
	start_redis
	start_postgres
	start_vault
	configure_vault
	start_hooks
	write_env
	log "ready; environment in $STATE/env"
	echo "$STATE/env"
	;;
stop)
	stop_services
	;;
watchdog)
	watchdog "$2"
	;;
*)
	echo "usage: $0 install | start [PID-to-watch] | stop" >&2
	exit 2
	;;
esac
