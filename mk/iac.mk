# Infrastructure checks (issue #6 item 6): cfn-lint and checkov on template.yaml, part of `make test`.
#
# The main Makefile includes this file; it also works on its own:
#   make -f mk/iac.mk iac-check
#
# checkov lives in its own venv (.venv-checkov): its many hard pins (boto3, networkx, ...) would fight
# the application's and SAM CLI's. cfn-lint comes from .venv-sam (mk/sam.mk). Everything here runs
# offline except the pip installs from PyPI. Suppressions and their reasons: .checkov.yaml (whole
# template) and `Metadata: checkov: skip` in template.yaml (one resource); tests/unit/test_template.py
# fails on a suppression without a reason.

IAC_MK         := $(lastword $(MAKEFILE_LIST))
IAC_DIR        := $(dir $(IAC_MK))
CHECKOV_VENV   ?= .venv-checkov
CHECKOV_PYTHON ?= python3
CHECKOV_PIN    ?= checkov==3.3.30
CHECKOV        := $(CHECKOV_VENV)/bin/checkov
CHECKOV_CONFIG ?= .checkov.yaml
# No platform look-ups (guidelines, severities) and no version check: the check runs offline.
CHECKOV_ENV    := BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE

.PHONY: checkov-venv checkov iac-check iac-clean

$(CHECKOV): $(IAC_MK)
	rm -rf $(CHECKOV_VENV)
	$(CHECKOV_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "$(CHECKOV_PIN)"
	@touch $(CHECKOV)

## checkov-venv: create .venv-checkov with the pinned checkov
checkov-venv: $(CHECKOV)

## checkov: checkov on template.yaml with .checkov.yaml; fails on any failed check
checkov: $(CHECKOV)
	$(CHECKOV_ENV) $(CHECKOV) --config-file $(CHECKOV_CONFIG) --quiet
	@echo "checkov: skipped for the whole template ($(CHECKOV_CONFIG)):"
	@sed -n 's/^  - \(CKV_[A-Z0-9_]*\)  # \(.\{0,100\}\).*/  \1  \2…/p' $(CHECKOV_CONFIG)
	@echo "checkov: skipped for single resources: see 'Metadata: checkov: skip' in template.yaml"

## iac-check: cfn-lint (from .venv-sam) and checkov on template.yaml
iac-check: checkov
	$(MAKE) --no-print-directory -f $(IAC_DIR)sam.mk cfn-lint
	@echo "iac-check: cfn-lint and checkov passed"

iac-clean:
	rm -rf $(CHECKOV_VENV)
