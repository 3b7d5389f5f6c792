"""Decoding of types (spec 5.3): valtype, reftype, heaptype, the type section's
recursion groups, limits, and the table, memory, global and tag types."""

from __future__ import annotations

from ..errors import ImplementationLimit, MalformedModule
from .limits import MAX_FUNCTION_PARAMS, MAX_FUNCTION_RESULTS
from .reader import Reader
from .types import (
    ABSTRACT_HEAPTYPES, F32, F64, I8, I16, I32, I64, V128, ArrayType, BlockType, FieldType,
    FuncType, GlobalType, Limits, MemType, RecGroup, RefType, StructType, SubType, TableType,
    TagType,
)

NUMTYPE_CODES = {0x7F: I32, 0x7E: I64, 0x7D: F32, 0x7C: F64, 0x7B: V128}
PACKED_CODES = {0x78: I8, 0x77: I16}
REF_NULL = 0x63
REF = 0x64
EXACT = 0x62  # custom-descriptors proposal

# One shared RefType per abstract shorthand, so hot paths can compare by identity.
_SHORTHAND_REFTYPES = {code: RefType(True, name) for code, name in ABSTRACT_HEAPTYPES.items()}


def read_heaptype(r: Reader) -> str | int:
    start = r.pos
    b = r.peek()
    if b in ABSTRACT_HEAPTYPES:
        r.pos += 1
        return ABSTRACT_HEAPTYPES[b]
    idx = r.s33()
    if idx < 0:
        raise MalformedModule("malformed heap type", offset=start)
    return idx


def read_heaptype_exact(r: Reader) -> tuple:
    """A heap type with the custom-descriptors proposal's optional `exact`
    prefix (allowed before type indices only): returns (heaptype, exact)."""
    if r.peek() != EXACT:
        return read_heaptype(r), False
    r.pos += 1
    start = r.pos
    heap = read_heaptype(r)
    if type(heap) is not int:
        raise MalformedModule("malformed heap type", offset=start)
    return heap, True


def _read_ref_body(r: Reader, nullable: bool) -> RefType:
    heap, exact = read_heaptype_exact(r)
    return RefType(nullable, heap, exact)


def read_valtype(r: Reader, *, what: str = "value type"):
    start = r.pos
    b = r.u8()
    t = NUMTYPE_CODES.get(b)
    if t is not None:
        return t
    ref = _SHORTHAND_REFTYPES.get(b)
    if ref is not None:
        return ref
    if b == REF_NULL or b == REF:
        return _read_ref_body(r, b == REF_NULL)
    raise MalformedModule(f"malformed {what}", offset=start)


def read_reftype(r: Reader) -> RefType:
    start = r.pos
    t = read_valtype(r, what="reference type")
    if type(t) is not RefType:
        raise MalformedModule("malformed reference type", offset=start)
    return t


def read_blocktype(r: Reader) -> BlockType:
    b = r.peek()
    if b == 0x40:
        r.pos += 1
        return _EMPTY_BLOCKTYPE
    if b in NUMTYPE_CODES or b in _SHORTHAND_REFTYPES or b == REF or b == REF_NULL:
        return BlockType(valtype=read_valtype(r))
    start = r.pos
    idx = r.s33()
    if idx < 0:
        raise MalformedModule("malformed block type", offset=start)
    return BlockType(typeidx=idx)


_EMPTY_BLOCKTYPE = BlockType()


# --- type section ---------------------------------------------------------------


def _read_fieldtype(r: Reader) -> FieldType:
    start = r.pos
    b = r.peek()
    if b in PACKED_CODES:
        r.pos += 1
        storage = PACKED_CODES[b]
    else:
        storage = read_valtype(r, what="storage type")
    mut = r.u8()
    if mut > 1:
        raise MalformedModule("malformed mutability", offset=start)
    return FieldType(storage, bool(mut))


def _limited_len(r: Reader, limit: int, what: str) -> int:
    pos = r.pos
    n = r.vec_len()
    if n > limit:
        raise ImplementationLimit(f"{what} count exceeds limit of {limit}", offset=pos)
    return n


def _read_comptype(r: Reader):
    start = r.pos
    form = r.u8()
    if form == 0x60:
        params = tuple(read_valtype(r) for _ in range(_limited_len(r, MAX_FUNCTION_PARAMS,
                                                                    "function params")))
        results = tuple(read_valtype(r) for _ in range(_limited_len(r, MAX_FUNCTION_RESULTS,
                                                                     "function results")))
        return FuncType(params, results)
    if form == 0x5F:
        return StructType(tuple(_read_fieldtype(r) for _ in range(r.vec_len())))
    if form == 0x5E:
        return ArrayType(_read_fieldtype(r))
    raise MalformedModule("malformed definition type", offset=start)


def _read_subtype(r: Reader) -> SubType:
    b = r.peek()
    final, supers = True, ()
    if b in (0x50, 0x4F):
        r.pos += 1
        final = b == 0x4F
        supers = tuple(r.u32() for _ in range(r.vec_len()))
    describes = descriptor = None
    if r.peek() == 0x4C:
        r.pos += 1
        describes = r.u32()
    if r.peek() == 0x4D:
        r.pos += 1
        descriptor = r.u32()
    return SubType(final, supers, _read_comptype(r), describes, descriptor)


def read_rec_group(r: Reader, start_index: int) -> RecGroup:
    if r.peek() == 0x4E:
        r.pos += 1
        subtypes = tuple(_read_subtype(r) for _ in range(r.vec_len()))
    else:
        subtypes = (_read_subtype(r),)
    return RecGroup(subtypes, start_index)


# --- limits and external types ----------------------------------------------------


def read_limits(r: Reader, *, memory: bool) -> Limits:
    """Limits flags (spec 5.3.7 with memory64, threads and custom-page-sizes):
    bit 0 has-max, bit 1 shared, bit 2 64-bit, bit 3 custom page size."""
    start = r.pos
    flags = r.u8()
    allowed = 0x0F if memory else 0x05
    if flags & ~allowed:
        raise MalformedModule("malformed limits flags", offset=start)
    is64 = bool(flags & 4)
    # Sizes are u64 in the binary for both address types; a 32-bit size out of
    # range is a validation error (spec 5.3.7 and 3.2.x).
    minimum = r.u64()
    maximum = r.u64() if flags & 1 else None
    page_size_log2 = 16
    if flags & 8:
        p = r.u32()
        if p > 64:
            raise MalformedModule("malformed memory page size", offset=start)
        page_size_log2 = p
    return Limits(minimum, maximum, is64, bool(flags & 2), page_size_log2)


def read_tabletype(r: Reader) -> TableType:
    reftype = read_reftype(r)
    return TableType(reftype, read_limits(r, memory=False))


def read_memtype(r: Reader) -> MemType:
    return MemType(read_limits(r, memory=True))


def read_globaltype(r: Reader) -> GlobalType:
    t = read_valtype(r)
    start = r.pos
    mut = r.u8()
    if mut > 1:
        raise MalformedModule("malformed mutability", offset=start)
    return GlobalType(t, bool(mut))


def read_tagtype(r: Reader) -> TagType:
    start = r.pos
    if r.u8() != 0:
        raise MalformedModule("malformed tag attribute", offset=start)
    return TagType(r.u32())
