"""The spec scripts on aarch64 (issue 4, item 9): `wasmaot wast --target
aarch64-linux` compiles each script's modules for aarch64, links them into one
test executable and runs it under qemu-user.  Every top-level file must give
the same passed/failed/skipped counts as on x86-64 in this process
(test_spec_native.py), with no failure.  Totals are printed at the end of the
run (see conftest.py).
"""

from __future__ import annotations

import shutil

import pytest

import spectest
from test_spec_native import LATER_FEATURES, NATIVE_RESULTS, TOP_LEVEL
from wasmaot.driver.targets import host_code_target
from wasmaot.driver.wast import run_file

AARCH64_RESULTS: dict = {}


def _counts(result) -> tuple:
    return result.passed, result.failed, result.skipped


@pytest.fixture(scope="module", autouse=True)
def qemu():
    assert shutil.which("qemu-aarch64-static"), \
        "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_spec_script_gives_the_same_counts_on_aarch64(name):
    wast = spectest.TESTSUITE / name
    result = run_file(wast, target="aarch64-linux")
    AARCH64_RESULTS[name] = result
    assert result.error is None, result.error
    failures = [f"{name}:{o.line}: {o.command}: {o.detail}"
                for o in result.outcomes if o.kind == "failed"]
    assert not failures, "\n".join(failures[:20])
    for o in result.outcomes:
        if o.kind == "skipped":
            assert o.detail.startswith(LATER_FEATURES) or "(a tag export)" in o.detail, \
                f"{name}:{o.line}: skipped for a reason that is not a later feature: {o.detail}"
    x86 = NATIVE_RESULTS.get(name) or run_file(wast)
    assert _counts(result) == _counts(x86), \
        f"{name}: aarch64 {_counts(result)} != x86-64 {_counts(x86)} (passed, failed, skipped)"


def test_a_wrong_expectation_fails_on_aarch64(tmp_path):
    """The runner really compares what the aarch64 code computed."""
    script = tmp_path / "wrong.wast"
    script.write_text('(module (func (export "f") (param i32) (result i32) '
                      '(i32.mul (local.get 0) (i32.const 3))))\n'
                      '(assert_return (invoke "f" (i32.const 7)) (i32.const 21))\n'
                      '(assert_return (invoke "f" (i32.const 7)) (i32.const 22))\n'
                      '(assert_trap (invoke "f" (i32.const 1)) "unreachable")\n')
    result = run_file(script, target="aarch64-linux")
    assert [o.kind for o in result.outcomes] == ["passed", "passed", "failed", "failed"]
    assert "expected i32:22, got 21" in result.outcomes[2].detail
    assert "got no trap" in result.outcomes[3].detail


@pytest.mark.parametrize("name", ["linking.wast", "imports.wast", "start.wast", "stack.wast"])
def test_test_executable_for_this_machine_runs_without_qemu(name):
    """`--target` naming this machine: the same executable path, run natively."""
    wast = spectest.TESTSUITE / name
    result = run_file(wast, target=host_code_target().name)
    assert result.error is None and result.failed == 0
    assert _counts(result) == _counts(NATIVE_RESULTS.get(name) or run_file(wast))
