"""An installed wheel carries what wasmaot compiles on the user's machine:
every C source and header of runtime_c/, as package data `wasmaot/runtime_c`
(driver/toolchain.py looks there when there is no checkout)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from wasmaot.driver.toolchain import RUNTIME_DIR

REPO = Path(__file__).resolve().parents[2]


def test_package_data_covers_every_runtime_source():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["wasmaot.runtime_c"] == "runtime_c"
    assert "wasmaot.runtime_c" in config["packages"]
    shipped = {p for pattern in config["package-data"]["wasmaot.runtime_c"]
               for p in RUNTIME_DIR.glob(pattern)}
    sources = {p for p in RUNTIME_DIR.rglob("*") if p.suffix in (".c", ".h")}
    assert sources and sources == shipped, sorted(str(p) for p in sources ^ shipped)


def test_every_python_package_is_listed():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {".".join(p.parent.relative_to(REPO).parts)
                for p in (REPO / "wasmaot").rglob("*.py")}
    assert packages == set(config["packages"]) - {"wasmaot.runtime_c"}
