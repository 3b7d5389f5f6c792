"""The packages form layers, each importing only those below it:

    wasm  <  codegen  <  driver  <  api  <  commands  <  cli

(`wasm` decodes and validates, `codegen` lowers, `driver` is the compile pipeline and
toolchain, `api` the embedding API, `commands` the CLI's commands on top of both).
An import upward, even one inside a function, would make a cycle; this reads every
module's imports (absolute and relative) and names the first that goes up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "wasmaot"
LAYERS = ["wasm", "codegen", "driver", "api", "commands", "cli"]


def _layer(module: str) -> int | None:
    """The layer of a dotted module name inside wasmaot (None: outside the layers)."""
    parts = module.split(".")
    if parts[0] != "wasmaot" or len(parts) < 2:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file at `path`."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    return _imports_in(path.read_text(), package)


def _imports_in(source: str, package: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from wasmaot import api` imports the module wasmaot.api
            found += [(node.lineno, f"{base}.{alias.name}" if _layer(base) is None else base)
                      for alias in node.names]
    return found


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_layer_above_its_own(path):
    own = _layer(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    if own is None:
        return  # wasmaot/__init__.py, errors.py, _ffi.py, entry.py: shared or outermost
    upward = [(line, name) for line, name in _imports(path)
              if (_layer(name) or -1) > own]
    assert not upward, f"{path.name} (layer {LAYERS[own]}) imports {upward[0][1]} at line {upward[0][0]}"


@pytest.mark.parametrize("source, package, expected", [
    ("from .. import api", "wasmaot.driver", "wasmaot.api"),
    ("def f():\n    from ..commands.build import build", "wasmaot.driver", "wasmaot.commands.build"),
    ("import wasmaot.cli", "wasmaot.api", "wasmaot.cli"),
    ("from wasmaot import commands", "wasmaot.codegen", "wasmaot.commands"),
    ("from ..driver.compile import frontend", "wasmaot.commands", "wasmaot.driver.compile"),
    ("from . import llvm", "wasmaot.driver", "wasmaot.driver"),
])
def test_imports_resolve_to_absolute_names(source, package, expected):
    """The checker itself: relative, absolute and function-local imports all count."""
    assert [name for _, name in _imports_in(source, package)] == [expected]
