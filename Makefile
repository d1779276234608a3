# One entry point for people and CI. Every target runs `setup` first (idempotent, keyed on the lock files).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
UV := .tools/uv/bin/uv
CONFIG ?= config/qwen3-4b.yaml
OUTPUTS ?= cdk-outputs.json
# jsii (driven by the tests too) and the CDK CLI run on the pinned Node 22 from npm, not the machine's Node 20.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
CDK_ARGS := -c config=$(CONFIG) $(if $(STACK_NAME),-c stack_name=$(STACK_NAME)) $(if $(EXPIRES_IN_HOURS),-c expires_in_hours=$(EXPIRES_IN_HOURS)) $(if $(PERMISSIONS_BOUNDARY),-c permissions_boundary=$(PERMISSIONS_BOUNDARY))
# The CI access stack (once per account and region): the repository whose workflows run, and what narrows it.
CI_ACCESS_ARGS = --app "$(BIN)/python ci_access_app.py" -c github_repo=$(GITHUB_REPO) $(if $(GITHUB_ENVIRONMENT),-c github_environment=$(GITHUB_ENVIRONMENT)) $(if $(GITHUB_BRANCH),-c github_branch=$(GITHUB_BRANCH)) $(if $(GITHUB_OIDC_PROVIDER_ARN),-c github_oidc_provider_arn=$(GITHUB_OIDC_PROVIDER_ARN)) $(if $(CDK_QUALIFIER),-c cdk_qualifier=$(CDK_QUALIFIER)) $(if $(WEIGHTS_BUCKETS),-c weights_buckets=$(WEIGHTS_BUCKETS))
# CI has no one to answer the IAM-change prompt.
APPROVAL ?= $(if $(filter true,$(CI)),never,broadening)

.PHONY: help setup deploy preflight synth destroy test test-suite lint format bench lock clean vllm-catalog ci-access ci-access-synth

help:
	@echo "make deploy   deploy CONFIG (default $(CONFIG)) to the current AWS account and region"
	@echo "make preflight  check CONFIG against the account (quota, bootstrap, weights, ...) and state its cost"
	@echo "make synth    synthesize offline, run every validator, print the resources and URL template"
	@echo "make destroy  delete the stack of CONFIG and everything it created"
	@echo "make test     lint, type-check and run the test suite (what CI runs)"
	@echo "make setup    create .venv and node_modules from the lock files (the others call it)"
	@echo "make vllm-catalog  regenerate the vLLM flag catalogs from the pinned vLLM sdists (needs the index)"
	@echo "make deploy ... EXPIRES_IN_HOURS=N      the stack deletes itself after N hours"
	@echo "make deploy ... PERMISSIONS_BOUNDARY=ARN  every role gets the CI access stack's boundary (docs/ci.md)"
	@echo "make ci-access GITHUB_REPO=OWNER/NAME   deploy the CI access stack (GitHub OIDC role, execution policy)"
	@echo "make ci-access-synth GITHUB_REPO=OWNER/NAME   the same, offline, into cdk.out/"

# Three installs at once; inside a parallel make (`make test`) they share its job slots instead.
setup:
	@$(MAKE) --no-print-directory $(if $(findstring jobserver,$(MAKEFLAGS)),,-j3) $(VENV)/.installed node_modules/.installed .tools/checkov/.installed

$(UV):
	@echo "==> uv $(UV_VERSION) (.tools/uv)"
	@$(PYTHON) -m venv .tools/uv
	@.tools/uv/bin/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION) 2> >(grep -v "^WARNING: Location" >&2)

# --compile-bytecode, as pip does by default: otherwise the first test run compiles every imported module,
# in each test process and subprocess that gets there before the .pyc files are written.
$(VENV)/.installed: requirements-dev.txt pyproject.toml | $(UV)
	@echo "==> Python packages (.venv, from requirements-dev.txt)"
	@test -x $(BIN)/python || $(UV) venv -q --python $(PYTHON) $(VENV)
	@$(UV) pip sync -q --compile-bytecode --python $(BIN)/python requirements-dev.txt
	@$(UV) pip install -q --python $(BIN)/python --no-deps -e .
	@touch $@

node_modules/.installed: package.json package-lock.json
	@echo "==> CDK CLI and Node.js 22 (node_modules, from package-lock.json)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.tools/checkov/.installed: tools/checkov.lock | $(UV)
	@echo "==> checkov (.tools/checkov, its own environment)"
	@test -x .tools/checkov/bin/python || $(UV) venv -q --python $(PYTHON) .tools/checkov
	@$(UV) pip sync -q --compile-bytecode --python .tools/checkov/bin/python tools/checkov.lock
	@touch $@

PREFLIGHT := $(BIN)/python -m scripts.preflight --config "$(CONFIG)" $(if $(STACK_NAME),--stack-name "$(STACK_NAME)")

preflight: setup
	@$(PREFLIGHT)

# `make deploy` deploys the very assembly the pre-flight checked (its expiry among the rest), synthesized once.
DEPLOY_ASSEMBLY ?= cdk.out

deploy: setup
	@npx cdk synth $(CDK_ARGS) -q -o "$(DEPLOY_ASSEMBLY)"
	@$(PREFLIGHT) --assembly "$(DEPLOY_ASSEMBLY)"
	@npx cdk deploy --app "$(DEPLOY_ASSEMBLY)" --require-approval $(APPROVAL) --outputs-file "$(OUTPUTS)" --progress events
	@echo "Outputs written to $(OUTPUTS); try: $(BIN)/sagemaker-openai outputs --outputs-file $(OUTPUTS)"

synth: setup
	@echo "==> cdk synth (with the AwsSolutions, NIST 800-53 R5, HIPAA Security and SageMakerOpenAI packs)"
	@npx cdk synth $(CDK_ARGS) -q
	@$(BIN)/python -m scripts.synth_report cdk.out --config "$(CONFIG)"

destroy: setup
	@$(PREFLIGHT) --credentials-only
	@npx cdk destroy $(CDK_ARGS) --force

# One access stack per repository: its name carries GITHUB_REPO.
CI_ACCESS_STACK = $(shell $(BIN)/python -c 'import sys; from stacks.ci_access_stack import ci_access_stack_name as n; print(n(sys.argv[1]))' "$(GITHUB_REPO)" 2>/dev/null)

ci-access: setup
	@npx cdk deploy $(CI_ACCESS_ARGS) --require-approval $(APPROVAL) --outputs-file ci-access-outputs.json
	@echo "Outputs in ci-access-outputs.json: set CiRoleArn as the repository variable AWS_ROLE_ARN and"
	@echo "PermissionsBoundaryArn as AWS_PERMISSIONS_BOUNDARY_ARN; bootstrap with ExecutionPolicyArn (docs/ci.md)"

ci-access-synth: setup
	@npx cdk synth $(CI_ACCESS_ARGS) -q
	@echo "Template: cdk.out/$(CI_ACCESS_STACK).template.json"

lint: setup
	@echo "==> ruff, mypy --strict"
	@$(LINT_NICE) $(BIN)/ruff check .
	@$(LINT_NICE) $(BIN)/ruff format --check .
	@$(LINT_NICE) $(BIN)/mypy -n auto  # a cold run (a fresh clone has no .mypy_cache) on every core

format: setup
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

# Lint and the suite side by side (their output each printed whole as it ends; either failing fails
# the target), the suite on every core (pytest-xdist). Lint runs niced: the suite's timing tests keep
# the CPU they expect, and mypy takes what they leave.
test: setup
	@$(MAKE) --no-print-directory -j2 --output-sync=target LINT_NICE="nice -n 10" lint test-suite

test-suite: setup
	@echo "==> pytest (coverage included, on $$(nproc) cores)"
	@$(BIN)/pytest -n auto --dist worksteal --cov --cov-report=term

bench: setup
	@$(BIN)/python bench/bench_synth.py
	@$(BIN)/python bench/bench_auth.py
	@$(BIN)/python bench/bench_runtime.py
	@$(BIN)/python bench/bench_vllm_flags.py
	@$(BIN)/python bench/bench_proxy.py
	@$(BIN)/python bench/bench_serving.py

# Regenerate the vLLM flag catalogs from the sdists pinned in tools/vllm-sdists.lock (needs the package
# index); PIN_NEW=1 pins a DLC version that has no pin yet. Commit the changed files.
vllm-catalog: setup
	@$(BIN)/python -m scripts.vllm_catalog $(if $(PIN_NEW),--pin-new)

# Re-resolve the pinned versions (needs the registries); commit the changed lock files.
lock: $(UV)
	@$(UV) pip compile -q --no-header -p 3.11 pyproject.toml --extra cdk -o requirements.txt
	@$(UV) pip compile -q --no-header -p 3.11 pyproject.toml --extra cdk --extra dev --extra examples --extra proxy --extra bench -o requirements-dev.txt
	@$(UV) pip compile -q --no-header -p 3.11 tools/checkov.in -o tools/checkov.lock

clean:
	rm -rf $(VENV) .tools node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache .coverage
