# shellcheck shell=bash
# Prometheus from Debian's packages, for telemetry's integration tests: the
# second, pull-based check of the metrics (the first is the OpenTelemetry
# Collector's file exporter). prometheus_start picks a free loopback port for
# a scrape target that nothing serves yet, PAVED_PROMETHEUS_TARGET, and
# starts Prometheus on another loopback port scraping it every second; a test
# serves its metrics endpoint (GET /metrics) on that target and then queries
# Prometheus' HTTP API at PAVED_PROMETHEUS_URL. One target, one test at a
# time: the test that listens there owns it.
SERVICE_HOOKS+=(prometheus)

prometheus_packages() {
	command -v prometheus >/dev/null || echo prometheus
	return 0
}

prometheus_start() {
	PROMETHEUS_PORT=$(free_port)
	PROMETHEUS_TARGET_PORT=$(free_port)
	while [ "$PROMETHEUS_TARGET_PORT" = "$PROMETHEUS_PORT" ]; do PROMETHEUS_TARGET_PORT=$(free_port); done
	local dir=$STATE/prometheus
	mkdir -p "$dir/data"
	cat >"$dir/prometheus.yml" <<-YAML
		global:
		  scrape_interval: 1s
		  scrape_timeout: 1s
		  evaluation_interval: 1s
		scrape_configs:
		  - job_name: paved-test
		    metrics_path: /metrics
		    static_configs:
		      - targets: ["127.0.0.1:$PROMETHEUS_TARGET_PORT"]
	YAML
	(exec prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$PROMETHEUS_PORT" >"$STATE/prometheus.log" 2>&1) &
	echo $! >"$STATE/prometheus.pid"
	wait_for 60 Prometheus bash -c "exec 3<>/dev/tcp/127.0.0.1/$PROMETHEUS_PORT"
	log "Prometheus $(prometheus --version 2>&1 | awk 'NR==1{print $3}') on 127.0.0.1:$PROMETHEUS_PORT, scraping 127.0.0.1:$PROMETHEUS_TARGET_PORT every second"
}

prometheus_env() {
	printf 'PAVED_PROMETHEUS_URL=http://127.0.0.1:%s\n' "$PROMETHEUS_PORT"
	printf 'PAVED_PROMETHEUS_TARGET=127.0.0.1:%s\n' "$PROMETHEUS_TARGET_PORT"
}

prometheus_stop() {
	[ -f "$STATE/prometheus.pid" ] || return 0
	local pid
	pid=$(cat "$STATE/prometheus.pid")
	if ours "$pid" "prometheus --config.file=$STATE/prometheus" && kill "$pid" 2>/dev/null; then
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	return 0
}
