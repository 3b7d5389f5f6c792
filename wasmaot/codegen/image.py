"""The module image: what instantiation copies or loops over, as one block of bytes.

A module may have 100,000 globals, 100,000 data segments or an element segment of
millions of items.  Lowered one IR instruction (or one IR constant) per item, that
is a huge initializer function and huge constants, and LLVM's code generator is
super-linear in the size of a function.  Instead, everything item-shaped goes
into this image, and the initializer runs three small loops over it
(`module.py` emits them once, whatever the counts):

  globals   rows of (global index, kind, value): kind 0 stores `value`'s bits in
            the cell, kind 1 stores a reference to function `value`
  items     rows of (element segment, image offset, count): `count` u32 function
            indices at that offset (NULL_ITEM: ref.null) become the segment's items
  segments  rows of (kind, segment, table or memory, offset mode, offset, length)
            for the active and declarative segments, in the spec's order
  datas     rows of (image offset, length), one per data segment: the instance's
            segment table (vmctx->datas) is filled from them, so the descriptor
            has no per-segment constants (its `datas` is a zeroed table)
  global descs  the descriptor's table of globals (abi.GLOBAL_DESC rows: valtype
            code, mutable), one per global, imports first: the descriptor points here
  items     the u32 function indices of `items`' rows
  data      the data segments' bytes, back to back

Only what is simple goes in: a global initialized by one constant or `ref.func`,
an element segment of function indices or `ref.func`/`ref.null` items, a segment
offset that is one constant or one `global.get`.  Anything else (extended
constant expressions, GC allocations) is lowered one by one as before, in order.

All integers are little-endian u64 (items: u32).  The driver writes the image
into an object file of its own as raw bytes (no IR at all: a 100 MB data
segment costs a copy, not a compile), or, when one object is wanted, as an IR
byte-string constant.
"""

from __future__ import annotations

import struct
import sys
from array import array
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import add

from ..wasm.module import Module
from ..wasm.sections import ConstDataSegments, NumberGlobals, spans
from ..wasm.types import FuncType, RefType
from ..wasm.validate_module import ModuleContext
from .abi import GLOBAL_DESC as _GLOBAL_DESC_LAYOUT
from .abi import VALTYPE_CODES

NULL_ITEM = 0xFFFFFFFF

GLOBAL_BITS, GLOBAL_FUNCREF = 0, 1
SEG_ELEM_ACTIVE, SEG_ELEM_DROP, SEG_DATA_ACTIVE = 0, 1, 2
OFFSET_CONST, OFFSET_GLOBAL_I32, OFFSET_GLOBAL_I64 = 0, 1, 2

GLOBAL_ROW = struct.Struct("<3Q")
ITEM_ROW = struct.Struct("<3Q")
SEGMENT_ROW = struct.Struct("<6Q")
DATA_ROW = struct.Struct("<2Q")
GLOBAL_DESC = struct.Struct("<2q")  # abi.GLOBAL_DESC, little-endian
assert GLOBAL_DESC.size == _GLOBAL_DESC_LAYOUT.size

_CONSTS = {"i32.const": 0xFFFFFFFF, "i64.const": (1 << 64) - 1,
           "f32.const": 0xFFFFFFFF, "f64.const": (1 << 64) - 1}


@dataclass
class Run:
    """A stretch of segments in spec order: rows of the image (`first`, `count`),
    or one segment lowered by itself (`inline` = ("elem"|"data", index))."""
    first: int = 0
    count: int = 0
    inline: tuple | None = None


@dataclass
class Image:
    globals_at: int = 0
    num_globals: int = 0
    items_at: int = 0
    num_item_rows: int = 0
    segments_at: int = 0
    runs: list = field(default_factory=list)
    datas_at: int = 0
    global_descs_at: int = 0
    # The globals the image holds other than rows of NumberGlobals (which it always holds).
    simple_globals: set = field(default_factory=set)
    simple_elems: set = field(default_factory=set)
    size: int = 0
    parts: list = field(default_factory=list)  # the bytes, in pieces (see `bytes()`)

    def bytes(self) -> bytes:
        return b"".join(self.parts)


def _simple_value(expr) -> tuple | None:
    """(kind, value) of a one-instruction constant expression, or None."""
    if len(expr) != 2:
        return None
    ins = expr[0]
    name = ins.op.name
    if name in _CONSTS:
        return GLOBAL_BITS, ins.imms[0] & _CONSTS[name]
    if name == "ref.null":
        return GLOBAL_BITS, 0
    if name == "ref.func":
        return GLOBAL_FUNCREF, ins.imms[0]
    return None


def element_item(expr) -> int | None:
    """The function index of a `ref.func` item, NULL_ITEM for `ref.null`, None
    for any other expression."""
    v = _simple_value(expr)
    if v is None:
        return None
    kind, value = v
    if kind == GLOBAL_FUNCREF:
        return value
    return NULL_ITEM if expr[0].op.name == "ref.null" else None


def segment_offset(ctx: ModuleContext, expr) -> tuple | None:
    """(mode, value) of a segment offset, or None if it needs lowering."""
    if len(expr) != 2:
        return None
    ins = expr[0]
    name = ins.op.name
    if name in ("i32.const", "i64.const"):
        return OFFSET_CONST, ins.imms[0] & _CONSTS[name]
    if name == "global.get":
        g = ins.imms[0]
        return (OFFSET_GLOBAL_I64 if ctx.globals[g].valtype == "i64" else OFFSET_GLOBAL_I32), g
    return None


def build_image(module: Module, ctx: ModuleContext) -> Image:
    """The layout and contents of the image; a pure function of the module."""
    img = Image()
    nglob = len(ctx.globals) - len(module.globals)
    globals_rows = bytearray()
    for lo, hi, g in spans(module.globals):
        if g is None:  # number globals initialized by a constant, in bulk
            globals_rows += _number_global_rows(module.globals, lo, hi, nglob)
            continue
        v = _simple_value(g.init) if ctx.globals[nglob + lo].valtype != "v128" else None
        if v is not None:
            img.simple_globals.add(nglob + lo)
            globals_rows += GLOBAL_ROW.pack(nglob + lo, *v)
    img.num_globals = len(globals_rows) // GLOBAL_ROW.size

    item_rows, items = [], array("I")  # 4 bytes on every target we run on
    for i, elem in enumerate(module.elems):
        if elem.func_indices:
            values = elem.init.indices
        else:
            values = [element_item(expr) for expr in elem.init]
            if None in values:
                continue
        img.simple_elems.add(i)
        item_rows.append((i, len(items) * 4, len(values)))
        items.extend(values)
    img.num_item_rows = len(item_rows)

    seg_rows = bytearray()

    def add_rows(rows: bytes) -> None:
        if not img.runs or img.runs[-1].inline is not None:
            img.runs.append(Run(len(seg_rows) // SEGMENT_ROW.size, 0))
        seg_rows.extend(rows)
        img.runs[-1].count += len(rows) // SEGMENT_ROW.size

    for i, elem in enumerate(module.elems):
        if elem.mode == "active":
            off = segment_offset(ctx, elem.offset_expr)
            if off is None:
                img.runs.append(Run(inline=("elem", i)))
            else:
                add_rows(SEGMENT_ROW.pack(SEG_ELEM_ACTIVE, i, elem.table, *off, len(elem.init)))
        elif elem.mode == "declarative":
            add_rows(SEGMENT_ROW.pack(SEG_ELEM_DROP, i, 0, 0, 0, 0))
    for i, hi, data in spans(module.datas):
        if data is None:  # active segments at constant offsets, in bulk
            add_rows(_const_data_rows(module.datas, i, hi))
        elif data.mode == "active":
            off = segment_offset(ctx, data.offset_expr)
            if off is None:
                img.runs.append(Run(inline=("data", i)))
            else:
                add_rows(SEGMENT_ROW.pack(SEG_DATA_ACTIVE, i, data.memory, *off, len(data.init)))

    # Layout: the u64 rows first (8-aligned), then the u32 items, then the bytes.
    img.globals_at = 0
    img.items_at = len(globals_rows)
    rows = bytearray()
    for elem, at, count in item_rows:
        rows += ITEM_ROW.pack(elem, 0, count)  # item offsets patched below
    img.segments_at = img.items_at + len(rows)
    img.datas_at = img.segments_at + len(seg_rows)
    img.global_descs_at = img.datas_at + DATA_ROW.size * len(module.datas)
    global_descs = _global_descs(ctx)
    items_base = img.global_descs_at + len(global_descs)
    for k, (elem, at, count) in enumerate(item_rows):
        ITEM_ROW.pack_into(rows, k * ITEM_ROW.size, elem, items_base + at, count)
    if sys.byteorder != "little":
        items.byteswap()
    at, lengths, data_parts, size = _data_bytes(module.datas, items_base + len(items) * 4)
    data_rows = _columns(len(lengths), at, lengths)
    img.parts = [bytes(globals_rows), bytes(rows), bytes(seg_rows), data_rows, global_descs,
                 items.tobytes(), *data_parts]
    img.size = size
    return img


# A reference type's code by its abstract heap type (the runtime's import checks compare
# these); a concrete heap type is 0x70 (a function type) or 0x6E (struct, array).
_REF_FAMILY_CODE = {"func": 0x70, "nofunc": 0x70, "extern": 0x6F, "noextern": 0x6F,
                    "exn": 0x69, "noexn": 0x69}


def valtype_code(ctx: ModuleContext, t) -> int:
    """The code of a value type in the descriptor's tables (abi.VALTYPE_CODES)."""
    if type(t) is RefType:
        heap = t.heap
        if type(heap) is int:
            return 0x70 if type(ctx.types.comp(heap)) is FuncType else 0x6E
        return _REF_FAMILY_CODE.get(heap, 0x6E)
    return VALTYPE_CODES[t]


def _global_descs(ctx: ModuleContext) -> bytes:
    """GLOBAL_DESC rows of every global.  100,000 globals share a few GlobalType objects:
    a row is packed per object and looked up by identity (map and join at C speed;
    hashing a dataclass runs Python)."""
    gts = ctx.globals
    by_id = dict(zip(map(id, gts), gts))
    rows = {k: GLOBAL_DESC.pack(valtype_code(ctx, g.valtype), int(g.mutable))
            for k, g in by_id.items()}
    return b"".join(map(rows.__getitem__, map(id, gts)))


def _columns(n: int, *columns) -> bytes:
    """n rows of u64 (little-endian), the columns interleaved at C speed; a column is
    an array("Q") or an iterable of n ints, or one int for every row."""
    width = len(columns)
    out = array("Q", bytes(8 * width * n))
    for k, col in enumerate(columns):
        if n:
            out[k::width] = (array("Q", [col]) * n if isinstance(col, int)
                             else col if isinstance(col, array) else array("Q", col))
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


def _number_global_rows(globs: NumberGlobals, lo: int, hi: int, base: int) -> bytes:
    """GLOBAL_ROWs of rows lo..hi-1 of `globs` (global index `base` + i)."""
    return _columns(hi - lo, range(base + lo, base + hi), GLOBAL_BITS, globs.bits(lo, hi))


def _const_data_rows(segs: ConstDataSegments, lo: int, hi: int) -> bytes:
    """SEGMENT_ROWs of rows lo..hi-1 of `segs`: memory 0 at a constant offset."""
    return _columns(hi - lo, SEG_DATA_ACTIVE, range(lo, hi), 0, OFFSET_CONST,
                    segs.offsets(lo, hi), segs.lens[lo:hi])


def _data_bytes(datas, base: int) -> tuple:
    """(image offset of each data segment, their lengths, the image's pieces from `base`
    on, where they end).  A data section's segments go in as they are in the module,
    headers between them included, each segment pointing at its own bytes: one slice
    whatever the number of segments, and a 100 MB segment is not copied once more."""
    if isinstance(datas, ConstDataSegments):
        if not datas:
            return array("Q"), array("Q"), [], base
        at = array("Q", map(add, datas.inits, repeat(base - datas.start)))
        region = memoryview(datas.data)[datas.start:datas.end]  # a view: no copy
        return at, datas.lens, [region], base + len(region)
    lengths = array("Q", (len(d.init) for d in datas))  # a list (a module built by hand)
    at = array("Q", accumulate(lengths, initial=base))
    return at[:-1], lengths, [d.init for d in datas], at[-1]


def ir_bytes(data: bytes) -> str:
    """An LLVM IR string constant `c"..."` of `data`, every byte escaped (at C
    speed: bytes.hex with a separator)."""
    if not data:
        return 'c""'
    return 'c"\\' + data.hex("\\") + '"'
