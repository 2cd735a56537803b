# One command each: `make app` installs and starts the web page on documents/,
# `make test` installs and runs the test suite (this is what CI runs).
VENV ?= .venv
PY := $(VENV)/bin/python
# Torch 2.13.0 (CPU) lies on this machine's disk; any looser pin pulls a CUDA build.
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: install app test bench browser

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP_INSTALL) "torch==2.13.0"
	$(PIP_INSTALL) -e ".[test]"
	touch $@

install: $(VENV)/.installed

# Debian's Chromium, for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

app: install
	$(PY) app.py

test: install browser
	$(PY) -m pytest

bench: install
	$(PY) -m bench
