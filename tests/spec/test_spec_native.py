"""The spec testsuite's scripts run on native code (`wasmaot wast`): every
file, the top level and the proposals/, custom/ and legacy/ directories (legacy/
through wabt.js: wasmaot/commands/legacy_wat.py).

Every command passes, fails as listed in known_failures.txt (with its reason),
or is skipped because it needs a feature of a later issue (GC, threads; SIMD is
lowered since issue 9 and exception handling since issue 10, so such a skip fails) -- and a file whose modules use none of those (validated by
`wasm-tools validate` without them) has no skip at all.  Totals, skip reasons
and known failures are printed at the end of the run (see conftest.py).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

import spectest
from wasmaot.commands.wast import convert, run_file
from wasmaot.driver.wat import wasm_tools_executable

TOP_LEVEL = sorted(p.name for p in spectest.TESTSUITE.glob("*.wast"))
SCRIPTS = spectest.wast_files()  # top level first, then the subdirectories
KNOWN, _ = spectest.read_known_failures()
LATER_FEATURES = ("GC", "threads")
# What wasmaot lowers, as wasm-tools names it: WebAssembly 3.0 without those.
SCALAR_FEATURES = "wasm3,-gc,-threads"

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


def judge(name: str, result, results: dict) -> spectest.ScriptRun:
    """Judges one run against known_failures.txt, records it in `results` for
    the summary, and fails the test on an unlisted failure, a listed line that
    passes, or a skip that is not for a later feature.  Shared with aarch64."""
    run = spectest.judge_script(name, result, KNOWN)
    results[name] = run
    assert not run.problems, "\n".join(run.problems[:20])
    for o in result.outcomes:
        if o.kind == "skipped":
            assert o.detail.startswith(LATER_FEATURES), \
                f"{name}:{o.line}: skipped for a reason that is not a later feature: {o.detail}"
    return run


def run_script(name: str, results: dict, **kw):
    """run_file on testsuite file `name`; a legacy exception-handling file that
    cannot be converted because node or wabt.js is missing is recorded and
    skipped with that reason (any other conversion failure fails)."""
    result = run_file(spectest.TESTSUITE / name, **kw)
    if result.tool_missing:
        results[name] = f"cannot convert it here: {result.error}"
        pytest.skip(results[name])
    return result


@pytest.mark.parametrize("name", SCRIPTS)
def test_spec_script_passes_on_native_code(name):
    wast = spectest.TESTSUITE / name
    run = judge(name, run_script(name, NATIVE_RESULTS), NATIVE_RESULTS)
    if run.result.skipped:
        assert _uses_later_features(wast), \
            f"{name}: {run.result.skipped} commands skipped, but its modules are scalar 3.0"
