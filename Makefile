# The two commands of the quick start, `make run` and `make test`, need only Python 3.11+ and make:
# they create .venv with uv (installed from PyPI into .tools/ when it is not on the PATH).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
CHECKED := $(wildcard service tests migrations ops)

.PHONY: install run test lint format clean screenshots

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.5,<1"

run: install
	$(BIN)/aftercare run

lint: install
	$(BIN)/ruff format --check $(CHECKED)
	$(BIN)/ruff check $(CHECKED)
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# The console's pictures in docs/console.md, taken by its browser tests (Chromium at
# /usr/bin/chromium) and written to docs/screenshots.
screenshots: install
	AFTERCARE_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/integration/test_console_browser.py

format: install
	$(BIN)/ruff format $(CHECKED)
	$(BIN)/ruff check --fix $(CHECKED)

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
