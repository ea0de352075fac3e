# Quick start: `make run` serves the demo region; `make test` runs every check CI runs.
# Both install what is missing and start a project-local PostGIS (scripts/db.sh), unless
# DATABASE_URL points at a PostGIS of your own.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export LANDUSE_PG_PORT ?= 55432
export CARGO_TERM_COLOR ?= never

.PHONY: help check deps db-start db-stop db-status db-clean migrate run test bench chaos replica-test

help:
	@echo "make run      install, start PostGIS, migrate, load the demo region, serve on \$${LANDUSE_LISTEN:-127.0.0.1:8080}"
	@echo "make test     the same set-up, then fmt, clippy and every test"
	@echo "make check    fmt, clippy and the tests that need no database (the fast path while editing)"
	@echo "make bench    the benchmark suite (docs/performance.md): figures in bench-out/report.md"
	@echo "make db-stop  stop the project-local PostGIS (make db-status says where it lives)"
	@echo "make replica-test  the read-replica tests against the project-local PostGIS and a streaming standby (scripts/replica.sh)"

deps:
	@scripts/install-deps.sh

db-start: deps
	@if [[ -n "$${DATABASE_URL:-}" ]]; then echo "DATABASE_URL is set: using that server"; else scripts/db.sh start; scripts/db.sh status | tail -1; fi

db-stop:
	@scripts/db.sh stop

db-status:
	@scripts/db.sh status

db-clean:
	@scripts/db.sh clean

migrate: deps
	@scripts/with-db.sh cargo run -q -p landuse-api --bin landuse -- migrate

run: deps
	@scripts/with-db.sh scripts/run.sh

test: deps
	@scripts/with-db.sh scripts/test.sh

check: deps
	@scripts/check.sh

bench: deps
	@scripts/with-db.sh scripts/bench.sh

chaos: deps
	@scripts/with-db.sh scripts/chaos.sh

replica-test: deps
	@scripts/replica-test.sh
