"""Code is tuned for every CPU of its --cpu level, not for the one LLVM names it after.

LLVM's x86-64-v2/v3/v4 CPUs carry the tuning of Sandy Bridge, Haswell and
Skylake-AVX512, under which a rotate by a constant is `shld $k, %r, %r`: one
cheap instruction on those Intel cores, several micro-ops with a longer latency
on AMD Zen, where xxHash's XXH32 ran 21% slower for it.  Every function carries
"tune-cpu"="generic" on x86-64 (driver/cpu.py X86_TUNE), clang's default tuning:
rotates are `rol`/`ror` (`rorx` with BMI2) at every level.
"""

from __future__ import annotations

import re

import pytest
from wat_compile import compiled_text

from wasmaot.driver import cpu

# XXH32's round: multiply, add, rotate by 13, multiply (the loop that paid for shld).
ROUNDS = """(module
  (func (export "round") (param i32 i32) (result i32)
    (i32.mul (i32.rotl (i32.add (local.get 0) (i32.mul (local.get 1) (i32.const -2048144777)))
                       (i32.const 13))
             (i32.const -1640531535)))
  (func (export "round64") (param i64 i64) (result i64)
    (i64.mul (i64.rotl (i64.add (local.get 0) (i64.mul (local.get 1) (i64.const -4417276706812531889)))
                       (i64.const 31))
             (i64.const -7046029288634856825))))"""

X86_LEVELS = [lv.name for lv in cpu.LEVELS if lv.arch == "x86_64"]


def _asm(wat: str, level: str, target: str = "x86_64-linux", output: str = "asm") -> str:
    return compiled_text(wat, output, target=target, opt_level=2, cpu=level)


@pytest.mark.parametrize("level", X86_LEVELS)
def test_x86_rotates_by_a_constant_are_rol_at_every_level(level):
    asm = _asm(ROUNDS, level)
    assert not re.search(r"\bshld", asm), f"{level}: a rotate became shld"
    assert len(re.findall(r"\b(rol|ror|rorx)[lq]?\b", asm)) >= 2, asm


@pytest.mark.parametrize("level", X86_LEVELS)
def test_every_function_is_tuned_generic_on_x86(level):
    ir = _asm(ROUNDS, level, output="llvm-ir")
    groups = dict(re.findall(r"^attributes (#\d+) = \{(.*)\}$", ir, re.M))
    defines = re.findall(r"^define [^\n]*\) (#\d+)", ir, re.M)
    assert defines
    for group in defines:
        assert '"tune-cpu"="generic"' in groups[group], (group, groups[group])


def test_native_and_aarch64_levels_keep_their_own_cpu():
    """--cpu native tunes for this machine (LLVM's own CPU name, no override), and
    the aarch64 levels are LLVM's "generic" CPU already."""
    assert all(lv.llvm_tune == "" for lv in cpu.LEVELS if lv.arch == "aarch64")
    host = cpu.resolve("x86_64", "native", host_arch="x86_64", host=("znver4", {}))
    assert host.llvm_tune == ""
    ir = _asm(ROUNDS, "default", target="aarch64-linux", output="llvm-ir")
    assert "tune-cpu" not in ir
