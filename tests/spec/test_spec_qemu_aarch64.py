"""The spec scripts on aarch64 (issue 4, item 9): `wasmaot wast --target
aarch64-linux` compiles each script's modules for aarch64, links them into one
test executable and runs it under qemu-user.  Every file that
test_spec_native.py runs must give the same passed/failed/known/skipped counts
as on x86-64 in this process, with no failure but those listed in
known_failures.txt.  Totals are printed at the end of the run (see conftest.py).
"""

from __future__ import annotations

import shutil

import pytest

import spectest
from test_spec_native import NATIVE_RESULTS, SCRIPTS, judge, run_script
from wasmaot.driver.targets import host_code_target
from wasmaot.commands.wast import run_file

AARCH64_RESULTS: dict = {}


def _native_run(name: str):
    """This session's x86-64 run of `name`, or a new one."""
    run = NATIVE_RESULTS.get(name)
    if isinstance(run, spectest.ScriptRun):
        return run
    return judge(name, run_script(name, {}), {})


@pytest.fixture(scope="module", autouse=True)
def qemu():
    assert shutil.which("qemu-aarch64-static"), \
        "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"


@pytest.mark.parametrize("name", SCRIPTS)
def test_spec_script_gives_the_same_counts_on_aarch64(name):
    run = judge(name, run_script(name, AARCH64_RESULTS, target="aarch64-linux"),
                AARCH64_RESULTS)
    x86 = _native_run(name)
    assert run.counts == x86.counts, \
        f"{name}: aarch64 {run.counts} != x86-64 {x86.counts} (passed, failed, known, skipped)"


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


# The import checks run in the test executable's C runtime alone (the embedding
# API checks function imports in Python first): exact-func-import.wast and
# threads/imports.wast pin its exact-function and shared-memory rules.
@pytest.mark.parametrize("name", ["linking.wast", "imports.wast", "start.wast", "stack.wast",
                                  "proposals/custom-descriptors/exact-func-import.wast",
                                  "proposals/threads/imports.wast"])
def test_test_executable_for_this_machine_runs_without_qemu(name):
    """`--target` naming this machine: the same executable path, run natively."""
    run = judge(name, run_script(name, {}, target=host_code_target().name), {})
    assert run.counts == _native_run(name).counts
