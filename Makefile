# kldigital-site: every target creates the virtual environment it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SITE_ARGS ?=
# make deploy DEPLOY_TARGET=web@server:/var/www/kldigital/output/ (see docs/deployment.md)
DEPLOY_TARGET ?=
# make deploy-preview PREVIEW_TARGET=web@vorschau:/var/www/kldigital-vorschau/ (docs/deployment.md)
PREVIEW_TARGET ?=
BENCH_ARGS ?= --items 1000 --items 10000
PHOTO_BENCH_ARGS ?= --items 1000 --photos 300
# Files readable by the web server whatever the local umask; extra options
# (e.g. RSYNC_FLAGS='-e "ssh -p 2222"') go into RSYNC_FLAGS.
RSYNC_CHMOD ?= --chmod=D755,F644
RSYNC_FLAGS ?=

.PHONY: install install-test system-deps cms build serve check test lint golden gates bench deploy deploy-target deploy-preview preview-target clean

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

# Browser tests and gates need chromium, nginx, Java and two npm packages; the
# script is idempotent and returns at once when everything is there.
system-deps:
	bash .ci/install-system-deps.sh

# Decap CMS for /admin/ (kldigital-site serve), from the npm registry at the
# version pinned in cms/install.sh; into cms/decap/, never committed.
cms:
	bash cms/install.sh

build: install
	$(BIN)/kldigital-site build $(SITE_ARGS)

# /admin/ works when npm is there; without it the preview runs all the same
# and /admin/ says what to install.
serve: install
	@if command -v npm >/dev/null 2>&1; then bash cms/install.sh || true; fi
	$(BIN)/kldigital-site serve $(SITE_ARGS)

check: install
	$(BIN)/kldigital-site check $(SITE_ARGS)

test: install-test system-deps cms
	$(BIN)/ruff check src tests bench gates
	$(BIN)/pytest -q

lint: install-test
	$(BIN)/ruff check src tests bench gates
	$(BIN)/ruff format --check src tests bench gates
	$(BIN)/mypy

# Build, then copy output/ to the server. --delete removes pages that no longer
# exist; --delay-updates puts every changed file in place at the very end, so
# visitors never see half a deployment. output/ holds the site and nothing else
# (the tool's bookkeeping lives in .kldigital-cache/), so nothing is excluded.
deploy: deploy-target install
	$(BIN)/kldigital-site build $(SITE_ARGS)
	rsync -a --delete --delay-updates $(RSYNC_CHMOD) \
		$(RSYNC_FLAGS) output/ $(DEPLOY_TARGET)

# The preview for approval (drafts and embargoed releases, a banner on every page,
# noindex, robots.txt forbidding everything) to a staging server behind a password.
deploy-preview: preview-target install
	$(BIN)/kldigital-site build --preview --output output-vorschau $(SITE_ARGS)
	rsync -a --delete --delay-updates $(RSYNC_CHMOD) \
		$(RSYNC_FLAGS) output-vorschau/ $(PREVIEW_TARGET)

preview-target:
	@if [ -z "$(PREVIEW_TARGET)" ]; then \
		echo "make deploy-preview: Bitte das Ziel angeben, z. B." >&2; \
		echo "  make deploy-preview PREVIEW_TARGET=web@vorschau.example.org:/var/www/kldigital-vorschau/" >&2; \
		echo "(siehe docs/deployment.md, Abschnitt „Vorschau zur Freigabe“)" >&2; \
		exit 2; \
	fi

deploy-target:
	@if [ -z "$(DEPLOY_TARGET)" ]; then \
		echo "make deploy: Bitte das Ziel angeben, z. B." >&2; \
		echo "  make deploy DEPLOY_TARGET=web@server.example.org:/var/www/kldigital/output/" >&2; \
		echo "(siehe docs/deployment.md)" >&2; \
		exit 2; \
	fi

# Quality gates (see gates/README.md): real validators, nginx, a browser.
gates: install-test system-deps
	$(BIN)/python -m gates

bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/search_overhead.py
	$(BIN)/python bench/photos.py $(PHOTO_BENCH_ARGS)

golden: install-test
	$(BIN)/pytest -q tests/test_golden.py --update-golden

clean:
	-$(BIN)/kldigital-site clean
	-$(BIN)/kldigital-site clean --output output-vorschau
	rm -rf output output-vorschau .kldigital-cache
