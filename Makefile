# gatepass: every target sets up what it needs, from a clean clone on a fresh Debian machine (as root).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
JOBS ?= $(shell nproc)
APT_PACKAGES := mosquitto mosquitto-clients zbar-tools poppler-utils fonts-wqy-microhei chromium shellcheck espeak-ng alsa-utils

.PHONY: test lint typecheck imports unit bench chaos demo sysdeps venv clean

# make demo [DURATION=90] [TRAFFIC=0] [PORT=8080]: see README.md and deploy/demo/
DEMO_ARGS := $(if $(DURATION),--duration $(DURATION)) $(if $(filter 0,$(TRAFFIC)),--no-traffic) \
	$(if $(PORT),--port $(PORT))

test: sysdeps $(STAMP) lint typecheck imports unit  ## set everything up and run every check

sysdeps:  ## install the distribution packages the tests need, when missing
	@missing=""; \
	command -v mosquitto >/dev/null || missing="$$missing mosquitto"; \
	command -v mosquitto_passwd >/dev/null || missing="$$missing mosquitto"; \
	command -v mosquitto_pub >/dev/null || missing="$$missing mosquitto-clients"; \
	command -v zbarimg >/dev/null || missing="$$missing zbar-tools"; \
	command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
	[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing="$$missing fonts-wqy-microhei"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v shellcheck >/dev/null || missing="$$missing shellcheck"; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	command -v aplay >/dev/null || missing="$$missing alsa-utils"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	command -v runuser >/dev/null || missing="$$missing util-linux"; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

# Two passes: most tests on every core (a module's tests on one worker), then the time-bound
# ones (marked ``serial`` by tests/conftest.py: the fault tests and the soak) alone. Each pass
# ends with its 15 slowest tests, so a log shows where make test's time goes.
unit: sysdeps $(STAMP)
	$(BIN)/pytest -n $(JOBS) --dist loadfile -m "not serial" --durations=15
	$(BIN)/pytest -m serial --durations=15

bench: sysdeps $(STAMP)  ## measure, print a table and write docs/benchmarks.md
	$(BIN)/python -m bench

# make chaos [DURATION=600] [SEED=n] [OUT=file] [GATE_DEFAULTS=1]: tests/faults/chaos.py,
# docs/reliability.md
CHAOS_ARGS := --duration $(or $(DURATION),600) $(if $(SEED),--seed $(SEED)) \
	$(if $(OUT),--out $(OUT)) $(if $(filter 1,$(GATE_DEFAULTS)),--gate-defaults)

chaos: sysdeps $(STAMP)  ## the fault soak: kills, freezes, a partition, device pulls; one table
	$(BIN)/python -m tests.faults.chaos $(CHAOS_ARGS)

demo: sysdeps $(STAMP)  ## a whole simulated site with live traffic; Ctrl-C stops it
	$(BIN)/python -m deploy.demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis .demo
