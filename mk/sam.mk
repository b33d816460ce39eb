# SAM targets: the AWS side of leadhooks (template.yaml, samconfig.toml, layers/leadhooks/).
#
# The main Makefile includes this file; it also works on its own:
#   make -f mk/sam.mk sam-venv sam-validate sam-build
#
# SAM CLI lives in its own venv (.venv-sam): its pins (boto3, pydantic, cfn-lint, ...) would
# fight the application's. Everything here runs offline except the pip installs from PyPI.
# `sam local invoke` / `start-api` need Docker and are not wrapped here (see docs/deploy.md).

SAM_MK         := $(lastword $(MAKEFILE_LIST))
SAM_VENV       ?= .venv-sam
SAM_PYTHON     ?= python3
SAM_CLI_PIN    ?= aws-sam-cli==1.170.0
CFN_LINT_PIN   ?= cfn-lint==1.58.0
SAM            := $(SAM_VENV)/bin/sam
CFN_LINT       := $(SAM_VENV)/bin/cfn-lint
SAM_TEMPLATE   ?= template.yaml
SAM_CONFIG_ENV ?= dev

export SAM_CLI_TELEMETRY := 0

# `sam build` checks that a python3.12 is on PATH (the functions' runtime). On machines where
# Python comes from pyenv, put a 3.12 beside the default version: PYENV_VERSION=3.11.7:3.12.1.
# Computed from what pyenv has, overridable (`make sam-build SAM_PYENV_VERSION=...`), and
# empty (a no-op) where pyenv is absent or has no 3.12, e.g. when python3.12 is on PATH already.
SAM_PYENV_VERSION ?= $(shell command -v pyenv >/dev/null 2>&1 && \
    p312=$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12\.[0-9]+$$' | sort -V | tail -1) && \
    [ -n "$$p312" ] && echo "$$(pyenv version-name 2>/dev/null | cut -d: -f1):$$p312")
SAM_ENV := SAM_CLI_TELEMETRY=0 $(if $(strip $(SAM_PYENV_VERSION)),PYENV_VERSION=$(strip $(SAM_PYENV_VERSION)))

.PHONY: sam-venv sam-validate sam-build sam-lint cfn-lint sam-layer-size sam-deploy sam-clean

$(SAM): $(SAM_MK)
	$(SAM_PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet "$(SAM_CLI_PIN)" "$(CFN_LINT_PIN)"
	@touch $(SAM)

## sam-venv: create .venv-sam with the pinned SAM CLI and cfn-lint
sam-venv: $(SAM)
	@$(SAM) --version
	@$(CFN_LINT) --version

## sam-validate: SAM schema check plus cfn-lint (offline)
sam-validate: $(SAM)
	$(SAM_ENV) $(SAM) validate --lint --template-file $(SAM_TEMPLATE)

## cfn-lint: cfn-lint on its own (reads .cfnlintrc.yaml)
cfn-lint sam-lint: $(SAM)
	$(CFN_LINT) $(SAM_TEMPLATE)

## sam-build: build functions and the layer for arm64 without a container
sam-build: $(SAM)
	$(SAM_ENV) $(SAM) build --template-file $(SAM_TEMPLATE)

## sam-layer-size: zipped size of the built layer (Lambda zips it the same way on deploy)
sam-layer-size:
	@test -d .aws-sam/build/LeadhooksLayer || { echo "run make sam-build first" >&2; exit 1; }
	@rm -f .aws-sam/LeadhooksLayer.zip
	@cd .aws-sam/build/LeadhooksLayer && zip -qr9 ../../LeadhooksLayer.zip .
	@echo "LeadhooksLayer: $$(wc -c < .aws-sam/LeadhooksLayer.zip) bytes zipped, $$(du -sh .aws-sam/build/LeadhooksLayer | cut -f1) unzipped"

## sam-deploy: deploy to SAM_CONFIG_ENV (dev by default; needs AWS credentials)
sam-deploy: sam-build
	$(SAM_ENV) $(SAM) deploy --config-env $(SAM_CONFIG_ENV)

sam-clean:
	rm -rf .aws-sam
