# shellcheck shell=bash
# An OpenTelemetry Collector for telemetry's integration tests, built once with
# the collector's own builder (go.opentelemetry.io/collector/cmd/builder) from
# the Go module proxy, from a manifest of exactly two components: the OTLP
# receiver (gRPC and HTTP) and the file exporter. It is cached as
# $CACHE/bin/otelcol-paved-$OTELCOL_VERSION. otelcol_start runs it on two free
# loopback ports and writes every trace, metric and log it receives, as OTLP
# JSON lines, to $STATE/otelcol/{traces,metrics,logs}.jsonl, which the tests
# read. All collector modules stay at one release (the file exporter passed at
# v0.161.0, not after).
SERVICE_HOOKS+=(otelcol)
OTELCOL_VERSION=0.161.0
OTELCOL_BIN=$CACHE/bin/otelcol-paved-$OTELCOL_VERSION

otelcol_install() {
	if [ -x "$OTELCOL_BIN" ]; then
		log "reusing cached OpenTelemetry Collector $OTELCOL_VERSION ($OTELCOL_BIN)"
		return 0
	fi
	mkdir -p "$CACHE/bin"
	log "building the OpenTelemetry Collector $OTELCOL_VERSION (OTLP receiver, file exporter) with its builder into $CACHE/bin (once; ~5 min cold)"
	local start=$SECONDS tmp
	tmp=$(mktemp -d "$CACHE/bin/otelcol-build.XXXXXX")
	cat >"$tmp/manifest.yaml" <<-EOF
		dist:
		  name: otelcol-paved
		  description: OpenTelemetry Collector for paved's integration tests
		  output_path: $tmp/dist
		  version: $OTELCOL_VERSION
		receivers:
		  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v$OTELCOL_VERSION
		exporters:
		  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter v$OTELCOL_VERSION
	EOF
	# go install with a version ignores any go.mod around it; the builder
	# then writes, tidies and builds the collector's own module.
	if ! (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-trimpath go install "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION" &&
		GOFLAGS=-trimpath "$tmp/builder" --config "$tmp/manifest.yaml" >"$tmp/build.log" 2>&1); then
		[ -f "$tmp/build.log" ] && tail -n 40 "$tmp/build.log" >&2
		rm -rf "$tmp"
		die "building the OpenTelemetry Collector $OTELCOL_VERSION failed"
	fi
	mv "$tmp/dist/otelcol-paved" "$OTELCOL_BIN"
	rm -rf "$tmp"
	log "built the OpenTelemetry Collector in $((SECONDS - start)) s"
}

otelcol_start() {
	OTELCOL_GRPC_PORT=$(free_port)
	OTELCOL_HTTP_PORT=$(free_port)
	while [ "$OTELCOL_HTTP_PORT" = "$OTELCOL_GRPC_PORT" ]; do OTELCOL_HTTP_PORT=$(free_port); done
	local dir=$STATE/otelcol
	mkdir -p "$dir"
	: >"$dir/traces.jsonl"
	: >"$dir/metrics.jsonl"
	: >"$dir/logs.jsonl"
	cat >"$dir/config.yaml" <<-EOF
		receivers:
		  otlp:
		    protocols:
		      grpc:
		        endpoint: 127.0.0.1:$OTELCOL_GRPC_PORT
		      http:
		        endpoint: 127.0.0.1:$OTELCOL_HTTP_PORT
		exporters:
		  file/traces:
		    path: $dir/traces.jsonl
		    flush_interval: 100ms
		  file/metrics:
		    path: $dir/metrics.jsonl
		    flush_interval: 100ms
		  file/logs:
		    path: $dir/logs.jsonl
		    flush_interval: 100ms
		service:
		  telemetry:
		    metrics:
		      level: none
		  pipelines:
		    traces:
		      receivers: [otlp]
		      exporters: [file/traces]
		    metrics:
		      receivers: [otlp]
		      exporters: [file/metrics]
		    logs:
		      receivers: [otlp]
		      exporters: [file/logs]
	EOF
	(exec "$OTELCOL_BIN" --config "$dir/config.yaml" >"$STATE/otelcol.log" 2>&1) &
	echo $! >"$STATE/otelcol.pid"
	wait_for 60 "the OpenTelemetry Collector" bash -c "exec 3<>/dev/tcp/127.0.0.1/$OTELCOL_HTTP_PORT && exec 4<>/dev/tcp/127.0.0.1/$OTELCOL_GRPC_PORT"
	log "OpenTelemetry Collector $OTELCOL_VERSION: OTLP gRPC 127.0.0.1:$OTELCOL_GRPC_PORT, HTTP 127.0.0.1:$OTELCOL_HTTP_PORT, files in $dir"
}

otelcol_env() {
	printf 'PAVED_OTELCOL_BIN=%s\n' "$OTELCOL_BIN"
	printf 'PAVED_OTELCOL_GRPC_ENDPOINT=127.0.0.1:%s\n' "$OTELCOL_GRPC_PORT"
	printf 'PAVED_OTELCOL_HTTP_ENDPOINT=127.0.0.1:%s\n' "$OTELCOL_HTTP_PORT"
	printf 'PAVED_OTELCOL_DIR=%s\n' "$STATE/otelcol"
}

otelcol_stop() {
	[ -f "$STATE/otelcol.pid" ] || return 0
	local pid
	pid=$(cat "$STATE/otelcol.pid")
	if ours "$pid" "otelcol-paved-$OTELCOL_VERSION" && kill "$pid" 2>/dev/null; then
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	return 0
}
