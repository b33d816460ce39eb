# leadhooks: `make run` starts the local stack, `make test` checks everything from scratch.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export SAM_CLI_TELEMETRY := 0

.PHONY: help venv run test lint typecheck unit integration sandbox-tests events clean

help:
	@echo "make run    start the API (:3000), vendor sandbox (:4010) and AWS emulator (:5000)"
	@echo "make test   lint, type-check, unit + integration tests, sam validate --lint and sam build"
	@echo "make bench  cold-start, warm-overhead, fan-out, size and memory benchmarks"
	@echo "make events re-sign the sample events in events/ (Standard Webhooks ones expire in 5 min)"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

run: venv
	$(PY) -m local.run

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy shared/leadhooks shared/leadhooks_ops local functions

unit: venv
	$(PY) -m pytest tests/unit -q

sandbox-tests: venv
	$(PY) -m pytest tests/sandbox -q

integration: venv
	$(PY) -m pytest tests/integration -q

test: venv sam-venv lint typecheck unit sandbox-tests integration reliability-quick sam-validate sam-build iac-check
	@echo "make test: all checks passed"

events: venv  ## re-sign the Typeform / Zapier / Standard Webhooks sample events (the latter expire in 5 min)
	$(PY) -m local.make_events

clean:
	rm -rf $(VENV) .venv-sam .aws-sam .local-data .pytest_cache .mypy_cache .ruff_cache

include mk/*.mk
