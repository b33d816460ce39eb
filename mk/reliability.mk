# Reliability suite (docs/reliability.md): fault soak, redelivery storm, hostile input,
# authentication and privacy, against one local stack that `python -m reliability.run` starts on
# free loopback ports and stops when it is done. One table on stdout and in .reliability/report.md;
# the product's own log lines go to .reliability/stack.log. Exit 1 when an invariant breaks.
#
#   make reliability                       full run (< 15 min on 2 cores)
#   make reliability-quick                 fewer requests; part of `make test` (< 2 min)
#   make reliability RELIABILITY_ARGS='--only soak,storm'

RELIABILITY_ARGS ?=

.PHONY: reliability reliability-quick

## reliability: every scenario at full size
reliability: venv
	$(PY) -m reliability.run $(RELIABILITY_ARGS)

## reliability-quick: every scenario, fewer requests (run by `make test`)
reliability-quick: venv
	$(PY) -m reliability.run --quick $(RELIABILITY_ARGS)
