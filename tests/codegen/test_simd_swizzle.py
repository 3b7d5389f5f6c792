"""i8x16.swizzle: exact on every index byte, and one byte shuffle where the CPU
has one.

The portable lowering (simd.py `_swizzle`, also relaxed_swizzle's there) is
written as the pattern LLVM's x86 backend matches as a variable permute; a
select per lane hides it and costs ~130 instructions per swizzle, which made the
swizzle loops of examples/simdblur slower than wasmtime's.  The targets' native
tables (simd.NATIVE_CHOICES) use the byte shuffle directly: x86-64 with SSSE3
pshufb of the index plus 0x70 (saturating), aarch64 tbl (0 for an index >= 16,
exactly swizzle).  The spec files check the values; these tests check them on
every index class (0-15, 16-127, 128-255) at -O0/-O2 on the host CPU and the
SSE2 baseline, and pin the instruction selection."""

from __future__ import annotations

import ctypes
import platform
import random

import pytest
from numeric_harness import Jit, TestSink, module_text

from wasmaot.codegen import simd
from wasmaot.driver.llvm import compile_ir
from wasmaot.driver.targets import CodeTarget, code_target

OPS = ("i8x16.swizzle", "i8x16.relaxed_swizzle")


PORTABLE = simd.PORTABLE
X86_SSSE3 = ("x86_64", frozenset({"ssse3"}))
AARCH64 = ("aarch64", frozenset())


def swizzle_function(op: str, table=PORTABLE) -> str:
    """void swz(const u8 a[16], const u8 s[16], u8 out[16]), lowered by the
    `simd.NATIVE_HANDLERS` table `table`."""
    decls: dict = {}
    sink = TestSink(decls)
    sink.emit("%va = load <2 x i64>, ptr %a, align 1")
    sink.emit("%vs = load <2 x i64>, ptr %s, align 1")
    (r,) = simd.NATIVE_HANDLERS[table][op](sink, ["%va", "%vs"], ())
    sink.emit(f"store <2 x i64> {r}, ptr %out, align 1")
    body = "\n".join(sink.lines)
    fn = f"define void @swz(ptr %a, ptr %s, ptr %out) {{\n{body}\n  ret void\n}}\n"
    return module_text([fn], decls)


def expected(a: bytes, s: bytes) -> bytes:
    return bytes(a[i] if i < 16 else 0 for i in s)


def index_vectors() -> list[bytes]:
    """Every index class in every lane: in range, just out (16, 127), with the
    top bit set (128, 255: pshufb zeroes on it, tbl on >= 16), and random."""
    rng = random.Random(9)
    fixed = [bytes(range(16)), bytes(range(15, -1, -1)), bytes([16] * 16), bytes([255] * 16),
             bytes([15, 16, 127, 128, 255, 0, 31, 32, 143, 240, 1, 17, 129, 14, 30, 254])]
    return fixed + [bytes(rng.choice((rng.randrange(16), rng.randrange(256)))
                          for _ in range(16)) for _ in range(300)]


# (opt level, CPU or None for the host's, table): each table on a CPU it is for.
BUILDS = [(0, None, PORTABLE), (2, None, PORTABLE)]
if platform.machine() in ("x86_64", "AMD64"):
    BUILDS += [(0, "x86-64", PORTABLE), (2, "x86-64", PORTABLE),  # SSE2 only: no pshufb
               (0, "x86-64-v2", X86_SSSE3), (2, "x86-64-v2", X86_SSSE3)]
elif platform.machine() in ("aarch64", "arm64"):
    BUILDS += [(0, None, AARCH64), (2, None, AARCH64)]


# relaxed_swizzle's native choices are not exact (pshufb picks a lane for an index
# 16-127): test_relaxed_native.py pins them.
CASES = [(op, *build) for op in OPS for build in BUILDS
         if op == "i8x16.swizzle" or build[2] == PORTABLE]


@pytest.mark.parametrize("op,opt,cpu,table", CASES,
                         ids=[f"{op}-O{o}-{c or 'host'}-{t[0] or 'portable'}" for op, o, c, t in CASES])
def test_swizzle_selects_lane_or_zero(op, opt, cpu, table):
    jit = Jit(swizzle_function(op, table), opt, cpu)
    fn = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)(
        jit.address("swz"))
    a = bytes(range(0xA0, 0xB0))
    out = ctypes.create_string_buffer(16)
    bad = []
    for s in index_vectors():
        fn(a, s, out)
        if out.raw != expected(a, s):
            bad.append(f"s={s.hex()}: {out.raw.hex()} != {expected(a, s).hex()}")
    assert not bad, f"{len(bad)} wrong, e.g. " + "; ".join(bad[:4])


def assembly(target: str, cpu: str, table=PORTABLE) -> str:
    """`swz` at -O2 for the LLVM CPU `cpu` of `target`, as the production back end
    compiles it."""
    t = code_target(target)
    return compile_ir(swizzle_function("i8x16.swizzle", table),
                      CodeTarget(t.name, t.triple, cpu, ""), 2, output="asm").decode()


@pytest.mark.parametrize("cpu", ["x86-64-v2", "x86-64-v3"])
def test_swizzle_is_one_pshufb_with_ssse3(cpu):
    asm = assembly("x86_64-linux", cpu)
    shuffles = asm.count("pshufb")  # vpshufb on v3
    per_lane = sum(asm.count(m) for m in ("pextrb", "pinsrb", "movzbl", "movb"))
    assert (shuffles, per_lane) == (1, 0), asm


def _computation(asm: str) -> list[str]:
    """The mnemonics of `swz`'s body but loads, stores, moves and the return."""
    body = asm[asm.index("swz:"):asm.index(".Lfunc_end")]
    ops = [line.split()[0] for line in body.splitlines()[1:]
           if line.strip() and not line.strip().startswith((".", "#", "//"))]
    return [op for op in ops if not op.startswith(("mov", "ld", "st", "ret", "adrp"))]


def test_native_swizzle_is_a_saturating_add_and_pshufb_on_x86_64_v2():
    ops = _computation(assembly("x86_64-linux", "x86-64-v2", X86_SSSE3))
    assert ops == ["paddusb", "pshufb"], ops


def test_native_swizzle_is_one_tbl_on_aarch64():
    ops = _computation(assembly("aarch64-linux", "generic", AARCH64))
    assert ops == ["tbl"], ops
