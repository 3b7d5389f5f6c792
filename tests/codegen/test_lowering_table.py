"""The lowering is derived from the opcode table (wasm/opcodes.py) and agrees
with it: every row of a proposal we compile has exactly one handler (or is
refused at validation) in every handler table (the portable one, each
target's native relaxed-SIMD choices, --deterministic's), and every
fixed-signature row, applied to its parameters in a function of its own
signature, is accepted by our validator and by wasm-tools, and compiles for
each target and CPU level (so a native choice's intrinsic is one that target
has).  A row whose handler pops or pushes other types than the row says fails
LLVM's verifier here."""

from __future__ import annotations

import subprocess

import pytest

from wasmaot.codegen import simd
from wasmaot.codegen.function import UNSUPPORTED_PROPOSALS
from wasmaot.codegen.module import (
    DETERMINISTIC_HANDLERS,
    HANDLERS,
    NATIVE_HANDLERS,
    REFUSALS,
    CodegenOptions,
    handlers_for,
)
from wasmaot.driver.compile import CompileRequest, compile_module, frontend
from wasmaot.driver.wat import wasm_tools_executable
from wasmaot.wasm.leb128 import uleb
from wasmaot.wasm.opcodes import OPCODES

_VALTYPE = {"i32": 0x7F, "i64": 0x7E, "f32": 0x7D, "f64": 0x7C, "v128": 0x7B, "a": 0x7F}
# A valid immediate of each kind, for a module with one memory, a passive data
# segment and a passive element segment (index 0 everywhere).
_IMMEDIATE = {
    "memarg": b"\x00\x00", "lane16": b"\x01", "lane8": b"\x01", "lane4": b"\x01",
    "lane2": b"\x01", "shuffle": bytes(range(0, 32, 2)), "v128": bytes(range(16)),
    "i32": b"\x07", "i64": b"\x07", "f32": bytes(4), "f64": bytes(8),
    "memidx": b"\x00", "dataidx": b"\x00", "elemidx": b"\x00",
}


def _fixed_signature_rows() -> list:
    return [op for op in OPCODES if op.params is not None and op.name in HANDLERS]


def _opcode_bytes(op) -> bytes:
    if op.prefix is None:
        return bytes([op.code])
    return bytes([op.prefix]) + uleb(op.code)


def _vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def _section(sid: int, body: bytes) -> bytes:
    return bytes([sid]) + uleb(len(body)) + body


def _module(rows: list) -> bytes:
    """One function per row: `(func (param P...) (result R...) local.get 0..n op)`."""
    types, codes = [], []
    for op in rows:
        params = [_VALTYPE[t] for t in op.params]
        results = [_VALTYPE[t] for t in op.results]
        types.append(b"\x60" + _vec([bytes([t]) for t in params])
                     + _vec([bytes([t]) for t in results]))
        body = b"".join(b"\x20" + uleb(i) for i in range(len(params)))
        body += _opcode_bytes(op) + b"".join(_IMMEDIATE[k] for k in op.imms) + b"\x0b"
        codes.append(uleb(len(body) + 1) + b"\x00" + body)
    n = len(rows)
    return b"".join((
        b"\0asm\x01\0\0\0",
        _section(1, _vec(types)),
        _section(3, _vec([uleb(i) for i in range(n)])),
        _section(4, _vec([b"\x70\x00\x01"])),                 # a funcref table
        _section(5, _vec([b"\x00\x01"])),                     # memory 1
        _section(9, _vec([b"\x01\x00" + _vec([uleb(0)])])),   # passive elem: func 0
        _section(12, uleb(1)),                                # data count
        _section(10, _vec(codes)),
        _section(11, _vec([b"\x01" + _vec([b"\x2a"])])),      # passive data
    ))


def test_every_row_of_a_compiled_proposal_has_one_handler_or_is_refused():
    refused = set(REFUSALS.features)
    for op in OPCODES:
        lowered = op.name in HANDLERS
        assert lowered != (op in refused), op.name
        assert (op.proposal in UNSUPPORTED_PROPOSALS) == (op in refused), op.name


def test_every_handler_table_lowers_the_same_rows():
    """A native choice or a --deterministic row replaces a lowering, never adds or
    drops one; the SIMD tables are exactly the SIMD rows."""
    tables = {**{f"native {key}": t for key, t in NATIVE_HANDLERS.items()},
              "deterministic": DETERMINISTIC_HANDLERS}
    for name, table in tables.items():
        assert table.keys() == HANDLERS.keys(), name
    for key, table in {**simd.NATIVE_HANDLERS, "deterministic": simd.DETERMINISTIC_HANDLERS}.items():
        assert table.keys() == simd.SIMD_OPS, key


def test_each_target_and_cpu_level_has_its_table():
    """Every x86-64 feature subset and aarch64 has a table of its own; an
    unknown architecture, and --deterministic everywhere, get the shared ones."""
    def table(arch, *features):
        return handlers_for(CodegenOptions(arch=arch, cpu_features=frozenset(features)))

    tables = [table("x86_64"), table("x86_64", "ssse3"), table("x86_64", "sse4.1"),
              table("x86_64", "ssse3", "sse4.1"), table("aarch64"), HANDLERS]
    assert len({id(t) for t in tables}) == len(tables)
    assert table("x86_64", "avx2", "popcnt") is table("x86_64")  # features no choice needs
    assert handlers_for(CodegenOptions()) is HANDLERS
    assert handlers_for(CodegenOptions(arch="riscv64", cpu_features=frozenset({"ssse3"}))) is HANDLERS
    for arch in ("x86_64", "aarch64", ""):
        options = CodegenOptions(arch=arch, cpu_features=frozenset({"ssse3", "sse4.1"}),
                                 deterministic=True)
        assert handlers_for(options) is DETERMINISTIC_HANDLERS


BUILDS = [("x86_64-linux", "baseline"), ("x86_64-linux", "default"), ("x86_64-linux", "x86-64-v3"),
          ("aarch64-linux", "default")]


@pytest.mark.parametrize("target,cpu", BUILDS, ids=[f"{t}-{c}" for t, c in BUILDS])
def test_each_fixed_signature_row_validates_and_compiles_with_its_signature(target, cpu, tmp_path):
    rows = _fixed_signature_rows()
    assert len(rows) > 400  # the MVP, SIMD, bulk memory, ... not a handful
    data = _module(rows)
    path = tmp_path / "rows.wasm"
    path.write_bytes(data)
    proc = subprocess.run([wasm_tools_executable(), "validate", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    frontend(data)  # our validator: the row's pops and pushes are the handler's
    objs, _ = compile_module(data, CompileRequest(target, opt_level=0, cpu=cpu), split=False)
    assert objs and objs[0][:4] == b"\x7fELF"
