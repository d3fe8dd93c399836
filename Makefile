# Two entry points for a fresh machine:
#   make demo   install everything, build the extension, start JupyterLab on the demo
#   make test   install the test tools (incl. Debian's chromium), run every test
# Finished steps are remembered in .make/ and skipped on the next run.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
STAMP := $(CURDIR)/.make
PORT ?= 8888
NB_PORT ?= 8889
export PATH := $(BIN):$(PATH)

SOURCES := $(shell find src style schema assembly -type f) jupyterlab_spotlight/kernel_helper.py scripts/build-wasm.mjs \
	package.json tsconfig.json webpack.config.js

.PHONY: demo test lint jest pytest ui-tests install-checks bench build clean help

help:
	@echo "make demo   - set everything up and open the demo audit in JupyterLab"
	@echo "make test   - install the test tools and run lint, jest, pytest, the UI tests and the install checks"
	@echo "make bench  - run the benchmarks and write benchmarks/RESULTS.md"

$(STAMP)/venv: requirements-dev.txt
	@mkdir -p $(STAMP)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(STAMP)/node: $(STAMP)/venv package.json yarn.lock
	jlpm install
	touch $@

$(STAMP)/build: $(STAMP)/node $(SOURCES)
	jlpm build
	touch $@

$(STAMP)/develop: $(STAMP)/build pyproject.toml jupyter-config/server-config/jupyterlab_spotlight.json
	$(BIN)/pip install --quiet --no-build-isolation --no-deps -e .
	jupyter-builder develop . --overwrite
	jupyter labextension list 2>&1 | grep -E "jupyterlab-spotlight .*enabled.*OK"
	jupyter server extension list 2>&1 | grep -A2 -E "jupyterlab_spotlight .*enabled" | grep -E "jupyterlab_spotlight .*OK"
	touch $@

build: $(STAMP)/develop

demo: $(STAMP)/develop
	@mkdir -p demo
	@test -f demo/digits_audit.ipynb || cp examples/digits_audit.ipynb demo/
	@echo
	@echo "Starting JupyterLab on demo/digits_audit.ipynb (a working copy of examples/; Ctrl-C to stop)."
	@echo "Open the URL below, run the notebook, then click Spotlight in its toolbar."
	@echo
	jupyter lab demo/digits_audit.ipynb --ServerApp.root_dir=$(CURDIR) \
		--port=$(PORT) --LabApp.extension_manager=readonly --LabApp.expose_app_in_browser=True \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root ) \
		$$( [ -z "$${DISPLAY:-}" ] && echo --no-browser )

$(STAMP)/test-deps: $(STAMP)/venv requirements-test.txt ui-tests/package.json ui-tests/yarn.lock
	@if ! command -v chromium >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; \
	fi
	$(BIN)/pip install --quiet -r requirements-test.txt
	cd ui-tests && jlpm install
	touch $@

lint: $(STAMP)/node
	jlpm build:wasm
	jlpm lint:check

jest: $(STAMP)/build
	rm -rf test-reports && mkdir -p test-reports
	JEST_JUNIT_OUTPUT_DIR=test-reports JEST_JUNIT_OUTPUT_NAME=jest.xml jlpm jest --ci --reporters=default --reporters=jest-junit

pytest: $(STAMP)/build $(STAMP)/test-deps
	mkdir -p test-reports
	$(BIN)/python -m pytest -q -rs --junitxml=test-reports/pytest.xml

ui-tests: $(STAMP)/develop $(STAMP)/test-deps
	cd ui-tests && SPOTLIGHT_UI_PORT=$(PORT) jlpm playwright test
	mkdir -p test-reports && cp ui-tests/test-results/junit.xml test-reports/galata.xml
	cd ui-tests && SPOTLIGHT_NB_PORT=$(NB_PORT) jlpm playwright test -c playwright-notebook.config.js
	cp ui-tests/test-results-notebook/junit.xml test-reports/notebook7.xml

# Installs as users get them: the wheel in fresh venvs with the oldest and newest
# supported JupyterLab (in chromium), and the packed CLI in an empty folder.
install-checks: $(STAMP)/develop $(STAMP)/test-deps
	$(BIN)/python scripts/install-check/check_wheel.py
	PYTHON=$(BIN)/python scripts/install-check/check_cli_package.sh

test: $(STAMP)/develop $(STAMP)/test-deps
	$(MAKE) lint
	$(MAKE) jest
	$(MAKE) pytest
	$(MAKE) ui-tests
	$(MAKE) install-checks
	$(BIN)/python scripts/check_test_reports.py test-reports/jest.xml test-reports/pytest.xml test-reports/galata.xml test-reports/notebook7.xml

bench: $(STAMP)/develop $(STAMP)/test-deps
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(STAMP) lib jupyterlab_spotlight/labextension test-reports tsconfig.tsbuildinfo
