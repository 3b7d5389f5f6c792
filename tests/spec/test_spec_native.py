"""The spec testsuite's scripts run on native code (`wasmaot wast`).

Every command passes, or is skipped because it needs a feature of a later
issue (SIMD, GC, exception handling, threads) -- and a file whose modules use
none of those (validated by `wasm-tools validate` without them) has no skip at
all.  Totals are printed at the end of the run (see conftest.py).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

import spectest
from wasmaot.driver.wast import convert, run_file
from wasmaot.driver.wat import wasm_tools_executable

TOP_LEVEL = sorted(p.name for p in spectest.TESTSUITE.glob("*.wast"))
LATER_FEATURES = ("SIMD", "GC", "exception handling", "threads")
# The feature set of this issue, as wasm-tools names it.
SCALAR_FEATURES = "wasm3,-simd,-relaxed-simd,-gc,-exceptions,-legacy-exceptions"

NATIVE_RESULTS: dict = {}


def _uses_later_features(wast: Path) -> bool:
    """Whether some module of the script needs more than scalar WebAssembly 3.0."""
    with tempfile.TemporaryDirectory() as tmp:
        script = convert(wast, Path(tmp))
        for cmd in script["commands"]:
            if cmd["type"] not in ("module", "module_definition") or "filename" not in cmd:
                continue
            path = Path(tmp) / cmd["filename"]
            if path.suffix != ".wasm":
                continue
            proc = subprocess.run([wasm_tools_executable(), "validate", "-f", SCALAR_FEATURES,
                                   str(path)], capture_output=True)
            if proc.returncode != 0:
                return True
    return False


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_spec_script_passes_on_native_code(name):
    wast = spectest.TESTSUITE / name
    result = run_file(wast)
    NATIVE_RESULTS[name] = result
    assert result.error is None, result.error
    failures = [f"{name}:{o.line}: {o.command}: {o.detail}"
                for o in result.outcomes if o.kind == "failed"]
    assert not failures, "\n".join(failures[:20])
    skips = [o for o in result.outcomes if o.kind == "skipped"]
    for o in skips:
        assert o.detail.startswith(LATER_FEATURES) or "(a tag export)" in o.detail, \
            f"{name}:{o.line}: skipped for a reason that is not a later feature: {o.detail}"
    if skips:
        assert _uses_later_features(wast), \
            f"{name}: {len(skips)} commands skipped, but its modules are scalar 3.0"
