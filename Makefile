# byok-guard. Quick start: `make demo` then `make test`. Needs only Python 3.11+ on PATH.
# .venv holds the package (editable) and dev tools; AWS SAM CLI and the benchmark peers pin
# conflicting boto3/pydantic versions, so each gets its own environment under .venv-tools/.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools
SAM := $(TOOLS)/sam/bin/sam
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help venv test check lint format demo bench soak clean tools-sam tools-peers

help:
	@echo "make demo   - run the end-to-end demo on the embedded AWS emulator"
	@echo "make test   - lint, template checks and the whole test suite"
	@echo "make bench  - benchmarks (bench/), results in docs/benchmarks.md"
	@echo "make soak   - long property and fuzz runs (tests marked 'property')"

$(BIN)/byok: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(BIN)/byok

venv: $(BIN)/byok

$(SAM):
	@test -x $(TOOLS)/sam/bin/python || $(PYTHON) -m venv $(TOOLS)/sam
	$(TOOLS)/sam/bin/python -m pip install -q --upgrade pip
	$(TOOLS)/sam/bin/python -m pip install -q aws-sam-cli awslambdaric

tools-sam: $(SAM)

$(TOOLS)/peers/bin/custodian:
	@test -x $(TOOLS)/peers/bin/python || $(PYTHON) -m venv $(TOOLS)/peers
	$(TOOLS)/peers/bin/python -m pip install -q --upgrade pip
	$(TOOLS)/peers/bin/python -m pip install -q c7n policyuniverse

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

test: lint check
	$(BIN)/python -m pytest

demo: venv
	$(BIN)/byok demo

# Long property and fuzz runs: the tests marked `property`, with their soak example counts.
soak: venv
	BYOK_SOAK=1 $(BIN)/python -m pytest -m property --hypothesis-show-statistics

bench: venv tools-peers
	$(BIN)/python bench/policy_bench.py --peers $(TOOLS)/peers/bin/python

clean:
	rm -rf .aws-sam build dist *.egg-info
