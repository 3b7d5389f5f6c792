"""Every validation rule checks its index immediates before it uses them (issue 8, item 3).

`(func unreachable array.fill 7)` in a module without type 7 used to escape as a bare
`IndexError`: after `unreachable` the operand stack is polymorphic, so the rule reached the
lookup of type 7 before anything else could fail.  The class: any rule that indexes an index
space with an unchecked immediate.  The matrix below is generated from the opcode table: every
row that takes an index immediate, in reachable and unreachable code, with every index out of
range, must be refused with the testsuite's `unknown <space>` wording; and with one index at a
time out of range (the others 0), it must be refused or accepted, never crash.
"""

from __future__ import annotations

import pytest

from wasmaot import api
from wasmaot.errors import InvalidModule, WasmError
from wasmaot.wasm import load_module
from wasmaot.wasm.leb128 import sleb, uleb
from wasmaot.wasm.opcodes import OPCODES

# Immediate kinds that are (or contain) indices into an index space.
INDEX_KINDS = frozenset((
    "typeidx", "funcidx", "tableidx", "memidx", "globalidx", "localidx", "labelidx", "tagidx",
    "elemidx", "dataidx", "fieldidx", "memarg", "blocktype", "heaptype", "br_table",
    "br_on_cast", "try_table", "valtypes",
))
BIG = 1000  # out of range in every index space of BASE


def encode_imm(kind: str, idx: int) -> bytes:
    """One immediate of `kind` whose indices are all `idx` (plain values are 0)."""
    if kind == "memarg":
        return bytes([0x40]) + uleb(idx) + b"\0"  # align 0, explicit memidx, offset 0
    if kind in ("blocktype", "heaptype"):
        return sleb(idx)
    if kind == "br_table":
        return uleb(1) + uleb(idx) + uleb(idx)
    if kind == "br_on_cast":
        return b"\0" + uleb(idx) + sleb(idx) + sleb(idx)
    if kind == "try_table":
        return b"\x40" + uleb(1) + b"\0" + uleb(idx) + uleb(idx)  # catch tag idx -> label idx
    if kind == "valtypes":
        return uleb(1) + b"\x63" + sleb(idx)  # (ref null idx)
    if kind.endswith("idx"):
        return uleb(idx)
    return {"i32": b"\0", "i64": b"\0", "f32": bytes(4), "f64": bytes(8), "v128": bytes(16),
            "shuffle": bytes(16), "zero": b"\0", "u32": b"\0", "lane16": b"\0", "lane8": b"\0",
            "lane4": b"\0", "lane2": b"\0"}[kind]


def section(sid: int, body: bytes) -> bytes:
    return bytes([sid]) + uleb(len(body)) + body


def module_with_body(body: bytes) -> bytes:
    """Index 0 exists in every index space: type 0 `[] -> []`, function 0 (the body under
    test, one i32 local), table 0, memory 0, global 0, tag 0, elem 0, data 0."""
    func_body = uleb(1) + uleb(1) + b"\x7f" + body + b"\x0b"
    return b"".join((
        b"\0asm\1\0\0\0",
        section(1, uleb(1) + b"\x60\0\0"),
        section(3, uleb(1) + uleb(0)),
        section(4, uleb(1) + b"\x70\0\0"),
        section(5, uleb(1) + b"\0\0"),
        section(13, uleb(1) + b"\0" + uleb(0)),
        section(6, uleb(1) + b"\x7f\0\x41\0\x0b"),
        section(9, uleb(1) + uleb(1) + b"\0" + uleb(0)),  # passive, elemkind funcref, no items
        section(12, uleb(1)),
        section(10, uleb(1) + uleb(len(func_body)) + func_body),
        section(11, uleb(1) + uleb(1) + uleb(0)),  # one passive, empty data segment
    ))


def opcode_bytes(op) -> bytes:
    return bytes([op.code]) if op.prefix is None else bytes([op.prefix]) + uleb(op.code)


OPENERS = frozenset(("block", "loop", "if", "try", "try_table"))


def instruction_body(op, imms: bytes, reachable: bool) -> bytes:
    """`op` with its immediates, inside whatever structure it needs to be well formed."""
    prefix = b"\x06\x40" if op.name == "delegate" else b""  # delegate closes a `try`
    body = prefix + (b"" if reachable else b"\0") + opcode_bytes(op) + imms
    return body + (b"\x0b" if op.name in OPENERS else b"")


INDEXED_ROWS = [op for op in OPCODES if INDEX_KINDS.intersection(op.imms)]


def test_the_matrix_covers_every_index_kind():
    covered = {k for op in INDEXED_ROWS for k in op.imms if k in INDEX_KINDS}
    assert covered == INDEX_KINDS
    assert len(INDEXED_ROWS) > 150


@pytest.mark.parametrize("reachable", [True, False], ids=["reachable", "after-unreachable"])
def test_every_out_of_range_index_is_an_unknown_index_error(reachable):
    failures = []
    for op in INDEXED_ROWS:
        imms = b"".join(encode_imm(k, BIG) for k in op.imms)
        try:
            load_module(module_with_body(instruction_body(op, imms, reachable)))
        except InvalidModule as e:
            # In reachable code an operand check may come first (br_table pops its index).
            if not reachable and "unknown" not in e.message:
                failures.append(f"{op.name}: {e}")
            continue
        except Exception as e:  # noqa: BLE001 - anything but InvalidModule is the bug
            failures.append(f"{op.name}: {type(e).__name__}: {e}")
            continue
        failures.append(f"{op.name}: accepted")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("reachable", [True, False], ids=["reachable", "after-unreachable"])
def test_one_out_of_range_index_never_crashes(reachable):
    failures = []
    cases = 0
    for op in INDEXED_ROWS:
        for pos, kind in enumerate(op.imms):
            if kind not in INDEX_KINDS:
                continue
            imms = b"".join(encode_imm(k, BIG if i == pos else 0) for i, k in enumerate(op.imms))
            cases += 1
            try:
                load_module(module_with_body(instruction_body(op, imms, reachable)))
            except WasmError:
                pass
            except Exception as e:  # noqa: BLE001
                failures.append(f"{op.name} imm {pos} ({kind}): {type(e).__name__}: {e}")
    assert cases >= 200
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("op", ["array.fill", "array.set"])
def test_issue_repro_is_unknown_type_from_the_api(tmp_path, op):
    wat = tmp_path / "m.wat"
    wat.write_text(f"(module (func unreachable {op} 7))")
    with pytest.raises(InvalidModule, match="unknown type 7"):
        api.compile(str(wat))
