"""The SIMD examples (issue 9, item 7 and its C-program acceptance):
examples/simdblur (wasm_simd128.h intrinsics) and examples/autovec (plain C
that clang vectorizes), built with `zig cc -target wasm32-wasi -O2 -msimd128`,
then by wasmaot for x86-64 (run natively) and aarch64 (under qemu); stdout and
exit code must equal wasmtime's byte for byte.  simdblur's intrinsics must also
print what its plain-C path prints (the same source built without -msimd128):
that checks the lowering against C's own semantics, not only against
wasmtime's."""

from __future__ import annotations

import re
import subprocess

import pytest
from wasi_run import REPO, TARGETS, built_once, outcome, run_exe, run_wasmtime, zig_wasm

from wasmaot.driver.wat import wasm_tools_executable

EXAMPLES = ["simdblur", "autovec"]
# Default sizes, odd sizes that leave vector tails and borders, the smallest
# inputs, and a usage error (exit 2, nothing on stdout).
CASES = {
    "simdblur": [[], ["1001", "77", "3"], ["3", "3", "2"], ["19", "5", "2"], ["2", "9", "1"]],
    "autovec": [[], ["1", "1"], ["1000", "3"], ["4099", "2"], ["0", "1"]],
}
PARAMS = [pytest.param(name, args, target, id=f"{name}-{i}-{target}")
          for name, cases in CASES.items() for i, args in enumerate(cases) for target in TARGETS]
SIMD_INSTR = re.compile(r"\b(?:v128|i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\.[a-z_0-9]+")


def source(name: str):
    return REPO / f"examples/{name}/{name}.c"


@pytest.fixture(scope="session")
def wasms(tmp_path_factory):
    out = tmp_path_factory.mktemp("simd-wasm")
    return {name: zig_wasm(source(name), out / f"{name}.wasm", ("-msimd128",))
            for name in EXAMPLES}


@pytest.fixture(scope="session")
def exes(wasms, tmp_path_factory):
    """exes(name, target): the executable, built once per session."""
    return built_once(wasms, tmp_path_factory.mktemp("simd-exe"))


def simd_instructions(wasm: bytes, tmp_path) -> dict[str, int]:
    path = tmp_path / "m.wasm"
    path.write_bytes(wasm)
    text = subprocess.run([wasm_tools_executable(), "print", str(path)], check=True,
                          capture_output=True, text=True).stdout
    counts: dict[str, int] = {}
    for name in SIMD_INSTR.findall(text):
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_simd_examples_are_vectorized(wasms, tmp_path):
    """Both modules really run SIMD: the intrinsics that simdblur names, and
    vector loops that clang made of autovec's plain C (else the comparisons
    below would test scalar code)."""
    blur = simd_instructions(wasms["simdblur"], tmp_path)
    for name in ("i8x16.swizzle", "i32x4.dot_i16x8_s", "i8x16.narrow_i16x8_u",
                 "i16x8.extend_low_i8x16_u", "i16x8.extadd_pairwise_i8x16_u", "i8x16.shr_u"):
        assert blur.get(name, 0) > 0, (name, blur)
    auto = simd_instructions(wasms["autovec"], tmp_path)
    for name in ("f32x4.mul", "f32x4.add", "i32x4.mul", "v128.load", "v128.store"):
        assert auto.get(name, 0) > 0, (name, auto)


@pytest.mark.parametrize("name,args,target", PARAMS)
def test_simd_example_matches_wasmtime(wasms, exes, tmp_path, name, args, target):
    got = outcome(run_exe(exes(name, target), target, args))
    want = run_wasmtime(wasms[name], args, tmp_path)
    assert got == want
    assert want.code == (2 if args[:1] in (["2"], ["0"]) else 0)


@pytest.mark.parametrize("args", CASES["simdblur"][:4])
def test_simdblur_intrinsics_match_plain_c(exes, tmp_path, args):
    scalar = zig_wasm(source("simdblur"), tmp_path / "scalar.wasm")
    assert "i8x16.swizzle" not in simd_instructions(scalar, tmp_path)
    want = run_wasmtime(scalar, args, tmp_path)
    got = outcome(run_exe(exes("simdblur", "x86_64-linux"), "x86_64-linux", args))
    assert got == want and want.code == 0 and want.stdout.count(b"\n") == 5
