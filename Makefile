# Pitchcraft. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast lint bench eval compose-config clean services browser vendor

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: pip takes the CPU build from this machine's disk (any other version pulls GBs of CUDA).
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP) ## create .venv if missing and install the project with its dev tools

services: ## start local Redis and PostgreSQL if they are installed but stopped
	@(exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null || ! command -v redis-server >/dev/null || \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
	@(exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null || ! command -v pg_ctlcluster >/dev/null || \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true

run: install ## install what is missing, load the demo material and serve every API on http://127.0.0.1:8000
	$(PY) -m services.cli demo --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

# Debian's Chromium for the browser tests (Playwright drives it; its own browser download is never used).
browser: ## install Debian's chromium package when /usr/bin/chromium is missing (needs root or passwordless sudo)
	@test -x /usr/bin/chromium || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo "sudo -n" ); \
		$$SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
		{ $$SUDO apt-get update >/dev/null && $$SUDO apt-get install -y --no-install-recommends chromium; }; }
	@/usr/bin/chromium --version 2>/dev/null  # Debian's launcher script prints a harmless shell warning

# The vendored front-end files (services/web/static/vendor), fetched from the npm registry and checked against
# the sha256 sums in VENDOR.md; `make vendor` refreshes them at the pinned versions.
vendor: ## fetch htmx, Chart.js and Pico CSS from the npm registry at the pinned versions and check their sums
	bash services/web/static/vendor/fetch.sh

test: install services browser ## install what is missing and run the whole suite (unit, integration, e2e, browser)
	$(PY) -m pytest

test-fast: install ## unit tests only
	$(PY) -m pytest tests/unit -q

lint: install ## ruff, mypy and the service import boundaries
	$(VENV)/bin/ruff check services tests bench evals
	$(VENV)/bin/mypy services

bench: install services ## ingest vs raw model throughput, vector store speed, talk-track latency (figures in the README)
	$(PY) bench/ingest_bench.py
	$(PY) bench/store_bench.py
	$(PY) bench/pitch_bench.py

SHARED_EVALSETS ?= ../shared/evalsets
eval: install ## talk tracks on the demo set and every shared set, short-answer grading, the quiz-item gate (README)
	$(VENV)/bin/pitchcraft eval evals/demo $(patsubst %/cases.jsonl,%,$(wildcard $(SHARED_EVALSETS)/*/cases.jsonl))
	SHARED_EVALSETS=$(SHARED_EVALSETS) $(PY) evals/run_grading_eval.py
	$(PY) evals/run_gate_eval.py
	$(PY) evals/run_notes_eval.py --set evals/notes/notes.jsonl $(sort $(wildcard evals/notes/heldout*.jsonl))
	$(PY) evals/run_theme_pairs.py

compose-config: ## validate docker-compose.yml where the docker client exists
	@if docker compose version >/dev/null 2>&1; then \
		PITCHCRAFT_JWT_SECRET=$${PITCHCRAFT_JWT_SECRET:-compose-config-check-secret-0123456789} \
		docker compose -f docker-compose.yml config --quiet && echo "docker-compose.yml: valid"; \
	else echo "no 'docker compose' here: compose file checked by tests/unit/test_deploy_files.py only"; fi

clean: ## remove the demo data dir and caches (keeps .venv)
	rm -rf data .pytest_cache .ruff_cache .mypy_cache
