# wasmaot: `make test` and `make demo` set everything up on a fresh Debian machine
# with python3: a virtual environment in .venv, wasmaot installed into it in
# editable mode with its test extra (all from PyPI), then the command itself.

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.wasmaot-installed

.PHONY: test demo venv clean

test: $(STAMP)
	$(VPY) -m pytest

demo: $(STAMP)
	$(VENV)/bin/wasmaot validate examples/hello.wat
	$(VENV)/bin/wasmaot inspect examples/hello.wat

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
