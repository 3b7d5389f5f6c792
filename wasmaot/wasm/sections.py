"""Decoders for the module's sections (spec 5.5), one function per section.

Each takes a `Reader` bounded to the section's contents and the `Module` being
built.  The section loop in `decoder.py` checks order, uniqueness and that each
section's declared size is consumed exactly.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

from ..errors import ImplementationLimit, MalformedModule
from . import limits
from .binary_types import (
    NUMTYPE_CODES, read_globaltype, read_memtype, read_rec_group, read_reftype, read_tabletype, read_tagtype,
    read_valtype,
)
from .instructions import read_expr
from .limits import MAX_DECLARED_LOCALS


def check_limit(n: int, limit: int, what: str, offset: int | None = None) -> None:
    """Refuse a count over an implementation limit (limits.py), before any
    per-item work."""
    if n > limit:
        raise ImplementationLimit(f"{what} count exceeds limit of {limit}", offset=offset)


def _count(r: Reader, limit: int, what: str) -> int:
    pos = r.pos
    n = r.vec_len()
    check_limit(n, limit, what, pos)
    return n
from .module import (
    EXTERN_KINDS, IMPORT_KINDS, Code, Data, Elem, Export, Global, Import, Module, Table,
)
from .opcodes import BY_NAME
from .reader import Reader
from .types import FUNCREF, GlobalType, Instr, RefType



def type_section(r: Reader, m: Module) -> None:
    for _ in range(_count(r, limits.MAX_TYPES, "types")):
        pos = r.pos
        group = read_rec_group(r, len(m.types))
        m.rec_groups.append(group)
        m.types.extend(group.subtypes)
        check_limit(len(m.types), limits.MAX_TYPES, "types", pos)


_IMPORT_DESC = {
    0: Reader.u32,
    0x20: Reader.u32,  # custom-descriptors: a function import of exactly this type
    1: read_tabletype,
    2: read_memtype,
    3: read_globaltype,
    4: read_tagtype,
}


def _import_desc(r: Reader) -> tuple:
    kpos = r.pos
    kind = r.u8()
    if kind not in _IMPORT_DESC:
        raise MalformedModule("malformed import kind", offset=kpos)
    return IMPORT_KINDS[kind], _IMPORT_DESC[kind](r)


# compact-import-section proposal: an empty name followed by one of these
# starts a group of imports from one module.
_COMPACT_NAMES = 0x7F  # vec(name externtype)
_COMPACT_TYPE = 0x7E  # externtype vec(name)


def import_section(r: Reader, m: Module) -> None:
    for _ in range(_count(r, limits.MAX_IMPORTS, "imports")):
        start = r.pos
        check_limit(len(m.imports), limits.MAX_IMPORTS, "imports", start)
        module = r.name()
        name = r.name()
        if name == "" and not r.at_end() and r.peek() in (_COMPACT_NAMES, _COMPACT_TYPE):
            form = r.u8()
            if form == _COMPACT_TYPE:
                kind, desc = _import_desc(r)
                for _ in range(r.vec_len()):
                    m.imports.append(Import(module, r.name(), kind, desc, start))
            else:
                for _ in range(r.vec_len()):
                    item = r.name()
                    kind, desc = _import_desc(r)
                    m.imports.append(Import(module, item, kind, desc, start))
            continue
        kind, desc = _import_desc(r)
        m.imports.append(Import(module, name, kind, desc, start))


def function_section(r: Reader, m: Module) -> None:
    m.funcs = [r.u32() for _ in range(_count(r, limits.MAX_FUNCTIONS, "functions"))]


def table_section(r: Reader, m: Module) -> None:
    for _ in range(_count(r, limits.MAX_TABLES, "tables")):
        start = r.pos
        if r.peek() == 0x40:
            r.pos += 1
            if r.u8() != 0x00:
                raise MalformedModule("malformed table", offset=start)
            tt = read_tabletype(r)
            m.tables.append(Table(tt, read_expr(r), start))
        else:
            m.tables.append(Table(read_tabletype(r), None, start))


def memory_section(r: Reader, m: Module) -> None:
    m.memories = [read_memtype(r) for _ in range(_count(r, limits.MAX_MEMORIES, "memories"))]


def tag_section(r: Reader, m: Module) -> None:
    m.tags = [read_tagtype(r) for _ in range(_count(r, limits.MAX_TAGS, "tags"))]


# A number-typed globaltype by its two bytes (valtype, mutability): the common case,
# read without the general valtype decoder (100,000 globals).
_NUMBER_GLOBALTYPES = {bytes((code, mut)): GlobalType(t, bool(mut))
                       for code, t in NUMTYPE_CODES.items() for mut in (0, 1)}


def global_section(r: Reader, m: Module) -> None:
    data = r.data
    for _ in range(_count(r, limits.MAX_GLOBALS, "globals")):
        start = r.pos
        gt = _NUMBER_GLOBALTYPES.get(data[start:start + 2]) if start + 2 <= r.end else None
        if gt is None:
            gt = read_globaltype(r)
        else:
            r.pos = start + 2
        m.globals.append(Global(gt, read_expr(r), start))


def export_section(r: Reader, m: Module) -> None:
    for _ in range(_count(r, limits.MAX_EXPORTS, "exports")):
        start = r.pos
        name = r.name()
        kpos = r.pos
        kind = r.u8()
        if kind not in EXTERN_KINDS:
            raise MalformedModule("malformed export kind", offset=kpos)
        m.exports.append(Export(name, EXTERN_KINDS[kind], r.u32(), start))


def start_section(r: Reader, m: Module) -> None:
    m.start = r.u32()


_REF_FUNC = BY_NAME["ref.func"]
# Segments given as function indices hold non-null function references (spec 5.5.12).
_REF_FUNC_NONNULL = RefType(False, "func")
_END = BY_NAME["end"]


class FuncIndexItems(Sequence):
    """The items of a segment given as function indices, kept compact (one may
    have millions): `indices[j]`, read at `offsets[j]` (or, when every index took
    one byte, at `first + j`).  Item j reads back as the expression it stands
    for, `ref.func x` then `end`."""

    def __init__(self, indices: array, offsets: array | None, first: int = 0) -> None:
        self.indices = indices
        self.offsets = offsets  # one more than the items: where the last one ends
        self.first = first

    def __len__(self) -> int:
        return len(self.indices)

    def _offset(self, j: int) -> int:
        return self.offsets[j] if self.offsets is not None else self.first + j

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self[k] for k in range(*j.indices(len(self)))]
        j = range(len(self))[j]  # negative from the end; IndexError past it
        return [Instr(_REF_FUNC, (self.indices[j],), self._offset(j)),
                Instr(_END, (), self._offset(j + 1))]


def _funcidx_exprs(r: Reader) -> FuncIndexItems:
    n = _count(r, limits.MAX_ELEMENT_ITEMS, "element items")
    start = r.pos
    one_byte_each = r.data[start:start + n]
    if len(one_byte_each) == n and one_byte_each.isascii():
        # Every index below 128 is one LEB byte: the n items are the next n bytes
        # (a table of a few functions repeated, as in 1,000,000-item segments).
        r.pos = start + n
        return FuncIndexItems(array("I", memoryview(one_byte_each)), None, start)
    indices, offsets = array("I"), array("Q")
    for _ in range(n):
        offsets.append(r.pos)
        indices.append(r.u32())
    offsets.append(r.pos)
    return FuncIndexItems(indices, offsets)


def _elemkind(r: Reader) -> RefType:
    start = r.pos
    if r.u8() != 0x00:
        raise MalformedModule("malformed element kind", offset=start)
    return _REF_FUNC_NONNULL


def element_section(r: Reader, m: Module) -> None:
    """The eight encodings: bit 0 passive/declarative, bit 1 explicit table
    index (active) or declarative (otherwise), bit 2 expressions instead of
    function indices (spec 5.5.12)."""
    for _ in range(_count(r, limits.MAX_ELEMENT_SEGMENTS, "element segments")):
        start = r.pos
        flags = r.u32()
        if flags > 7:
            raise MalformedModule("malformed elements segment kind", offset=start)
        active = not flags & 1
        table, offset_expr = 0, None
        if active:
            if flags & 2:
                table = r.u32()
            offset_expr = read_expr(r)
            mode = "active"
        else:
            mode = "declarative" if flags & 2 else "passive"
        exprs = bool(flags & 4)
        if flags in (0, 4):
            reftype = FUNCREF if exprs else _REF_FUNC_NONNULL
        else:
            reftype = read_reftype(r) if exprs else _elemkind(r)
        init = ([read_expr(r) for _ in range(_count(r, limits.MAX_ELEMENT_ITEMS, "element items"))]
                if exprs else _funcidx_exprs(r))
        m.elems.append(Elem(mode, reftype, init, table, offset_expr, start, not exprs))


def datacount_section(r: Reader, m: Module) -> None:
    pos = r.pos
    m.data_count = r.u32()
    check_limit(m.data_count, limits.MAX_DATA_SEGMENTS, "data segments", pos)


def code_section(r: Reader, m: Module) -> None:
    n = r.vec_len()
    if n != len(m.funcs):
        raise MalformedModule("function and code section have inconsistent lengths", offset=r.pos)
    for _ in range(n):
        start = r.pos
        size = r.u32()
        body_start = r.pos
        if size > r.end - body_start:
            raise MalformedModule("unexpected end of section or function", offset=start)
        if size > limits.MAX_FUNCTION_SIZE:
            raise ImplementationLimit(f"function body size {size} exceeds limit of "
                                      f"{limits.MAX_FUNCTION_SIZE}", offset=start)
        end = body_start + size
        body = Reader(r.data, body_start, end)
        locals_, total = [], 0
        for _ in range(body.vec_len()):
            lpos = body.pos
            count = body.u32()
            total += count
            if total > MAX_DECLARED_LOCALS:
                raise MalformedModule("too many locals", offset=lpos)
            locals_.append((count, read_valtype(body)))
        m.codes.append(Code(locals_, body.pos, end, start))
        r.pos = end


def data_section(r: Reader, m: Module) -> None:
    n = _count(r, limits.MAX_DATA_SEGMENTS, "data segments")
    if m.data_count is not None and n != m.data_count:
        raise MalformedModule("data count and data section have inconsistent lengths", offset=r.pos)
    for _ in range(n):
        start = r.pos
        flags = r.u32()
        if flags > 2:
            raise MalformedModule("malformed data segment kind", offset=start)
        if flags == 1:
            m.datas.append(Data("passive", r.bytes(r.u32()), offset=start))
            continue
        memory = r.u32() if flags == 2 else 0
        offset_expr = read_expr(r)
        init = r.bytes(r.u32())
        m.datas.append(Data("active", init, memory, offset_expr, start))


# id -> (name, decoder, position in the required order)
SECTIONS = {
    1: ("type", type_section, 1),
    2: ("import", import_section, 2),
    3: ("function", function_section, 3),
    4: ("table", table_section, 4),
    5: ("memory", memory_section, 5),
    13: ("tag", tag_section, 6),
    6: ("global", global_section, 7),
    7: ("export", export_section, 8),
    8: ("start", start_section, 9),
    9: ("element", element_section, 10),
    12: ("datacount", datacount_section, 11),
    10: ("code", code_section, 12),
    11: ("data", data_section, 13),
}
