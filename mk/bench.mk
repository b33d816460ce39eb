# Benchmarks (docs/benchmarks.md): `make bench` prints one table of ratios measured in one run.
#
# The harness (`python -m benchmarks.run`) runs from .venv: it starts the AWS emulator (moto) and
# the vendor sandbox in-process on free loopback ports and stops them when it is done.
# The measured processes (cold starts, warm relay, fan-out, memory) run from .venv-bench, which
# holds ONLY the layer's runtime dependencies plus what the Lambda runtime provides (boto3) and
# what the naive baseline needs (aws-xray-sdk for its Tracer). .venv has moto[server] and the
# dev tools, whose extra packages would distort import times (PLATFORM-NOTES, cold starts).
# BENCH_PYTHON picks the interpreter (e.g. BENCH_PYTHON=python3.12, the functions' runtime);
# `make bench-clean` first, as the venv is only rebuilt when the requirements change.

BENCH_VENV     ?= .venv-bench
BENCH_PY       := $(BENCH_VENV)/bin/python
BENCH_PYTHON   ?= $(or $(PYTHON),python3)
BENCH_RUNTIME_PINS ?= boto3==1.44.5 aws-xray-sdk==2.15.0
BENCH_ARGS     ?=

.PHONY: bench bench-venv bench-quick bench-clean

$(BENCH_VENV)/.installed: layers/leadhooks/requirements.txt mk/bench.mk
	rm -rf $(BENCH_VENV)
	$(BENCH_PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BENCH_PY) -m pip install --quiet --disable-pip-version-check \
		-r layers/leadhooks/requirements.txt $(BENCH_RUNTIME_PINS)
	touch $@

## bench-venv: the runtime-only venv the measured processes run in
bench-venv: $(BENCH_VENV)/.installed

## bench: cold start, warm relay overhead, contacts fan-out, package size, memory (~3 min; +sam build if missing)
bench: venv bench-venv
	$(PY) -m benchmarks.run --bench-python $(BENCH_PY) $(BENCH_ARGS)

## bench-quick: fewer repetitions, no sam build (a smoke run of the harness, ~1 min)
bench-quick: venv bench-venv
	$(PY) -m benchmarks.run --bench-python $(BENCH_PY) --quick --no-build $(BENCH_ARGS)

## bench-clean: remove the bench venv and the last run's report (.bench/)
bench-clean:
	rm -rf $(BENCH_VENV) .bench
