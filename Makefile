# cxloop: `make demo` and `make test` each set up everything they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck pytest system-packages messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The stamps make a second run skip what is done; they are redone when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

system-packages:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	command -v openssl >/dev/null 2>&1 || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

demo: $(VENV)/.installed
	$(BIN)/cxloop demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test system-packages
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# Refresh the message catalogs after changing translatable text (then translate the French).
messages: $(VENV)/.installed-test
	$(BIN)/pybabel extract -F babel.cfg -k _ -o /tmp/cxloop-messages.pot --no-location .
	$(BIN)/pybabel update -i /tmp/cxloop-messages.pot -d src/cxloop/locale --no-fuzzy-matching

# Every figure of docs/benchmarks.md, at the sizes it quotes, each beside its baseline (about
# 10 minutes on 2 cores). Timings are noisy on a shared machine: the scripts print the load.
bench: $(VENV)/.installed
	$(BIN)/python bench/feedback_quality.py
	$(BIN)/python bench/feedback_speed.py --texts 50000 --repeat 3
	$(BIN)/python bench/demo_build.py --customers 2000,10000,100000
	$(BIN)/python bench/ingest.py --seconds 10 --rates 250,500,1000,1500
	$(BIN)/python bench/nps.py --deliveries 100000 --answers 1000000 --repeat 5

clean:
	rm -rf $(VENV) .cxloop .mypy_cache .ruff_cache .pytest_cache
