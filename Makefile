# The two commands a newcomer needs: `make up` (the whole local stack, demo data) and `make test`.
# Both create .venv and install what is missing first; a changed pyproject.toml reinstalls.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: up test lint typecheck chromium unit bench load install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "vkyc needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing Python dependencies into $(VENV) (first run takes a few minutes)"
	@$(PY) -m pip install -q --upgrade 'pip<26.3'
	@$(PY) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

up: install
	@$(PY) -m local up

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

test: lint typecheck chromium
	$(VENV)/bin/pytest

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
chromium:
	@test -x /usr/bin/chromium || { echo "installing Chromium for the browser tests"; \
		apt-get update -q && apt-get install -y -q chromium; }

unit: install
	$(VENV)/bin/pytest -q tests/unit

bench: install
	$(PY) bench/ws_roundtrip.py
	$(PY) bench/moto_transactions.py
	$(PY) -m bench.call_setup

load: install
	$(VENV)/bin/pytest -m load

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
