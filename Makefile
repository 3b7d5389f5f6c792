# wasmaot: `make test` and `make demo` set everything up on a fresh Debian machine
# with python3: a virtual environment in .venv, wasmaot installed into it in
# editable mode with its test extra (all from PyPI), then the command itself.

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.wasmaot-installed

.PHONY: test demo venv clean qemu

test: $(STAMP) qemu
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
	touch $@

clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
