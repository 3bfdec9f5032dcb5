# The two commands a newcomer needs: `make up` (the whole local stack, demo data) and `make test`.
# Both create .venv and install what is missing first, from the lock file requirements/dev.txt (every
# package pinned with its hashes); a changed pyproject.toml or lock file reinstalls. `make lock`
# recompiles the lock files from pyproject.toml (see README, "Dependencies").

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
LOCK   := requirements/dev.txt
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | sha1sum | cut -c1-12)

.PHONY: up reset test lint typecheck chromium unit bench load install lock clean package deploy screenshots

install: $(STAMP)

# The lock holds pip, setuptools and wheel too (Chalice needs them), so the project installs without
# fetching anything that is not pinned: its build backend is the locked setuptools. local/ and bench/
# are not in the wheel: a .pth file puts this source tree on the venv's path, so that they import from
# any directory (`python bench/moto_transactions.py` as well as `python -m bench.call_setup`).
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "vkyc needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing Python dependencies into $(VENV) from $(LOCK) (first run takes a few minutes)"
	@$(PY) -m pip install -q --require-hashes -r $(LOCK)
	@$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "vkyc-source-tree.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	@rm -f $(VENV)/.installed-* && touch $@

# Recompile every lock file from pyproject.toml: dev (make up, make test, CI), media-node (the
# container image) and functions (the Lambda functions), the last two constrained to dev's versions
# so that all three agree. Versions already locked are kept unless asked:
# `make lock UPGRADE=--upgrade` (everything) or `UPGRADE='--upgrade-package boto3'`.
UV_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock' $(UPGRADE)

lock: install
	$(UV_COMPILE) --extra dev -o requirements/dev.txt
	$(UV_COMPILE) --extra media-node -c requirements/dev.txt -o requirements/media-node.txt
	$(UV_COMPILE) --extra functions -c requirements/dev.txt -o requirements/functions.txt

up: install
	@$(PY) -m local up

# Forget the local stack's data (tables, queues, bucket, local secrets: .vkyc-state/), so that the next
# `make up` starts clean.
reset:
	rm -rf $(VKYC_STATE_DIR)
VKYC_STATE_DIR ?= .vkyc-state

# Everything a deployment needs, generated from the code, in dist/ (docs/deploy.md); `make deploy
# STAGE=prod` puts it into the AWS account of the environment's credentials (stack vkyc-<STAGE>).
STAGE ?= dev
package: install
	$(PY) -m infra.package --stage $(STAGE)

deploy: package
	$(PY) -m infra.deploy --stage $(STAGE) $(DEPLOY_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

# The templates are packaged once (dist/); the tests lint them with cfn-lint and check what they hold.
test: lint typecheck chromium package
	VKYC_DIST=dist $(VENV)/bin/pytest --durations=30

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
	$(PY) -m bench.timers_load --rounds 5
	$(PY) bench/webhooks.py
	$(PY) bench/media_call.py

# -rP: the scenario's round times and timer lateness figures are printed when it passes too.
load: install
	$(VENV)/bin/pytest -m load -rP

# The browser tests write their screenshots to .artifacts/screenshots/ (ignored), so that `make test`
# leaves the checkout clean; this refreshes the ones the README shows (docs/screenshots/) from a fresh
# run, and fails when a test no longer takes one of them.
SHOTS := .artifacts/screenshots

screenshots: install chromium
	rm -rf $(SHOTS)
	$(VENV)/bin/pytest -q -m browser
	@for shown in docs/screenshots/*.png; do \
		test -f $(SHOTS)/$$(basename $$shown) || { echo "no browser test takes $$shown any more"; exit 1; }; \
	done
	cp $(addprefix $(SHOTS)/,$(notdir $(wildcard docs/screenshots/*.png))) docs/screenshots/
	@echo "docs/screenshots/ refreshed from $(SHOTS)/"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist .artifacts
