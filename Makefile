# Tandem: `make run` runs the whole system, `make test` runs the test suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, or installed into .tools/ from PyPI on first use.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PYTHON ?= python3

.PHONY: help install browser-deps run test lint fmt migrate revision seed-demo bench-api bench-matching bench-matching-runs bench-integration bench-stats bench-taxa bench-forecast bench-abuse fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras
	@touch $@

install: .venv/.synced ## install the locked dependencies into .venv (with the embedded servers)

browser-deps: ## Debian's chromium for the dashboard's browser test, when it is missing
	.ci/browser-deps

run: install ## migrate, seed an empty database, then run the API (127.0.0.1:8000) and the worker
	$(UV) run --frozen tandem run

test: install browser-deps ## run the test suite (TEST_DATABASE_URL / TEST_REDIS_URL, or embedded servers)
	$(UV) run --frozen pytest $(PYTEST_ARGS)

fuzz: install ## schemathesis, every check, against a live API (FUZZ_EXAMPLES=100, FUZZ_SEED=random)
	$(UV) run --frozen python -m tests.fuzz $(FUZZ_ARGS)

lint: install ## ruff, mypy and the architecture's rules (import-linter contracts, SQL in repositories only)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy shared services
	$(UV) run --frozen lint-imports
	.ci/sql-outside-repositories

fmt: install ## format and fix what ruff can
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

migrate: install ## apply pending migrations
	$(UV) run --frozen tandem migrate

revision: install ## new migration from the models: make revision m="what changed"
	$(UV) run --frozen alembic revision --autogenerate -m "$(m)"

bench-api: install ## API against a raw floor, then change feed and webhook lag, then stats (see README)
	$(UV) run --frozen python -m bench.api $(BENCH_ARGS)
	$(UV) run --frozen python -m bench.integration
	$(UV) run --frozen python -m bench.stats

bench-matching: install ## matching engine at four scales against a reference LP (see README)
	$(UV) run --frozen python -m bench.matching_solve $(BENCH_ARGS)

bench-matching-runs: install ## matching runs end to end on PostgreSQL and time to proposal (see README)
	$(UV) run --frozen python -m bench.matching_runs $(BENCH_ARGS)

bench-forecast: install ## rolling-origin backtest of the meeting forecast against two baselines (see README)
	$(UV) run --frozen python -m bench.forecast $(BENCH_ARGS)

bench-integration: install ## change-feed read throughput and commit-to-webhook lag (see docs/integration.md)
	$(UV) run --frozen python -m bench.integration

bench-stats: install ## each stats endpoint's p50/p95 on a realistic year of support (see README)
	$(UV) run --frozen python -m bench.stats $(BENCH_ARGS)

bench-taxa: install ## import 50,000 taxon concepts per convention; p95 of resolution, typing-ahead, discrepancies (see README)
	$(UV) run --frozen python -m bench.taxa $(BENCH_ARGS)

bench-abuse: install ## what abuse costs: big bodies without a key, unknown keys, a key over budget (see README)
	$(UV) run --frozen python -m bench.abuse $(BENCH_ARGS)

clean: ## remove local data of the embedded servers (.tandem/)
	rm -rf .tandem
