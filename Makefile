# kldigital-site: every target creates the virtual environment it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SITE_ARGS ?=
DEPLOY_TARGET ?=

.PHONY: install install-test build serve check test lint golden gates bench deploy clean

$(BIN)/kldigital-site: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.test-deps: pyproject.toml $(BIN)/kldigital-site
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/kldigital-site

install-test: $(VENV)/.test-deps

build: install
	$(BIN)/kldigital-site build $(SITE_ARGS)

serve: install
	$(BIN)/kldigital-site serve $(SITE_ARGS)

check: install
	$(BIN)/kldigital-site check $(SITE_ARGS)

test: install-test
	$(BIN)/ruff check src tests
	$(BIN)/pytest -q

lint: install-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

golden: install-test
	$(BIN)/pytest -q tests/test_golden.py --update-golden

clean:
	-$(BIN)/kldigital-site clean
	rm -rf output .kldigital-cache
