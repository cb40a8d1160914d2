# byok-guard. Quick start: `make demo` then `make test`. Needs only Python 3.11+ on PATH.
# .venv holds the package (editable) and dev tools; AWS SAM CLI and the benchmark peers pin
# conflicting boto3/pydantic versions, so each gets its own environment under .venv-tools/.
# Every environment installs from a lock with hashes in requirements/ (pip-tools); an
# environment is re-synced when its lock changes. `make lock` bumps the locks.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools
SAM := $(TOOLS)/sam/bin/sam
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help venv test check lint format demo bench soak crosscheck clean tools-sam tools-peers tools-iam-simulate lock

help:
	@echo "make demo   - run the end-to-end demo on the embedded AWS emulator"
	@echo "make test   - lint, template checks and the whole test suite"
	@echo "make bench  - benchmarks (bench/), results in docs/benchmarks.md"
	@echo "make soak   - long property and fuzz runs (tests marked 'property')"
	@echo "make crosscheck - byok's evaluator against @cloud-copilot/iam-simulate (docs/policy-crosscheck.md)"
	@echo "make lock   - bump the locks in requirements/ (LOCK_ARGS='--upgrade-package boto3' for one)"

# Install a lock into an environment: hashes required, nothing resolved at install time.
# $(1) = environment directory, $(2) = lock file.
define install_lock
	@test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r $(2)
endef

# The package itself goes in editable, without build isolation: its build backend (setuptools,
# wheel) comes from the lock too.
$(BIN)/byok: pyproject.toml requirements/dev.txt
	$(call install_lock,$(VENV),requirements/dev.txt)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check -q
	@touch $(BIN)/byok

venv: $(BIN)/byok

$(SAM): requirements/tools-sam.txt
	$(call install_lock,$(TOOLS)/sam,requirements/tools-sam.txt)
	@touch $(SAM)

tools-sam: $(SAM)

$(TOOLS)/peers/bin/custodian: requirements/tools-peers.txt
	$(call install_lock,$(TOOLS)/peers,requirements/tools-peers.txt)
	@touch $(TOOLS)/peers/bin/custodian

# `make lock`: re-resolve every lock from its .in file (and pyproject.toml for .venv) with
# hashes. LOCK_ARGS defaults to --upgrade (newest versions allowed); pass
# LOCK_ARGS='--upgrade-package boto3' to move one package, LOCK_ARGS= to only re-lock after an
# edit. The layer's requirements are resolved under the .venv lock, so they pin the same versions.
LOCK_ENV := $(TOOLS)/lock
PIP_COMPILE := $(LOCK_ENV)/bin/pip-compile
LOCK_ARGS ?= --upgrade
COMPILE = $(PIP_COMPILE) -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links

$(PIP_COMPILE): requirements/tools-lock.txt
	$(call install_lock,$(LOCK_ENV),requirements/tools-lock.txt)
	@touch $(PIP_COMPILE)

lock: $(PIP_COMPILE)
	$(COMPILE) $(LOCK_ARGS) --extra dev -o requirements/dev.txt pyproject.toml requirements/dev.in
	$(COMPILE) $(LOCK_ARGS) -o requirements/tools-sam.txt requirements/tools-sam.in
	$(COMPILE) $(LOCK_ARGS) -o requirements/tools-peers.txt requirements/tools-peers.in
	$(COMPILE) $(LOCK_ARGS) -o requirements/tools-lock.txt requirements/tools-lock.in
	$(COMPILE) --upgrade -c requirements/dev.txt -o layers/byok/requirements.txt requirements/layer.in

tools-peers: $(TOOLS)/peers/bin/custodian

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Template checks: cfn-lint on every template, `sam validate --lint`, `sam build`.
check: venv tools-sam
	bash scripts/check-templates.sh

# pytest-xdist: one worker per core, at most 4 (every test stands alone: its own moto, its own
# ports; `.venv/bin/python -m pytest` runs the same suite serially)
test: lint check
	$(BIN)/python -m pytest -n auto --maxprocesses 4

demo: venv
	$(BIN)/byok demo

# Long property and fuzz runs: the tests marked `property`, with their soak example counts.
soak: venv
	BYOK_SOAK=1 $(BIN)/python -m pytest -m property --hypothesis-show-statistics

bench: venv tools-peers
	$(BIN)/python bench/policy_bench.py --peers $(TOOLS)/peers/bin/python
	$(BIN)/python bench/scale_report.py

clean:
	rm -rf .aws-sam build dist *.egg-info

# The second IAM simulator (npm, its own environment pinned by tools/iam-simulate/package-lock.json).
IAM_SIMULATE := tools/iam-simulate/node_modules/@cloud-copilot/iam-simulate/package.json

$(IAM_SIMULATE): tools/iam-simulate/package.json tools/iam-simulate/package-lock.json
	cd tools/iam-simulate && npm ci --no-audit --no-fund
	@touch $(IAM_SIMULATE)

tools-iam-simulate: $(IAM_SIMULATE)

# Not part of `make test`: generated and corpus policies through both simulators.
crosscheck: venv tools-iam-simulate
	$(BIN)/python bench/crosscheck.py
