"""WebAssembly types, named as in the spec (section 2.3, "Types").

Representation, chosen so the validator's hot path compares with `==`/`is`:

* numtype / vectype: the interned strings ``"i32" "i64" "f32" "f64" "v128"``.
* packed storage types (struct/array fields only): ``"i8" "i16"``.
* heaptype: an abstract heap type is one of the strings in `ABSTRACT_HEAPTYPES`;
  a concrete one is an ``int`` type index.  Inside the validator concrete indices
  are replaced by the index of their canonical representative (see
  `wasmaot.wasm.subtyping`), so structurally equal types compare equal.
* reftype: the frozen dataclass `RefType`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Union

I32 = "i32"
I64 = "i64"
F32 = "f32"
F64 = "f64"
V128 = "v128"
I8 = "i8"
I16 = "i16"
NUMTYPES = (I32, I64, F32, F64)

# The validator's "unknown" operand type (spec appendix: `Unknown`).
BOT = "bot"

# Abstract heap types, with their binary encodings (spec 5.3.3).
ABSTRACT_HEAPTYPES = {
    0x73: "nofunc",
    0x72: "noextern",
    0x71: "none",
    0x70: "func",
    0x6F: "extern",
    0x6E: "any",
    0x6D: "eq",
    0x6C: "i31",
    0x6B: "struct",
    0x6A: "array",
    0x69: "exn",
    0x74: "noexn",
}
HEAPTYPE_CODES = {name: code for code, name in ABSTRACT_HEAPTYPES.items()}

# Each abstract heap type's hierarchy: its top and its bottom.
TOP_OF = {
    "func": "func", "nofunc": "func",
    "extern": "extern", "noextern": "extern",
    "any": "any", "eq": "any", "i31": "any", "struct": "any", "array": "any", "none": "any",
    "exn": "exn", "noexn": "exn",
}
BOTTOM_OF_TOP = {"func": "nofunc", "extern": "noextern", "any": "none", "exn": "noexn"}

HeapType = Union[str, int]


@dataclass(frozen=True, slots=True)
class RefType:
    nullable: bool
    heap: HeapType
    exact: bool = False  # custom-descriptors proposal: `(ref exact $t)`

    def __str__(self) -> str:
        heap = str(self.heap)
        if self.exact:
            heap = f"(exact {heap})"
        shorthand = _SHORTHANDS.get(heap) if self.nullable else None
        if shorthand:
            return shorthand
        return f"(ref {'null ' if self.nullable else ''}{heap})"


# `(ref bot)`: the type `pop_ref` gives for an unknown operand (spec appendix A.3, `Ref(Bot,
# false)`); a reference type below every other one.
BOT_REF = RefType(False, BOT)

_SHORTHANDS = {
    "func": "funcref", "extern": "externref", "any": "anyref", "eq": "eqref",
    "i31": "i31ref", "struct": "structref", "array": "arrayref", "none": "nullref",
    "nofunc": "nullfuncref", "noextern": "nullexternref", "exn": "exnref",
    "noexn": "nullexnref",
}

FUNCREF = RefType(True, "func")
EXTERNREF = RefType(True, "extern")
EXNREF = RefType(True, "exn")

ValType = Union[str, RefType]


def is_num(t: ValType) -> bool:
    return t in NUMTYPES


def is_vec(t: ValType) -> bool:
    return t == V128


def is_ref(t: ValType) -> bool:
    return type(t) is RefType


def is_defaultable(t: ValType) -> bool:
    return type(t) is not RefType or t.nullable


def valtype_str(t: ValType) -> str:
    return str(t)


# --- composite types (spec 2.3.9) -------------------------------------------


@dataclass(frozen=True, slots=True)
class FuncType:
    params: tuple
    results: tuple

    def __str__(self) -> str:
        p = " ".join(map(str, self.params))
        r = " ".join(map(str, self.results))
        return f"[{p}] -> [{r}]"


@dataclass(frozen=True, slots=True)
class FieldType:
    storage: ValType  # a valtype, or "i8"/"i16"
    mutable: bool

    @property
    def unpacked(self) -> ValType:
        return I32 if self.storage in (I8, I16) else self.storage


@dataclass(frozen=True, slots=True)
class StructType:
    fields: tuple


@dataclass(frozen=True, slots=True)
class ArrayType:
    field: FieldType


CompType = Union[FuncType, StructType, ArrayType]


@dataclass(frozen=True, slots=True)
class SubType:
    """One entry of a rec group: `sub final? supertypes comptype`."""

    final: bool
    supertypes: tuple
    comp: CompType
    # custom-descriptors proposal: `(describes $t)` / `(descriptor $t)`
    describes: int | None = None
    descriptor: int | None = None


@dataclass(frozen=True, slots=True)
class RecGroup:
    subtypes: tuple
    start: int  # type index of the first subtype


# --- external types ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    min: int
    max: int | None
    is64: bool = False  # address type i64 (memory64 / table64)
    shared: bool = False  # threads proposal
    page_size_log2: int = 16  # custom-page-sizes proposal

    @property
    def addrtype(self) -> str:
        return I64 if self.is64 else I32


@dataclass(frozen=True, slots=True)
class MemType:
    limits: Limits


@dataclass(frozen=True, slots=True)
class TableType:
    reftype: RefType
    limits: Limits


@dataclass(frozen=True, slots=True)
class GlobalType:
    valtype: ValType
    mutable: bool


@dataclass(frozen=True, slots=True)
class TagType:
    typeidx: int


class Memarg(NamedTuple):
    """A memarg (spec 5.4.7).  A named tuple, not a frozen dataclass: one is made
    for every memory access, twice (validation, lowering), and a frozen
    dataclass's __init__ sets each field through object.__setattr__ (lua: 22,000
    accesses, 3 % of its frontend)."""

    align: int  # log2 of the alignment
    offset: int
    memidx: int = 0


@dataclass(frozen=True, slots=True)
class BlockType:
    """A blocktype: empty, one valtype, or a type index (spec 5.4.1)."""

    valtype: ValType | None = None
    typeidx: int | None = None


@dataclass(frozen=True, slots=True)
class Catch:
    """One clause of `try_table`: kind is catch, catch_ref, catch_all, catch_all_ref."""

    kind: str
    tagidx: int | None
    labelidx: int


@dataclass(slots=True)
class Instr:
    """A decoded instruction: an opcode-table row, its immediates and offset."""

    op: object
    imms: tuple
    offset: int = field(default=0)
