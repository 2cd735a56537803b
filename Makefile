# One command each: `make app` installs and starts the web page on documents/,
# `make test` installs and runs the test suite (this is what CI runs).
VENV ?= .venv
PY := $(VENV)/bin/python
# Torch 2.13.0 (CPU) lies on this machine's disk; any looser pin pulls a CUDA build.
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: install app test bench debian-app debian-test

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP_INSTALL) "torch==2.13.0"
	$(PIP_INSTALL) -e ".[test]"
	touch $@

install: $(VENV)/.installed

# Debian packages, installed only when missing: tesseract reads scanned PDF
# pages; the tests also drive Debian's Chromium (Playwright never downloads a
# browser) and read real manuals that Debian ships as PDF, HTML and EPUB.
APP_DEBS := tesseract-ocr
TEST_DEBS := $(APP_DEBS) chromium debmake-doc developers-reference
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "installing Debian packages: $$missing"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

debian-app:
	$(call apt_install,$(APP_DEBS))

debian-test:
	$(call apt_install,$(TEST_DEBS))

app: install debian-app
	$(PY) app.py

test: install debian-test
	$(PY) -m pytest

bench: install
	$(PY) -m bench
