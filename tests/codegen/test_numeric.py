"""Every numeric lowering, run natively and compared with wasmtime.

Each instruction's IR is wrapped in a C-callable function, compiled by the
production back end into a shared object (all instructions of a batch in one
module, compiled once per opt level and CPU) and called on edge values and seeded random values; wasmtime computes the
expected outcome.  NaN results follow the spec's `nans` rule rather than
wasmtime's payloads, except for the pure bit operations.  See
`numeric_harness.py` for the plumbing.
"""

from __future__ import annotations

import itertools
import platform
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numeric_harness import (EDGES, SMALL_EDGES, Jit, Reference, RuntimeOp, TestSink, f32_bits,
                             f64_bits, is_arithmetic_nan, mask, mismatch, module_text,
                             random_bits, run_cases, constant_cases_function, runtime_function)
from wasmaot.codegen import numeric
from wasmaot.driver.llvm import compile_ir
from wasmaot.driver.targets import code_target
from wasmaot.wasm.opcodes import BY_NAME, OPCODES

CONST_OPS = ("i32.const", "i64.const", "f32.const", "f64.const")
OPS = sorted(numeric.NUMERIC_OPS - set(CONST_OPS))
BINARY_OPS = [n for n in OPS if len(BY_NAME[n].params) == 2]
RANDOM_CASES = 150


def test_covers_exactly_the_numeric_rows_of_the_opcode_table():
    proposals = {"mvp", "sign_extension", "saturating_float_to_int", "wide_arithmetic"}
    expected = {op.name for op in OPCODES
                if op.proposal in proposals and op.params is not None and op.results
                and "a" not in op.params + op.results}
    assert numeric.NUMERIC_OPS == expected
    assert set(numeric.HANDLERS) == expected
    assert len(expected) == 144  # 127 MVP + 5 sign extension + 8 saturating + 4 wide


# --- compiled batches, shared by the tests of this file ---------------------------------

_JITS: dict = {}


def jit_ops(opt: int, cpu: str | None = None) -> dict:
    """name -> RuntimeOp for every non-const op, compiled at `opt` for `cpu` (None:
    the host's), built once."""
    if (opt, cpu) not in _JITS:
        decls, functions, ptypes = {}, [], {}
        for i, name in enumerate(OPS):
            text, ptypes[name] = runtime_function(f"op{i}", name, decls)
            functions.append(text)
        jit = Jit(module_text(functions, decls), opt, cpu)
        _JITS[opt, cpu] = {
            name: RuntimeOp(jit, f"op{i}", ptypes[name], BY_NAME[name].results)
            for i, name in enumerate(OPS)}
    return _JITS[opt, cpu]


@pytest.fixture(scope="module")
def reference():
    return Reference(OPS)


def _inputs(name: str) -> list:
    """Edge values (all pairs for binary ops) and seeded random operand vectors."""
    params = BY_NAME[name].params
    if len(params) <= 2:
        cases = list(itertools.product(*(EDGES[t] for t in params)))
    else:  # i64.add128/sub128: edge quadruples would be too many; take a sample
        rng = random.Random(name + "edges")
        cases = [tuple(rng.choice(EDGES[t]) for t in params) for _ in range(2000)]
    rng = random.Random(name)
    cases += [tuple(random_bits(rng, t) for t in params) for _ in range(RANDOM_CASES)]
    return cases


def _check(name, fn, reference, cases):
    bad = []
    for bits in cases:
        why = mismatch(name, bits, fn(*bits), reference(name, bits))
        if why:
            bad.append(f"{name}({', '.join(hex(b) for b in bits)}): {why}")
    assert not bad, f"{len(bad)} mismatches, e.g.:\n" + "\n".join(bad[:12])


# (IR opt level, CPU): the host's CPU at both levels, and on x86-64 also the baseline
# CPU (SSE2 only: other instruction sequences, and libm calls for rounding).
BUILDS = [(0, None), (2, None)]
if platform.machine() in ("x86_64", "AMD64"):
    BUILDS.append((2, "x86-64"))


@pytest.mark.parametrize("opt, cpu", BUILDS,
                         ids=[f"O{opt}-{cpu or 'host'}" for opt, cpu in BUILDS])
@pytest.mark.parametrize("name", OPS)
def test_op_matches_wasmtime(name, opt, cpu, reference):
    _check(name, jit_ops(opt, cpu)[name], reference, _inputs(name))


class _LazyReference:
    """The hypothesis test cannot take a module-scoped fixture; share one lazily."""
    ref = None

    def __call__(self, name, bits):
        if self.ref is None:
            self.ref = Reference(OPS)
        return self.ref(name, bits)


_REFERENCE = _LazyReference()


_operand = {t: st.one_of(st.sampled_from(EDGES[t]), st.integers(0, (1 << w) - 1))
            for t, w in (("i32", 32), ("i64", 64))}
_operand["f32"] = st.one_of(st.sampled_from(EDGES["f32"]), st.integers(0, (1 << 32) - 1),
                            st.floats(width=32).map(f32_bits))
_operand["f64"] = st.one_of(st.sampled_from(EDGES["f64"]), st.integers(0, (1 << 64) - 1),
                            st.floats().map(f64_bits))


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.sampled_from(OPS).flatmap(
    lambda n: st.tuples(st.just(n), st.tuples(*(_operand[t] for t in BY_NAME[n].params)))))
def test_random_operands_match_wasmtime(case):
    name, bits = case
    ours = jit_ops(2)[name](*bits)
    ref = _REFERENCE(name, bits)
    assert mismatch(name, bits, ours, ref) is None


# --- constants -------------------------------------------------------------------------------

def test_constants_are_bit_exact():
    """Const immediates (signed ints; float bit patterns, signalling NaNs included)
    come out unchanged, with and without the optimizer."""
    imms = {
        "i32.const": [0, 1, -1, -(2**31), 2**31 - 1, 12345],
        "i64.const": [0, 1, -1, -(2**63), 2**63 - 1, -(2**40) + 7],
        "f32.const": EDGES["f32"],
        "f64.const": EDGES["f64"],
    }
    for opt in (0, 2):
        decls = {}
        functions = [constant_cases_function(f"c{i}", name, decls, imms[name], imms_cases=True)
                     for i, name in enumerate(CONST_OPS)]
        jit = Jit(module_text(functions, decls), opt)
        for i, name in enumerate(CONST_OPS):
            ty = BY_NAME[name].results[0]
            got = run_cases(jit, f"c{i}", (ty,), len(imms[name]))
            assert got == [(None, (mask(v, ty),)) for v in imms[name]], (name, opt)


def test_int_const_is_a_literal():
    sink = TestSink({})
    assert numeric.lower(sink, "i32.const", [], (-5,)) == ["-5"]
    assert numeric.lower(sink, "i64.const", [], (2**63 - 1,)) == [str(2**63 - 1)]
    assert sink.lines == []


# --- the optimizer must not change results --------------------------------------------------
# LLVM folds with constants and repeated operands; these run under the -O2 pipeline.

def _constant_cases(name):
    params = BY_NAME[name].params
    if len(params) <= 2:
        return list(itertools.product(*(SMALL_EDGES[t] for t in params)))
    return list(itertools.product(*(SMALL_EDGES[t][:3] for t in params)))


def test_constant_operands_under_O2(reference):
    """All operands constant: whatever LLVM folds must equal the runtime result."""
    decls, functions = {}, []
    for i, name in enumerate(OPS):
        functions.append(constant_cases_function(f"k{i}", name, decls, _constant_cases(name)))
    jit = Jit(module_text(functions, decls), 2)
    bad = []
    for i, name in enumerate(OPS):
        cases = _constant_cases(name)
        for bits, ours in zip(cases, run_cases(jit, f"k{i}", BY_NAME[name].results, len(cases))):
            why = mismatch(name, bits, ours, reference(name, bits))
            if why:
                bad.append(f"{name}({', '.join(hex(b) for b in bits)}): {why}")
    assert not bad, f"{len(bad)} mismatches, e.g.:\n" + "\n".join(bad[:12])


def _mixed_variants(name):
    """(label, operands) with one constant and one runtime operand, and x op x."""
    a, b = BY_NAME[name].params
    out = [(f"[x, {c:#x}]", [("param", 0), ("const", c)]) for c in SMALL_EDGES[b]]
    out += [(f"[{c:#x}, x]", [("const", c), ("param", 0)]) for c in SMALL_EDGES[a]]
    if a == b:
        out.append(("[x, x]", [("param", 0), ("param", 0)]))
    return out


@pytest.fixture(scope="module")
def mixed_jit():
    """name -> [(label, operands, RuntimeOp)] for every binary op, under -O2."""
    decls, functions, meta = {}, [], []
    for name in BINARY_OPS:
        for label, operands in _mixed_variants(name):
            fname = f"m{len(meta)}"
            text, ptypes = runtime_function(fname, name, decls, operands)
            functions.append(text)
            meta.append((name, label, operands, fname, ptypes))
    jit = Jit(module_text(functions, decls), 2)
    out = {name: [] for name in BINARY_OPS}
    for name, label, operands, fname, ptypes in meta:
        out[name].append((label, operands, RuntimeOp(jit, fname, ptypes, BY_NAME[name].results)))
    return out


@pytest.mark.parametrize("name", BINARY_OPS)
def test_one_constant_operand_under_O2(name, mixed_jit, reference):
    """x * 1.0, x + -0.0, x - 0.0, min(x, x), ... with signalling NaNs among x:
    the folds LLVM would do if it saw the constants must not happen."""
    for label, operands, fn in mixed_jit[name]:
        (ty,) = fn.ptypes
        for x in SMALL_EDGES[ty] + EDGES[ty][::4]:
            bits = tuple(x if kind == "param" else c for kind, c in operands)
            why = mismatch(name, bits, fn(x), reference(name, bits))
            assert why is None, f"{name}{label} x={x:#x}: {why}"


def test_demote_of_promote_quiets_a_signalling_nan_under_O2():
    """float_exprs.wast `no_fold_promote_demote`: fptrunc(fpext x) must not become x."""
    decls = {}
    sink = TestSink(decls)
    sink.emit("%x = bitcast i32 %a0 to float")
    (wide,) = numeric.lower(sink, "f64.promote_f32", ["%x"])
    (narrow,) = numeric.lower(sink, "f32.demote_f64", [wide])
    sink.emit(f"store float {narrow}, ptr %out")
    sink.emit("ret void")
    fn = "define void @pd(ptr %out, ptr %trap, i32 %a0) {\n" + "\n".join(sink.lines) + "\n}\n"
    jit = Jit(module_text([fn], decls), 2)
    op = RuntimeOp(jit, "pd", ("f32",), ("f32",))
    for snan in (0x7FA00000, 0xFF800001, 0x7F800001):
        trap, (res,) = op(snan)
        assert trap is None and is_arithmetic_nan(res, "f32"), hex(res)
    assert op(f32_bits(-0.0)) == (None, (f32_bits(-0.0),))


# --- the IR is valid and compiles for both targets ------------------------------------------

TARGETS = ("x86_64-linux", "aarch64-linux")


@pytest.mark.parametrize("name", sorted(numeric.NUMERIC_OPS))
def test_ir_verifies_and_emits_objects(name):
    decls = {}
    if name in CONST_OPS:
        imms = [0, 0x7FA00001] if name.startswith("f") else [-1, 7]
        text = constant_cases_function("f", name, decls, imms, imms_cases=True)
    else:
        text, _ = runtime_function("f", name, decls)
    for target in TARGETS:  # clang verifies the IR as it reads it: a bad one raises
        assert compile_ir(module_text([text], decls), code_target(target), 2)[:4] == b"\x7fELF"
