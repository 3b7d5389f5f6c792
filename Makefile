# wasmaot: `make test` and `make demo` set everything up on a fresh Debian machine
# with python3: a virtual environment in .venv, wasmaot installed into it in
# editable mode with its test extra (all from PyPI) with the native launcher as its
# `wasmaot` command (wasmaot/driver/launcher.py), then the command itself.

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.wasmaot-installed
# wabt.js, where wasmaot/commands/legacy_wat.py looks for it (sys.prefix/share/...).
WABT_VERSION := 1.0.39
WABT_DIR     := $(VENV)/share/wasmaot/wabt-$(WABT_VERSION)
WABT_STAMP   := $(WABT_DIR)/node_modules/wabt/package.json

.PHONY: test demo venv clean qemu node wabt

test: $(STAMP) qemu wabt
	$(VPY) -m pytest

# aarch64 executables are tested under qemu-user (Debian's qemu-user-static).
qemu:
	@if ! command -v qemu-aarch64-static >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing qemu-user-static for aarch64 tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >/dev/null; \
	  else \
	    echo "error: qemu-aarch64-static missing; run: apt-get install -y qemu-user-static" >&2; exit 1; \
	  fi; \
	fi

# The testsuite's legacy exception-handling scripts (legacy/*.wast) are in a text
# syntax wasm-tools no longer reads; wasmaot reads them with wabt.js (the npm
# package `wabt`, run by node): Debian's nodejs and npm, then the package into
# the virtual environment.
wabt: $(WABT_STAMP)

$(WABT_STAMP): | $(VPY) node
	npm install --prefix $(WABT_DIR) --no-audit --no-fund --no-save --no-package-lock \
	  --loglevel=error wabt@$(WABT_VERSION)

node:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing nodejs and npm for the legacy exception-handling spec tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else \
	    echo "error: node or npm missing; run: apt-get install -y nodejs npm" >&2; exit 1; \
	  fi; \
	fi

demo: $(STAMP)
	mkdir -p build
	$(VPY) -m ziglang cc -target wasm32-wasi -O2 examples/hello/hello.c -o build/hello.wasm
	$(VENV)/bin/wasmaot build build/hello.wasm -o build/hello
	./build/hello "from make demo"

venv: $(STAMP)

# Debian's python3 cannot create a venv without the python3-venv package; install
# it when we are root and may (CI machines), otherwise say what is missing.
$(VPY):
	@if ! $(PYTHON) -m venv $(VENV); then \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "python3 -m venv failed: installing python3-venv"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv && \
	    $(PYTHON) -m venv $(VENV); \
	  else \
	    echo "error: cannot create $(VENV); install python3-venv (apt-get install python3-venv)" >&2; \
	    exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(VENV)/bin/wasmaot install-launcher
	touch $@

clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
