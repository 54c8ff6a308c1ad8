# paved: the README's two commands are `go run ./examples/quickstart` and `make test`.

.PHONY: test quickstart unit services-start services-stop bench

# The whole suite with the real services (what CI runs through .ci/run).
test:
	scripts/test.sh

# The quickstart: a secure server on https://127.0.0.1:8443, no infrastructure.
quickstart:
	go run ./examples/quickstart

# Unit tests only (no services), fast. The real-services tests skip themselves
# (go test -v shows why); make test runs them.
unit:
	@echo "unit tests only: real-services tests are skipped (make test runs them with PAVED_INTEGRATION=1)"
	go test -race ./...

services-start:
	scripts/services.sh start

services-stop:
	scripts/services.sh stop

# Benchmarks with allocations; compare runs with benchstat.
bench:
	go test -run '^$$' -bench . -benchmem ./...
