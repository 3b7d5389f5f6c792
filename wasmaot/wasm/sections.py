"""Decoders for the module's sections (spec 5.5), one function per section.

Each takes a `Reader` bounded to the section's contents and the `Module` being
built.  The section loop in `decoder.py` checks order, uniqueness and that each
section's declared size is consumed exactly.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections.abc import Iterator, Sequence

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



# --- items of the common forms, kept as rows ---------------------------------------------
# A module may hold 100,000 data segments or globals.  As objects (a Data or Global and two
# Instr each) they took most of a build's time to make, validate and lay out; the common
# forms below are rows of arrays instead, read in one regular-expression match each and
# handled in bulk by the validator and the module image, and read back as the objects
# they stand for on access.  Items of any other form are those objects, in `others`.


class Rows(Sequence):
    """The items of one section, in order: `others[j]` for item j of an uncommon form,
    else row j of the subclass's arrays (which hold a placeholder for the others)."""

    def __init__(self, data: bytes) -> None:
        self.data = data  # the module's bytes, which the rows point into
        self.starts = array("Q")  # where each item starts, every item
        self.others: dict = {}  # index -> the item, for items that are not rows

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self[k] for k in range(*j.indices(len(self)))]
        j = range(len(self))[j]  # negative from the end; IndexError past it
        other = self.others.get(j)
        return other if other is not None else self._row(j)

    def _row(self, j: int):
        raise NotImplementedError

    def _placeholder(self) -> None:
        raise NotImplementedError

    def add_other(self, item, start: int) -> None:
        self.others[len(self.starts)] = item
        self.starts.append(start)
        self._placeholder()


def spans(items: Sequence) -> Iterator[tuple[int, int, object]]:
    """The items in order as stretches: (lo, hi, None) for rows lo..hi-1 of a `Rows`,
    (j, j + 1, item) for every other item (every item of a plain list)."""
    if not isinstance(items, Rows):
        for j, item in enumerate(items):
            yield j, j + 1, item
        return
    lo = 0
    for j, item in items.others.items():  # added in index order
        if lo < j:
            yield lo, j, None
        yield j, j + 1, item
        lo = j + 1
    if lo < len(items):
        yield lo, len(items), None


# LEB128 numbers of at most 4 bytes (28 bits: never "too large" for u32/s32/s64), then
# their value from the little-endian integer of their bytes: each byte's 7 low bits.
_LEB4 = rb"([\x80-\xff]{0,3}[\x00-\x7f])"


def _uleb4(raw: bytes) -> int:
    x = int.from_bytes(raw, "little")
    return x & 0x7F | (x >> 1) & 0x3F80 | (x >> 2) & 0x1FC000 | (x >> 3) & 0xFE00000


def _sleb4(raw: bytes) -> int:
    v, bits = _uleb4(raw), 7 * len(raw)
    return v - (1 << bits) if v >> (bits - 1) else v


_I32_CONST, _I64_CONST, _F32_CONST, _F64_CONST = 0x41, 0x42, 0x43, 0x44
_CONST_OPS = {code: BY_NAME[name] for code, name in (
    (_I32_CONST, "i32.const"), (_I64_CONST, "i64.const"), (_F32_CONST, "f32.const"),
    (_F64_CONST, "f64.const"))}
_END_OP = BY_NAME["end"]

# A global of number type (i32, i64, f32, f64) initialized by one constant: valtype,
# mutability, then `i32.const`/`i64.const` with a LEB of at most 4 bytes, or `f32.const` /
# `f64.const` with their bits, then `end`.
_NUMBER_GLOBAL = re.compile(rb"([\x7c-\x7f][\x00\x01])(?:([\x41\x42])" + _LEB4
                            + rb"|\x43(.{4})|\x44(.{8}))\x0b", re.DOTALL)
# bytes.translate tables: 1 for the opcode, 0 for every other byte.
_IS_OP = {op: bytes(int(b == op) for b in range(256)) for op in _CONST_OPS}


class NumberGlobals(Rows):
    """Globals; rows: a number type initialized by one constant (_NUMBER_GLOBAL)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.codes = bytearray()  # two bytes each: valtype code, mutability
        self.ops = bytearray()  # the constant's opcode

    def _placeholder(self) -> None:
        self.codes += b"\0\0"
        self.ops.append(0)

    def bits(self, lo: int, hi: int) -> array:
        """The constants of rows lo..hi-1 as the image stores them (u64: an integer's two's
        complement, a float's bits), decoded together: the eight bytes after each opcode
        in a 64-bit slot of one big integer, read as a LEB (_sleb4) and as raw bits, and
        each slot's by its opcode (C speed; a row takes five bytes at least, so only the
        last two may reach past the module's end)."""
        data, n = self.data, hi - lo
        eight = [data[p + 3:p + 11] for p in self.starts[lo:hi]]
        for k in range(max(0, n - 2), n):
            eight[k] = eight[k].ljust(8, b"\0")
        x = int.from_bytes(b"".join(eight), "little")
        ops = self.ops[lo:hi]
        value = _sleb_slots(x, n, 64)
        out = 0
        for op, raw, mask in ((_I32_CONST, value, 0xFFFFFFFF), (_I64_CONST, value, (1 << 64) - 1),
                              (_F32_CONST, x, 0xFFFFFFFF), (_F64_CONST, x, (1 << 64) - 1)):
            slots = bytearray(8 * n)
            slots[::8] = ops.translate(_IS_OP[op])  # 1 in the slots of this opcode
            out |= raw & int.from_bytes(slots, "little") * mask
        result = array("Q")
        result.frombytes(out.to_bytes(8 * n, "little"))
        if sys.byteorder != "little":
            result.byteswap()
        return result

    def types(self, lo: int, hi: int) -> Iterator[GlobalType]:
        """The GlobalTypes of rows lo..hi-1 (at C speed)."""
        return map(_GLOBALTYPE_BY_U16.__getitem__, array("H", self.codes[2 * lo:2 * hi]))

    def _row(self, j: int) -> Global:
        op, bits = self.ops[j], self.bits(j, j + 1)[0]
        if op == _I32_CONST and bits >> 31:
            bits -= 1 << 32
        elif op == _I64_CONST and bits >> 63:
            bits -= 1 << 64
        start = self.starts[j]
        gt = _NUMBER_GLOBALTYPES[bytes(self.codes[2 * j:2 * j + 2])]
        return Global(gt, [Instr(_CONST_OPS[op], (bits,), start + 2),
                           Instr(_END_OP, (), _NUMBER_GLOBAL.match(self.data, start).end() - 1)],
                      start)


# An active data segment of memory 0 at an `i32.const` offset (flags 0), its LEB of at
# most 4 bytes, then `end` and the length of the bytes (at most 4 LEB bytes).
_CONST_DATA = re.compile(rb"\x00\x41" + _LEB4 + rb"\x0b" + _LEB4, re.DOTALL)


class ConstDataSegments(Rows):
    """Data segments; rows: active in memory 0 at a constant i32 offset (_CONST_DATA).
    Every segment's bytes, rows' and others', are `data[inits[j]:inits[j] + lens[j]]`,
    inside `data[start:end]` (the section's segments, headers between them)."""

    def __init__(self, data: bytes, start: int = 0, end: int = 0) -> None:
        super().__init__(data)
        self.start, self.end = start, end
        self.inits = array("Q")  # where the bytes are
        self.lens = array("Q")  # how many

    def offsets(self, lo: int, hi: int) -> array:
        """The offsets of rows lo..hi-1, as u32 bits, decoded together (_sleb32_bits): the
        four bytes from each LEB on (after the row's 0x00 0x41; a segment takes three
        bytes at least, so only the last two may reach past the module's end)."""
        data = self.data
        four = [data[a + 2:a + 6] for a in self.starts[lo:hi]]
        for k in range(max(0, len(four) - 2), len(four)):
            four[k] = four[k].ljust(4, b"\0")
        return _sleb32_bits(b"".join(four))

    def add_other(self, item: Data, start: int, init_at: int = 0) -> None:
        """A segment of another form, whose bytes are at `init_at`."""
        super().add_other(item, start)
        self.inits[-1], self.lens[-1] = init_at, len(item.init)

    def _placeholder(self) -> None:
        self.inits.append(0)
        self.lens.append(0)

    def _row(self, j: int) -> Data:
        start, at = self.starts[j], self.inits[j]
        offset = _CONST_DATA.match(self.data, start).group(1)
        return Data("active", self.data[at:at + self.lens[j]], 0,
                    [Instr(_CONST_OPS[_I32_CONST], (_sleb4(offset),), start + 1),
                     Instr(_END_OP, (), start + 2 + len(offset))], start)


def _slots(value: int, n: int, width: int = 32) -> int:
    """`value` in each of n slots of `width` bits of one integer."""
    return int.from_bytes(value.to_bytes(width // 8, "little") * n, "little")


def _sleb_slots(x: int, n: int, width: int) -> int:
    """The n signed LEB128 numbers of 1 to 4 bytes at the start of the `width`-bit slots
    of x (what follows each is ignored), each as its two's complement in its slot.  Slot
    bit 7 + 8i is byte i's continuation bit: byte i + 1 belongs to the number if bytes
    0..i all have it."""
    one = _slots(1, n, width)
    c0 = (x >> 7) & one  # slot bit 0: the number has a byte 1
    c1 = (x >> 15) & c0  # ... a byte 2
    c2 = (x >> 23) & c1  # ... a byte 3
    x &= _slots(0x7F, n, width) | c0 * 0x7F00 | c1 * 0x7F0000 | c2 * 0x7F000000
    v = (x & _slots(0x7F, n, width) | (x >> 1) & _slots(0x3F80, n, width)
         | (x >> 2) & _slots(0x1FC000, n, width) | (x >> 3) & _slots(0xFE00000, n, width))
    # Sign extension from bit 7k + 6 of a number of k + 1 bytes, k = 0..3.
    top = (1 << width) - 1
    for k, (has, more) in enumerate(((one, c0), (c0, c1), (c1, c2), (c2, 0))):
        v |= ((v >> (7 * k + 6)) & (has ^ more)) * (top >> (7 * k + 7) << (7 * k + 7))
    return v


def _sleb32_bits(four: bytes) -> array:
    """The u32 bits of signed LEB128 numbers of 1 to 4 bytes, each given as the four
    bytes from its start on (what follows it is ignored), decoded together: each in a
    32-bit slot of one big integer, and the decoding of _sleb4 as a dozen operations on
    it (C speed, where a Python loop costs 0.3 us a number).  Slot bit 7 + 8i is byte i's
    continuation bit: byte i + 1 belongs to the number if bytes 0..i all have it."""
    n = len(four) // 4
    if n == 0:
        return array("Q")
    v = _sleb_slots(int.from_bytes(four, "little"), n, 32)
    bits = array("I", v.to_bytes(4 * n, "little"))
    if sys.byteorder != "little":
        bits.byteswap()
    return array("Q", bits)


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


# The same by the native u16 of the two bytes (NumberGlobals.types); v128 too, no harm.
_GLOBALTYPE_BY_U16 = {int.from_bytes(k, sys.byteorder): gt for k, gt in _NUMBER_GLOBALTYPES.items()}


def global_section(r: Reader, m: Module) -> None:
    data, end = r.data, r.end
    globs = NumberGlobals(data)
    match = _NUMBER_GLOBAL.match
    # Bound methods and locals: this loop runs once per global (100,000 times).
    add_start, codes, add_op = globs.starts.append, globs.codes, globs.ops.append
    n = _count(r, limits.MAX_GLOBALS, "globals")
    pos = r.pos
    for _ in range(n):
        row = match(data, pos, end)
        if row is not None:  # the constants are decoded later, together (NumberGlobals.bits)
            add_start(pos)
            codes += row.group(1)
            add_op(data[pos + 2])
            pos = row.end()
            continue
        r.pos = pos
        gt = _NUMBER_GLOBALTYPES.get(data[pos:pos + 2]) if pos + 2 <= end else None
        if gt is None:
            gt = read_globaltype(r)
        else:
            r.pos = pos + 2
        globs.add_other(Global(gt, read_expr(r), pos), pos)
        pos = r.pos
    r.pos = pos
    m.globals = globs


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

    def __init__(self, indices: array, offsets: array | None, first: int = 0,
                 raw: bytes | None = None) -> None:
        self.indices = indices
        self.offsets = offsets  # one more than the items: where the last one ends
        self.first = first
        self.raw = raw  # the items' bytes when each is one byte (offsets is None)
        self._distinct: frozenset | None = None

    def distinct(self) -> frozenset:
        """The function indices the items name, each once."""
        if self._distinct is None:
            self._distinct = frozenset(self.indices if self.raw is None else _distinct_bytes(self.raw))
        return self._distinct

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


def _widen(raw: bytes) -> array:
    """The bytes of `raw` as an array of u32, at C speed: each byte goes into the low byte
    of a zeroed 4-byte slot by one slice assignment (not 1,000,000 ints one by one)."""
    slots = bytearray(4 * len(raw))
    slots[0 if sys.byteorder == "little" else 3::4] = raw
    out = array("I")
    out.frombytes(slots)
    return out


def _distinct_bytes(raw: bytes) -> set:
    """The byte values in `raw`, at C speed for few distinct values (a table of a few
    functions repeated): take those of a prefix, delete them all, repeat on the rest."""
    seen: set = set()
    while raw:
        seen.update(raw[:4096])
        raw = raw.translate(None, bytes(seen))
    return seen


def _funcidx_exprs(r: Reader) -> FuncIndexItems:
    n = _count(r, limits.MAX_ELEMENT_ITEMS, "element items")
    start = r.pos
    one_byte_each = r.data[start:start + n]
    if len(one_byte_each) == n and one_byte_each.isascii():
        # Every index below 128 is one LEB byte: the n items are the next n bytes
        # (a table of a few functions repeated, as in 1,000,000-item segments).
        r.pos = start + n
        return FuncIndexItems(_widen(one_byte_each), None, start, one_byte_each)
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
    data, end = r.data, r.end
    segs = ConstDataSegments(data, r.pos, end)
    match = _CONST_DATA.match
    # Bound methods and locals: this loop runs once per segment (100,000 times).  The
    # offsets are decoded later, all together (ConstDataSegments.offsets).
    add_start, add_init, add_len = segs.starts.append, segs.inits.append, segs.lens.append
    pos = r.pos
    for _ in range(n):
        row = match(data, pos, end)
        if row is not None:
            length = row.group(2)
            at = row.end()
            size = length[0] if len(length) == 1 else _uleb4(length)
            if size <= end - at:
                add_start(pos)
                add_init(at)
                add_len(size)
                pos = at + size
                continue
        r.pos = pos
        flags = r.u32()
        if flags > 2:
            raise MalformedModule("malformed data segment kind", offset=pos)
        if flags == 1:
            init = r.bytes(r.u32())
            segs.add_other(Data("passive", init, offset=pos), pos, r.pos - len(init))
        else:
            memory = r.u32() if flags == 2 else 0
            offset_expr = read_expr(r)
            init = r.bytes(r.u32())
            segs.add_other(Data("active", init, memory, offset_expr, pos), pos,
                           r.pos - len(init))
        pos = r.pos
    r.pos = pos
    m.datas = segs


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
