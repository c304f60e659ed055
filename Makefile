# e-KTP jemput bola, Kabupaten Rejang Lebong. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Test modules run side by side in this many processes, each with its own database, topics and consumer groups
# on the shared Kafka and FerretDB (tests/support/plugin.py); 1 runs them one after another.
TEST_WORKERS ?= 3
export UV_PYTHON_DOWNLOADS := never
# Python's compiled bytecode kept outside the repository, also where the environment asks Python not to write
# it beside the sources: otherwise every service process the tests, the demo or the benchmarks start compiles
# all its imports again (about 2 s of CPU each; a third of a test module's time).
export PYTHONPYCACHEPREFIX := $(HOME)/.cache/ektp/pycache
unexport PYTHONDONTWRITEBYTECODE
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help install run demo stop test test-production test-faults test-fast test-scale lint bench infra-up infra-down infra-status clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || { echo "installing uv (Python package manager)"; $(PYTHON) -m pip install -q uv; }
	@uv sync --frozen --python $(PYTHON) --quiet
	@touch $@

install: $(VENV)/.installed ## Create .venv from uv.lock (Kafka, FerretDB and Prometheus install on first start)

run: install ## Start Kafka, FerretDB, Prometheus and the five services; Ctrl-C stops all
	@$(PY) -m deploy.local.run

demo: install ## Like run, then plays a synthetic Rejang Lebong through the services (DEMO_ARGS="--scale 0.05")
	@$(PY) -m deploy.demo $(DEMO_ARGS)

stop: install ## Stop everything `make run` started
	@$(PY) -m deploy.local.run stop

test: install ## Run the whole suite against real Kafka, FerretDB and Prometheus (TEST_WORKERS=3 modules side by side)
	@$(PY) -m deploy.local install --for-tests
	@$(PY) -m pytest --ignore=tests/production -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-production: install ## docker-compose.yml's Kafka proven here: 3 SASL_SSL brokers from compose's settings, two killed in turn under load
	@$(PY) -m deploy.local install --for-tests
	@$(PY) -m pytest tests/production $(PYTEST_ARGS)

test-faults: install ## The long fault and security runs: 25 SIGKILLs, 20 s outages, 2,000-resident redelivery, 100 stations racing for blangko, longer fuzzing
	@$(PY) -m deploy.local install --for-tests
	@EKTP_FAULTS=long EKTP_FUZZ_EXAMPLES=$${EKTP_FUZZ_EXAMPLES:-80} $(PY) -m pytest tests/faults tests/security tests/integration/test_blangko_contention.py $(PYTEST_ARGS)

test-fast: install ## Use-case tests of all five services on in-memory fakes, and the other unit tests: no infrastructure (< 1 min)
	@$(PY) -m pytest tests/unit -m "not infra" -p no:cacheprovider $(PYTEST_ARGS)

bench: install ## Benchmarks against raw baselines on real Kafka and FerretDB (BENCH_ARGS="--scale 1"; results in bench/results/)
	@$(PY) -m bench $(BENCH_ARGS)
	@$(PY) -m bench.school_round

test-scale: install ## The articles' situation at full size (211,077 wajib KTP) through the APIs (long)
	@$(PY) -m deploy.local install --for-tests
	@EKTP_SCENARIO_SCALE=1 $(PY) -m pytest tests/integration/test_coverage_articles.py --timeout 5400 $(PYTEST_ARGS)

lint: install ## ruff and mypy
	@$(PY) -m ruff check .
	@$(PY) -m mypy services shared deploy

infra-up: install ## Start only the local infrastructure (profile run)
	@$(PY) -m deploy.local up

infra-down: install ## Stop the local infrastructure (profiles run and test)
	@$(PY) -m deploy.local down --profile run
	@$(PY) -m deploy.local down --profile test

infra-status: install ## Which parts of the local infrastructure run
	@$(PY) -m deploy.local status

clean: infra-down ## Stop everything and delete local data (.local/)
	rm -rf .local
