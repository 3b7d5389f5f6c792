"""Relaxed SIMD takes the target's native behaviour by default (issue 9, item 4), and
one fixed choice with --deterministic.

Each case below gives a relaxed instruction inputs on which its allowed results
differ (swizzle indices 16..127, trunc of NaN and 1e10, min/max of NaN and of zeros
of both signs, laneselect masks that are neither all ones nor all zeros,
q15mulr(-32768, -32768), dot products with b's top bit set, madd where fusing
changes the rounding), with two results: `exact` (the non-relaxed counterpart:
portable, aarch64's NEON, and --deterministic) and `x86` (x86-64's instruction:
cvttps2dq, minps/maxps, pshufb, pblendvb/blendvps/blendvpd, pmulhrsw, pmaddubsw).
Which one a build gives is pinned per target and CPU level: an x86 result needs the
x86 feature the case names (SSE2 is every x86-64 CPU; SSSE3 and SSE4.1 come with
x86-64-v2, the default level); madd is fused where the CPU has FMA (x86-64-v3,
every aarch64), except under --deterministic.  The exact rows that got native
instructions (swizzle: pshufb / tbl; q15mulr_sat_s: pmulhrsw / sqrdmulh) are cases
too (and aarch64's trunc_sat_f64x2_*_zero: fcvtz and a saturating narrow), with
one result everywhere.

The x86 results are wasmtime's on this CPU: the same module runs on wasmtime, whose
native engine must agree with `--cpu native` and whose engine without FMA with the
default level.
"""

from __future__ import annotations

import platform
import struct
import subprocess
from dataclasses import dataclass

import pytest

from wasmaot import api
from wasmaot.driver.llvm import check_host_has
from wasmaot.commands.wast import run_file
from wasmaot.driver.wat import wasm_tools_executable
from wasmaot.errors import ToolchainError

X86_HOST = platform.machine() in ("x86_64", "AMD64")


@dataclass(frozen=True)
class Case:
    instr: str
    args: tuple[str, ...]  # v128.const bodies
    exact: str
    x86: str | None = None  # None: the exact result on x86-64 too
    needs: str = "sse2"  # the x86 feature the x86 result needs
    madd: bool = False  # exact = unfused, x86 = fused (by FMA, not by architecture)


A8 = "i8x16 " + " ".join(str(0xA0 + i) for i in range(16))
SWIZZLE_INDEX = "i8x16 16 31 127 128 255 32 5 64 143 17 0 112 111 144 46 3"
SWIZZLE_EXACT = "i8x16 0 0 0 0 0 0 0xa5 0 0 0 0xa0 0 0 0 0 0xa3"
ONES_A, ONES_B = "i8x16 " + " ".join(["0xaa"] * 16), "i8x16 " + " ".join(["0x55"] * 16)
Q15_A, Q15_B = "i16x8 -32768 100 -32768 1 0 0 0 0", "i16x8 -32768 200 32767 1 0 0 0 0"
# a's lanes, b's lanes (pairs: b's top bit set in pairs 0, 1, 2, 4 and 7)
DOT_A = "i8x16 -128 -128 127 127 -1 -1 1 2 127 127 -128 -128 0 0 3 4"
DOT_B = "i8x16 -127 -127 -128 -128 -1 -1 127 127 -1 -1 127 127 9 9 -2 5"

CASES = (
    Case("i8x16.relaxed_swizzle", (A8, SWIZZLE_INDEX), SWIZZLE_EXACT,
         "i8x16 0xa0 0xaf 0xaf 0 0 0xa0 0xa5 0xa0 0 0xa1 0xa0 0xa0 0xaf 0 0xae 0xa3", "ssse3"),
    Case("i8x16.swizzle", (A8, SWIZZLE_INDEX), SWIZZLE_EXACT),
    Case("i32x4.relaxed_trunc_f32x4_s", ("f32x4 nan 1e10 -1e10 -2.5",),
         "i32x4 0 0x7fffffff 0x80000000 -2", "i32x4 0x80000000 0x80000000 0x80000000 -2"),
    Case("i32x4.relaxed_trunc_f32x4_u", ("f32x4 nan 1e10 -1 3e9",),
         "i32x4 0 0xffffffff 0 3000000000"),
    Case("i32x4.relaxed_trunc_f64x2_s_zero", ("f64x2 nan 1e10",),
         "i32x4 0 0x7fffffff 0 0", "i32x4 0x80000000 0x80000000 0 0"),
    Case("i32x4.relaxed_trunc_f64x2_u_zero", ("f64x2 nan 1e10",), "i32x4 0 0xffffffff 0 0"),
    Case("i32x4.trunc_sat_f64x2_s_zero", ("f64x2 -1e10 -2.5",), "i32x4 0x80000000 -2 0 0"),
    Case("i32x4.trunc_sat_f64x2_u_zero", ("f64x2 -1.5 3e9",), "i32x4 0 3000000000 0 0"),
    Case("f32x4.relaxed_min", ("f32x4 0 -0 nan 1", "f32x4 -0 0 1 nan"),
         "f32x4 -0 -0 nan:canonical nan:canonical", "f32x4 0 -0 nan:canonical 1"),
    Case("f32x4.relaxed_max", ("f32x4 0 -0 nan 1", "f32x4 -0 0 1 nan"),
         "f32x4 0 0 nan:canonical nan:canonical", "f32x4 0 -0 nan:canonical 1"),
    Case("f64x2.relaxed_min", ("f64x2 0 1", "f64x2 -0 nan"), "f64x2 -0 nan:canonical",
         "f64x2 0 1"),
    Case("f64x2.relaxed_max", ("f64x2 -0 1", "f64x2 0 nan"), "f64x2 0 nan:canonical",
         "f64x2 -0 1"),
    Case("i8x16.relaxed_laneselect",
         (ONES_A, ONES_B, "i8x16 0x80 0x7f 0xff 0 0x81 1 0xf0 0x0f 0xc3 0x3c 0x80 0x7f 0xff 0 0x40 0xbf"),
         "i8x16 0xd5 0x2a 0xaa 0x55 0xd4 0x54 0xa5 0x5a 0x96 0x69 0xd5 0x2a 0xaa 0x55 0x15 0xea",
         "i8x16 0xaa 0x55 0xaa 0x55 0xaa 0x55 0xaa 0x55 0xaa 0x55 0xaa 0x55 0xaa 0x55 0x55 0xaa",
         "sse4.1"),
    # x86 has no 16-bit blendv: bitselect everywhere.
    Case("i16x8.relaxed_laneselect",
         (ONES_A, ONES_B, "i16x8 0x8000 0x7fff 0xffff 0 0xff 0xff00 1 0x8001"),
         "i16x8 0xd555 0x2aaa 0xaaaa 0x5555 0x55aa 0xaa55 0x5554 0xd554"),
    Case("i32x4.relaxed_laneselect",
         (ONES_A, ONES_B, "i32x4 0x80000000 0x7fffffff 0xffffffff 0xffff"),
         "i32x4 0xd5555555 0x2aaaaaaa 0xaaaaaaaa 0x5555aaaa",
         "i32x4 0xaaaaaaaa 0x55555555 0xaaaaaaaa 0x55555555", "sse4.1"),
    Case("i64x2.relaxed_laneselect",
         (ONES_A, ONES_B, "i64x2 0x8000000000000000 0x7fffffffffffffff"),
         "i64x2 0xd555555555555555 0x2aaaaaaaaaaaaaaa",
         "i64x2 0xaaaaaaaaaaaaaaaa 0x5555555555555555", "sse4.1"),
    Case("i16x8.relaxed_q15mulr_s", (Q15_A, Q15_B), "i16x8 32767 1 -32767 0 0 0 0 0",
         "i16x8 -32768 1 -32767 0 0 0 0 0", "ssse3"),
    Case("i16x8.q15mulr_sat_s", (Q15_A, Q15_B), "i16x8 32767 1 -32767 0 0 0 0 0"),
    Case("i16x8.relaxed_dot_i8x16_i7x16_s", (DOT_A, DOT_B),
         "i16x8 32512 -32512 2 381 -254 -32512 0 14",
         "i16x8 -32768 32512 -510 381 32767 -32512 0 782", "ssse3"),
    Case("i32x4.relaxed_dot_i8x16_i7x16_add_s", (DOT_A, DOT_B, "i32x4 1 2 3 4"),
         "i32x4 1 385 -32763 18", "i32x4 -255 -127 258 786", "ssse3"),
    # (1 + 2^-23)(1 - 2^-23) - 1 = -2^-46 exactly; rounded first, the product is 1.
    Case("f32x4.relaxed_madd", ("f32x4 0x1.000002p+0 1 1 1", "f32x4 0x1.fffffcp-1 1 1 1",
                                "f32x4 -1 0 0 0"),
         "f32x4 0 1 1 1", "f32x4 -0x1p-46 1 1 1", madd=True),
    Case("f32x4.relaxed_nmadd", ("f32x4 0x1.000002p+0 1 1 1", "f32x4 0x1.fffffcp-1 1 1 1",
                                 "f32x4 1 0 0 0"),
         "f32x4 0 -1 -1 -1", "f32x4 0x1p-46 -1 -1 -1", madd=True),
    Case("f64x2.relaxed_madd", ("f64x2 0x1.0000000000001p+0 2", "f64x2 0x1.ffffffffffffep-1 3",
                                "f64x2 -1 1"),
         "f64x2 0 7", "f64x2 -0x1p-104 7", madd=True),
    Case("f64x2.relaxed_nmadd", ("f64x2 0x1.0000000000001p+0 2", "f64x2 0x1.ffffffffffffep-1 3",
                                 "f64x2 1 1"),
         "f64x2 0 -5", "f64x2 0x1p-104 -5", madd=True),
)

# What the test assumes each level has (the psABI levels), independently of driver/cpu.py.
X86_LEVEL_FEATURES = {"baseline": {"sse2"}, "default": {"sse2", "ssse3", "sse4.1"},
                      "x86-64-v2": {"sse2", "ssse3", "sse4.1"},
                      "x86-64-v3": {"sse2", "ssse3", "sse4.1", "fma"}}


def expected(case: Case, arch: str, cpu: str, deterministic: bool) -> str:
    if case.madd:
        fused = not deterministic and (arch == "aarch64" or "fma" in X86_LEVEL_FEATURES[cpu])
        return case.x86 if fused else case.exact
    if deterministic or arch != "x86_64" or case.x86 is None:
        return case.exact
    return case.x86 if case.needs in X86_LEVEL_FEATURES[cpu] else case.exact


def module_text() -> str:
    funcs = []
    for i, case in enumerate(CASES):
        params = " ".join(["v128"] * len(case.args))
        body = " ".join(f"(local.get {k})" for k in range(len(case.args)))
        funcs.append(f'  (func (export "c{i}") (param {params}) (result v128) '
                     f"({case.instr} {body}))")
    return "(module\n" + "\n".join(funcs) + "\n)"


def script(arch: str, cpu: str, deterministic: bool) -> str:
    """The cases' module, and one assert_return per case with the result this
    build must give; the inputs are parameters, so nothing is folded."""
    lines = [module_text()]
    for i, case in enumerate(CASES):
        args = " ".join(f"(v128.const {a})" for a in case.args)
        want = expected(case, arch, cpu, deterministic)
        lines.append(f';; {case.instr}\n(assert_return (invoke "c{i}" {args}) (v128.const {want}))')
    return "\n".join(lines) + "\n"


# (target or None for in process, --cpu level, --deterministic)
BUILDS = [
    (None, "default", False), (None, "baseline", False), (None, "x86-64-v3", False),
    ("x86_64-linux", "default", False), ("x86_64-linux", "baseline", False),
    ("aarch64-linux", "default", False), ("aarch64-linux", "aarch64-v8.2", False),
    (None, "default", True), (None, "x86-64-v3", True), ("aarch64-linux", "default", True),
]


def _build_id(build) -> str:
    target, cpu, det = build
    return f"{target or 'in-process'}-{cpu}" + ("-deterministic" if det else "")


@pytest.mark.parametrize("build", BUILDS, ids=[_build_id(b) for b in BUILDS])
def test_each_relaxed_row_gives_the_pinned_choice_of_its_target_and_level(build, tmp_path):
    target, cpu, deterministic = build
    if target is None and not X86_HOST:
        pytest.skip("the in-process cases are written for an x86-64 host")
    if target is None:
        try:
            check_host_has(cpu)
        except ToolchainError as e:
            pytest.skip(f"this CPU cannot run --cpu {cpu}: {e}")
    arch = (target or "x86_64-linux").split("-")[0]
    path = tmp_path / "relaxed.wast"
    path.write_text(script(arch, cpu, deterministic))
    result = run_file(path, target=target, cpu=cpu, deterministic=deterministic)
    assert result.error is None, result.error
    failures = [f"{o.line}: {o.detail}" for o in result.outcomes if o.kind != "passed"]
    assert not failures, failures
    assert (result.passed, result.failed, result.skipped) == (1 + len(CASES), 0, 0)  # + module


def test_deterministic_results_are_the_same_on_both_targets():
    """The pinned --deterministic results do not depend on the target or level."""
    for cpu in X86_LEVEL_FEATURES:
        assert script("x86_64", cpu, True) == script("aarch64", "default", True)


# --- wasmtime, the reference ------------------------------------------------------------

def _wasm() -> bytes:
    return subprocess.run([wasm_tools_executable(), "parse", "-"], input=module_text().encode(),
                          capture_output=True, check=True).stdout


def _v128(text: str) -> int:
    """A v128.const body (no NaN patterns) as an unsigned 128-bit int."""
    shape, *lanes = text.split()
    fmt = {"i8x16": "B", "i16x8": "H", "i32x4": "I", "i64x2": "Q", "f32x4": "f", "f64x2": "d"}[shape]
    if fmt in "fd":
        values = [float.fromhex(x) if "0x" in x else float(x) for x in lanes]
    else:
        bits = struct.calcsize(fmt) * 8
        values = [int(x, 0) % (1 << bits) for x in lanes]
    return int.from_bytes(struct.pack(f"<{len(values)}{fmt}", *values), "little")


def _wasmtime_results(wasm: bytes, engine_kind: str) -> list[int]:
    import wasmtime

    from tools.diff_farm import harness, wasmtime_raw

    engine = harness._wasmtime_engine(engine_kind)
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, wasm), [])
    exports = instance.exports(store)
    return [wasmtime_raw.call(store, exports[f"c{i}"], ("v128",) * len(c.args), ("v128",),
                               [_v128(a) for a in c.args])[0] for i, c in enumerate(CASES)]


def _wasmaot_results(wasm: bytes, cpu: str) -> list[int]:
    instance = api.compile(wasm, cpu=cpu).instantiate()
    return [instance.exports[f"c{i}"](*[_v128(a) for a in c.args]) for i, c in enumerate(CASES)]


# wasmaot's level, and the wasmtime engine (tools/diff_farm/harness.py) that must agree.
WASMTIME_PAIRS = [("native", "native"), ("default", "no-fma")]


@pytest.mark.parametrize("cpu,engine", WASMTIME_PAIRS)
def test_x86_native_choices_are_wasmtimes_on_this_cpu(cpu, engine, tmp_path):
    if not X86_HOST:
        pytest.skip("wasmtime's x86-64 choices can be compared on an x86-64 host only")
    wasm = _wasm()
    ours, theirs = _wasmaot_results(wasm, cpu), _wasmtime_results(wasm, engine)
    differ = [f"{c.instr}: wasmaot {a:032x} wasmtime {b:032x}"
              for c, a, b in zip(CASES, ours, theirs) if a != b]
    assert not differ, differ


def test_api_cache_keeps_cpu_levels_apart(tmp_path, monkeypatch):
    """The same module at two levels is two cached objects with different relaxed
    results (the cache key has the level, and so the native choices)."""
    if not X86_HOST:
        pytest.skip("x86-64 levels can be run on an x86-64 host only")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    wasm = _wasm()
    v2, baseline = api.compile(wasm), api.compile(wasm, cpu="baseline")
    assert v2.path != baseline.path
    swizzle = CASES.index(next(c for c in CASES if c.instr == "i8x16.relaxed_swizzle"))
    args = [_v128(a) for a in CASES[swizzle].args]
    results = [m.instantiate().exports[f"c{swizzle}"](*args) for m in (v2, baseline)]
    assert results == [_v128(CASES[swizzle].x86), _v128(CASES[swizzle].exact)]
