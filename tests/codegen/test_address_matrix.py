"""Issue 8, item 1: no memory access escapes its memory, whatever the offset and
address (0 .. 2^64-1), for every memarg instruction and bulk instruction, at
every -O level, with guard pages and explicit checks, in this process (the
embedding API) and in test executables for x86-64 and aarch64 (qemu).

Expectations come from wasmtime, run on the same calls (address_matrix.py).  The
runs happen in child processes: on the bug they pinned (an offset of 2^64 - k
reaching k bytes below the memory base) the process dies of SIGSEGV.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

import address_matrix
from wasmaot.commands.wast import run_file


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    path = tmp_path_factory.mktemp("matrix") / "address_matrix.wast"
    return path, address_matrix.write_script(path)


def _expect_all_passed(summary: str, assertions: int) -> None:
    m = re.search(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", summary, re.MULTILINE)
    assert m, summary[-2000:]
    passed, failed, skipped = map(int, m.groups())
    # Every assertion passes, plus the two module definitions.
    assert (passed, failed, skipped) == (assertions + 2, 0, 0), summary[-2000:]


def test_the_matrix_holds_the_issue_repros(matrix):
    text = matrix[0].read_text()
    repro = '(assert_trap (invoke "i64.load offset=18446744073709551608" (i64.const 0))'
    assert repro in text and '(invoke "i64.load offset=18446744073709551608" (i64.const 16))' in text
    assert '(invoke "i64.store offset=18446744073709551608" (i64.const 16))' in text
    assert matrix[1] > 5000


@pytest.mark.parametrize("bounds", ["guard", "explicit"])
@pytest.mark.parametrize("opt", [0, 1, 2, 3])
def test_no_access_escapes_in_process(matrix, opt, bounds):
    path, assertions = matrix
    proc = subprocess.run(
        [sys.executable, "-m", "wasmaot", "wast", f"-O{opt}", "--bounds-checks", bounds, "-v",
         str(path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    _expect_all_passed(proc.stdout, assertions)


@pytest.mark.parametrize("bounds", ["guard", "explicit"])
@pytest.mark.parametrize("opt", [0, 2])
@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
def test_no_access_escapes_in_executables(matrix, target, opt, bounds):
    if target == "aarch64-linux":
        assert shutil.which("qemu-aarch64-static"), "make test installs qemu-user-static"
    path, assertions = matrix
    result = run_file(path, opt_level=opt, target=target,
                      explicit_bounds_checks=bounds == "explicit")
    assert result.error is None, result.error
    failures = [f"{o.line}: {o.command}: {o.detail}" for o in result.outcomes if o.kind != "passed"]
    assert not failures, "\n".join(failures[:20])
    assert result.passed == assertions + 2


def test_a_memarg_handler_that_skips_the_bounds_check_is_refused():
    """module.py accepts memarg handlers only from memory.memarg_access, so a new
    memory instruction cannot compute its own (unchecked) pointer."""
    from wasmaot.codegen import module

    handlers = dict(module.HANDLERS)
    handlers["i32.load"] = lambda fx, op, imms: None
    with pytest.raises(AssertionError, match="i32.load: memarg handler not made by memarg_access"):
        module._check_memarg_handlers(handlers)
    module._check_memarg_handlers(module.HANDLERS)
