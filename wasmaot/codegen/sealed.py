"""Sealed tables: funcref tables whose contents are known when the module is compiled.

A `call_indirect` checks, at run time, that the index is inside the table, that
the element is not null and that its function has the expected type, then loads
the callee's code and instance from the element's record: about ten instructions
and three trap branches per call, plus the table and type-id pointers kept live
across the function.  C compilers give every function pointer of a program one
such table, initialized by active element segments and never changed after.

A table is *sealed* when nothing but its active segments can ever set an element:

- it is defined here, neither imported nor exported (no other module and no host
  can reach it);
- no instruction of the module changes it (table.set, grow, fill, init, or copy
  into it: `ModuleContext.written_tables`, filled by the validator);
- its initial value and every active segment into it are `ref.null` or `ref.func`
  of a function defined here, at constant offsets, all in bounds;
- it has at most MAX_SEALED_SIZE elements.

Its contents are then the function indices `items` (None: null), for every
instance of the module alike (an instance's funcref records of its own functions
carry its own vmctx, which is the caller's).  `call_indirect` of a final type T
then loads from a constant array, one per (table, T): the code pointer of the
element's function if its type is T, else a sentinel, the code of the trap the
caller raises (`abi.TRAP_CODES`: uninitialized element, indirect call type
mismatch; small numbers, never a code address).  What stays at run time is the
bounds check, against a constant size, and the sentinel test.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..wasm.module import Module
from ..wasm.validate_module import ModuleContext
from . import abi
from .image import NULL_ITEM, OFFSET_CONST, element_item, segment_offset

# A sealed table's size is a constant of the code; bigger ones keep the run-time checks
# (each array of a table is 8 bytes per element).
MAX_SEALED_SIZE = 1 << 16

# Sentinels in a dispatch array: element i is null, or a function of another type.
NULL_SLOT = abi.TRAP_CODES["UNINITIALIZED_ELEMENT"]
WRONG_TYPE = abi.TRAP_CODES["INDIRECT_CALL_TYPE"]
# The lowering takes any entry up to this for a sentinel: no code is in the first page.
MAX_SENTINEL = 4095
assert 0 < NULL_SLOT <= MAX_SENTINEL and 0 < WRONG_TYPE <= MAX_SENTINEL


@dataclass(frozen=True)
class SealedTable:
    items: tuple  # function index of each element, or None (null)


def sealed_tables(module: Module, ctx: ModuleContext) -> dict[int, SealedTable]:
    """The sealed tables of the module, by table index."""
    if ctx.written_tables is None:  # bodies not validated: any table may change
        return {}
    num_imported = len(ctx.tables) - len(module.tables)
    exported = {e.index for e in module.exports if e.kind == "table"}
    out = {}
    for i, table in enumerate(module.tables):
        tableidx = num_imported + i
        if tableidx in exported or tableidx in ctx.written_tables:
            continue
        items = _initial_items(module, ctx, tableidx, table)
        if items is not None:
            out[tableidx] = SealedTable(tuple(items))
    return out


def _initial_items(module: Module, ctx: ModuleContext, tableidx: int, table) -> list | None:
    """The elements after instantiation, or None if they are not all known here."""
    limits = table.type.limits
    if limits.min > MAX_SEALED_SIZE:
        return None
    first = None
    if table.init is not None:
        first = _function_or_null(module, element_item(table.init))
        if first is False:
            return None
    items = [first] * limits.min
    for elem in module.elems:
        if elem.mode != "active" or elem.table != tableidx:
            continue
        mode, offset = segment_offset(ctx, elem.offset_expr) or (None, 0)
        if mode != OFFSET_CONST or offset + len(elem.init) > len(items):
            return None  # not known here, or instantiation fails anyway
        values = elem.init.indices if elem.func_indices else [element_item(e) for e in elem.init]
        for j, v in enumerate(values):
            f = _function_or_null(module, v)
            if f is False:
                return None
            items[offset + j] = f
    return items


def _function_or_null(module: Module, item: int | None):
    """A defined function's index, None for ref.null, False for anything else (an
    imported function, whose record is filled at instantiation, or an expression)."""
    if item is None:
        return False
    if item == NULL_ITEM:
        return None
    return item if item >= module.num_imported_funcs else False


def dispatch_entries(table: SealedTable, canon: int, func_canon) -> list[tuple[bool, int]]:
    """The dispatch array of `table` for the canonical function type `canon`: per
    element, (True, function index) if the function's type is `canon`, else
    (False, sentinel).  `func_canon(f)`: the canonical type index of function f."""
    return [(False, NULL_SLOT) if f is None else (True, f) if func_canon(f) == canon
            else (False, WRONG_TYPE) for f in table.items]
