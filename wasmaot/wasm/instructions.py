"""Instruction decoding (spec 5.4), driven by the opcode table.

`IMMEDIATE_READERS` maps each immediate kind of `opcodes.OPCODES` to the
function that reads it, so adding an instruction never means touching this
file unless it brings a new kind of immediate.  `read_opcode` finds the row,
`read_instr` returns an `Instr`; the validator reads bodies with the same two
pieces in its own loop.
"""

from __future__ import annotations

from ..errors import MalformedModule
from .binary_types import read_blocktype, read_heaptype_exact, read_valtype
from .opcodes import PREFIXED, SINGLE, Opcode
from .reader import Reader
from .types import Catch, Instr, Memarg

# Alignment exponent in a memarg: below 2**6 it is the alignment alone; with
# bit 6 set a memory index follows (multi-memory, spec 5.4.7).
_MEMIDX_FLAG = 0x40


def read_memarg(r: Reader) -> Memarg:
    start = r.pos
    flags = r.u32()
    memidx = 0
    if flags & _MEMIDX_FLAG:
        flags &= ~_MEMIDX_FLAG
        memidx = r.u32()
    if flags >= _MEMIDX_FLAG:
        raise MalformedModule("malformed memop flags", offset=start)
    return Memarg(flags, r.u64(), memidx)


def read_br_table(r: Reader) -> tuple:
    labels = tuple(r.u32() for _ in range(r.vec_len()))
    return (labels, r.u32())


_CATCH_KINDS = ("catch", "catch_ref", "catch_all", "catch_all_ref")


def read_try_table(r: Reader) -> tuple:
    bt = read_blocktype(r)
    catches = []
    for _ in range(r.vec_len()):
        start = r.pos
        k = r.u8()
        if k > 3:
            raise MalformedModule("malformed catch clause", offset=start)
        tag = r.u32() if k < 2 else None
        catches.append(Catch(_CATCH_KINDS[k], tag, r.u32()))
    return (bt, tuple(catches))


def read_br_on_cast(r: Reader) -> tuple:
    """flags (bit 0: source nullable, bit 1: target nullable), label, ht1, ht2;
    each heap type as (heaptype, exact)."""
    start = r.pos
    flags = r.u8()
    if flags > 3:
        raise MalformedModule("malformed br_on_cast flags", offset=start)
    label = r.u32()
    return (flags, label, read_heaptype_exact(r), read_heaptype_exact(r))


def read_valtypes(r: Reader) -> tuple:
    return tuple(read_valtype(r) for _ in range(r.vec_len()))


def read_zero(r: Reader) -> int:
    start = r.pos
    if r.u8() != 0:
        raise MalformedModule("zero byte expected", offset=start)
    return 0


def read_shuffle(r: Reader) -> tuple:
    return tuple(r.bytes(16))


_u32 = Reader.u32  # the unbound method: no wrapper call per immediate


IMMEDIATE_READERS = {
    "blocktype": read_blocktype,
    "labelidx": _u32,
    "funcidx": _u32,
    "typeidx": _u32,
    "tableidx": _u32,
    "memidx": _u32,
    "globalidx": _u32,
    "localidx": _u32,
    "tagidx": _u32,
    "elemidx": _u32,
    "dataidx": _u32,
    "fieldidx": _u32,
    "u32": _u32,
    "br_table": read_br_table,
    "memarg": read_memarg,
    "i32": Reader.s32,
    "i64": Reader.s64,
    "f32": Reader.f32_bits,
    "f64": Reader.f64_bits,
    "v128": lambda r: int.from_bytes(r.bytes(16), "little"),
    "shuffle": read_shuffle,
    "lane16": Reader.u8,
    "lane8": Reader.u8,
    "lane4": Reader.u8,
    "lane2": Reader.u8,
    "valtypes": read_valtypes,
    "heaptype": read_heaptype_exact,
    "try_table": read_try_table,
    "br_on_cast": read_br_on_cast,
    "zero": read_zero,
}


def imm_readers(op: Opcode) -> tuple:
    return tuple(IMMEDIATE_READERS[k] for k in op.imms)


# Precomputed per row: the reader functions of its immediates.
READERS_OF: dict[Opcode, tuple] = {}


def _fill_readers() -> None:
    for op in SINGLE:
        if op is not None:
            READERS_OF[op] = imm_readers(op)
    for table in PREFIXED.values():
        for op in table.values():
            READERS_OF[op] = imm_readers(op)


_fill_readers()


def read_opcode(r: Reader) -> Opcode:
    start = r.pos
    b = r.u8()
    op = SINGLE[b]
    if op is not None:
        return op
    table = PREFIXED.get(b)
    if table is not None:
        op = table.get(r.u32())
        if op is not None:
            return op
    raise MalformedModule("illegal opcode", offset=start)


def read_instr(r: Reader) -> Instr:
    start = r.pos
    op = read_opcode(r)
    return Instr(op, tuple(f(r) for f in READERS_OF[op]), start)


def validated_instructions(r: Reader) -> list[tuple]:
    """(opcode, immediates, offset) of each instruction from `r` to its end, in a
    body that validation has accepted: read_instr's work without its checks (an
    illegal opcode cannot occur), as tuples; codegen decodes every body with it.
    A list built here, not a generator: a body is always read whole, and each
    resumption of a generator cost more than the append (lua: 107,000 of them)."""
    data, end = r.data, r.end
    out = []
    append = out.append
    pos = r.pos
    while pos < end:
        b = data[pos]
        r.pos = pos + 1
        op = SINGLE[b]
        if op is None:
            op = PREFIXED[b][r.u32()]
        readers = READERS_OF[op]
        if not readers:
            append((op, (), pos))
        elif len(readers) == 1:  # most are: no generator for them
            append((op, (readers[0](r),), pos))
        else:
            append((op, tuple(f(r) for f in readers), pos))
        pos = r.pos
    return out


_END = SINGLE[0x0B]
# One-byte opcodes with a single immediate that open no block: the usual
# constant expression is one of them and `end` (a segment's offset, a global's
# value), read without the general loop (100,000 data segments or globals).
_ONE_IMMEDIATE = {op.code: (op, READERS_OF[op][0]) for op in SINGLE
                  if op is not None and len(READERS_OF[op]) == 1
                  and op.name not in ("block", "loop", "if", "try_table", "try")}


def read_expr(r: Reader) -> list[Instr]:
    """A constant expression: instructions up to the matching `end` (kept)."""
    start = r.pos
    if start < r.end:
        one = _ONE_IMMEDIATE.get(r.data[start])
        if one is not None:
            r.pos = start + 1
            imm = one[1](r)
            if r.pos < r.end and r.data[r.pos] == 0x0B:
                r.pos += 1
                return [Instr(one[0], (imm,), start), Instr(_END, (), r.pos - 1)]
            r.pos = start
    instrs = []
    depth = 0
    while True:
        ins = read_instr(r)
        instrs.append(ins)
        name = ins.op.name
        if name in ("block", "loop", "if", "try_table", "try"):
            depth += 1
        elif name == "end":
            if depth == 0:
                return instrs
            depth -= 1


_OPENERS = frozenset(("block", "loop", "if", "try_table", "try"))
# `delegate` ends its `try` block as `end` does (legacy exceptions).
_CLOSERS = frozenset(("end", "delegate"))


def skip_body(r: Reader, forbidden: frozenset = frozenset()) -> None:
    """Decode (and discard) a function body's instructions, checking only that
    they are well formed and properly nested, with the last `end` at the end.
    Names in `forbidden` are malformed here (those that need a data count
    section in a module without one)."""
    depth = 0
    while r.pos < r.end:
        start = r.pos
        op = read_opcode(r)
        if op.name in forbidden:
            raise MalformedModule("data count section required", offset=start)
        for f in READERS_OF[op]:
            f(r)
        if op.name in _OPENERS:
            depth += 1
        elif op.name in _CLOSERS:
            if depth == 0 and op.name == "delegate":
                raise MalformedModule("delegate without matching try", offset=start)
            if depth == 0:
                if r.pos != r.end:
                    raise MalformedModule("operators remaining after end of function", offset=r.pos)
                return
            depth -= 1
    raise MalformedModule("END opcode expected", offset=r.pos)
