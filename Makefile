# cxloop: `make demo` and `make test` each set up everything they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck pytest system-packages messages bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs repeat: the dependencies come from the locks (every version pinned and hashed), then
# cxloop itself with --no-deps. The stamps make a second run skip what is done; they are redone
# when a lock or pyproject.toml changes.
$(VENV)/.installed: requirements/runtime.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/runtime.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# The test lock holds the runtime one (same versions) plus the test extra.
$(VENV)/.installed-test: requirements/test.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/test.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed

# Regenerate the locks from pyproject.toml (needs the network). A plain run keeps every pin that
# still fits and only resolves what is new or changed; `make lock LOCK_ARGS=--upgrade` moves all
# to the newest allowed versions, `LOCK_ARGS="--upgrade-package ibis-framework"` just one. Then
# `make test`. The test lock is resolved first and bounds the runtime one, so `make demo` runs
# the versions `make test` ran. The optional `embeddings` extra stays out of both.
UV_VERSION := 0.13.9
UV := $(VENV)/uv-$(UV_VERSION)/bin/uv
LOCK_ARGS ?=
COMPILE = $(UV) pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" --quiet $(LOCK_ARGS)

$(UV): | $(BIN)/python
	$(BIN)/pip install --quiet --target $(VENV)/uv-$(UV_VERSION) uv==$(UV_VERSION)

lock: | $(UV)
	$(COMPILE) --extra test -o requirements/test.txt
	$(COMPILE) -c requirements/test.txt -o requirements/runtime.txt

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

# The baseline of bench/analytics.py --part clv: lifetimes, in its own environment; it is no
# dependency of cxloop and stays out of the locks.
LIFETIMES := .venv-lifetimes
$(LIFETIMES)/.installed:
	$(PYTHON) -m venv $(LIFETIMES)
	$(LIFETIMES)/bin/pip install --quiet lifetimes==0.11.3
	touch $@

# Every figure of docs/benchmarks.md, at the sizes it quotes, each beside its baseline (about
# 40 minutes on 2 cores, half of it building the 1,000,000-customer store). Timings are noisy on
# a shared machine: the scripts print the load.
bench: $(VENV)/.installed $(LIFETIMES)/.installed system-packages
	$(BIN)/python bench/feedback_quality.py
	$(BIN)/python bench/feedback_speed.py --texts 50000 --repeat 3
	$(BIN)/python bench/demo_build.py --customers 2000,10000,100000
	$(BIN)/python bench/ingest.py --seconds 10 --rates 250,500,1000,1500
	$(BIN)/python bench/nps.py --deliveries 100000 --answers 1000000 --repeat 5
	$(BIN)/python bench/analytics.py --part clv --customers 1000000 --repeat 3
	$(BIN)/python bench/analytics_run.py --customers 100000 --store sqlite
	$(BIN)/python bench/analytics_run.py --customers 100000 --store postgresql
	$(BIN)/python bench/analytics.py --part run --customers 1000000 --store postgresql
	$(BIN)/python bench/journeys.py --customers 100000 --events 30 --rate 0.2
	$(BIN)/python bench/assistant_quality.py
	$(BIN)/python bench/assistant_speed.py --catalogs 100
	$(BIN)/python bench/recommend_quality.py
	$(BIN)/python bench/recommend_speed.py --interactions 1000000
	$(BIN)/python bench/personalize_speed.py --customers 2000 --requests 1000
	$(BIN)/python bench/startup.py --repeat 5

clean:
	rm -rf $(VENV) $(LIFETIMES) .cxloop .mypy_cache .ruff_cache .pytest_cache
