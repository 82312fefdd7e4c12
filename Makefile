# Developer entry points. `make test` is what CI runs (through .ci/run).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
INFRA := $(PYTHON) deploy/local/infra.py
HOSTILE_RECORDS ?= 20000
HOSTILE_MAX_HUGE ?= 60
SOAK_MINUTES ?= 15
MYPY_PATHS := $(wildcard contracts/src libs/*/src services/*/src)

.PHONY: help up down status test test-cluster lint demo bench soak schemas hostile

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

up:  ## start local Kafka and Postgres (deploy/local/infra.py; idempotent; BROKERS=3: a three-node Kafka cluster)
	$(INFRA) up $(if $(BROKERS),--brokers $(BROKERS))

down:  ## stop local Kafka and Postgres
	$(INFRA) down

status:  ## show local Kafka and Postgres (exit 3 when not both up)
	$(INFRA) status

test:  ## run every test against real Kafka and Postgres (started and stopped for the run unless already up)
	uv sync --frozen
	@rc=0; uv run pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: FAILED: pytest collected no tests (exit 5)" >&2; fi; \
	exit $$rc

test-cluster:  ## the failover tests alone (tests/cluster, a private three-node Kafka cluster; also in `make test`)
	uv sync --frozen
	uv run pytest tests/cluster -p no:cacheprovider $(PYTEST_ARGS)

hostile:  ## the long hostile-input run (HOSTILE_RECORDS=20000): figures in .state/hostile/summary.json
	uv sync --frozen
	HEARTH_HOSTILE_RECORDS=$(HOSTILE_RECORDS) HEARTH_HOSTILE_MAX_HUGE=$(HOSTILE_MAX_HUGE) \
	HEARTH_HOSTILE_SETTLE_SECONDS=900 HEARTH_HOSTILE_REPORT=.state/hostile/summary.json \
	uv run pytest tests/hostile -s -p no:cacheprovider $(PYTEST_ARGS)

lint:  ## ruff check, ruff format --check, mypy
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy $(MYPY_PATHS)

demo:  ## run the whole system: local Kafka + Postgres, the four services, 200 synthetic patients
	uv sync --frozen
	uv run hearth-demo $(DEMO_ARGS)

bench:  ## throughput, latency, memory vs the machine's limits; bench/RESULTS.md (BENCH_ARGS=--quick, --durable)
	uv run python bench/run.py $(BENCH_ARGS)

soak:  ## the journey at half its measured max for SOAK_MINUTES=15: RSS, lag, backlog, letters; bench/SOAK.md
	uv run python bench/soak.py --minutes $(SOAK_MINUTES) $(SOAK_ARGS)

schemas:  ## regenerate the JSON Schemas and the AsyncAPI document from the contracts
	uv run python -m hearth.contracts.generate
