"""The decoded module (spec 2.5, "Modules"), as plain dataclasses.

Index spaces follow the spec: imported entities come first.  `Module.func_types`
and friends give the whole index space; `funcs`/`tables`/... hold only the
entities the module defines itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Union

from .types import (
    FuncType, GlobalType, Instr, MemType, RecGroup, RefType, SubType, TableType, TagType,
)

ExternType = Union[int, TableType, MemType, GlobalType, TagType]  # int = function's type index

EXTERN_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}
# Imports may also be exact function imports (custom-descriptors proposal).
IMPORT_KINDS = {**EXTERN_KINDS, 0x20: "func_exact"}


@dataclass
class SectionInfo:
    id: int
    name: str
    offset: int  # offset of the section's contents
    size: int


@dataclass
class CustomSection:
    name: str
    offset: int
    size: int


@dataclass
class Import:
    module: str
    name: str
    kind: str  # one of EXTERN_KINDS' values
    desc: ExternType
    offset: int = 0


@dataclass
class Export:
    name: str
    kind: str
    index: int
    offset: int = 0


@dataclass
class Table:
    type: TableType
    init: list[Instr] | None  # explicit initializer expression, if any
    offset: int = 0


@dataclass
class Global:
    type: GlobalType
    init: list[Instr]
    offset: int = 0


@dataclass
class Code:
    """One function body.  `locals` is a list of (count, valtype) runs; the
    instructions are decoded lazily from `data[body_offset:end]`."""

    locals: list
    body_offset: int
    end: int
    offset: int  # offset of the body's size field

    @property
    def size(self) -> int:
        return self.end - self.offset


@dataclass
class Elem:
    mode: str  # "passive", "active", "declarative"
    reftype: RefType
    init: list  # const exprs (each a list[Instr]); see func_indices
    table: int = 0
    offset_expr: list[Instr] | None = None
    offset: int = 0
    # True when the binary gave function indices rather than expressions:
    # `init` is then a sections.FuncIndexItems, the indices in an array, each
    # read back as the expression `ref.func x`.
    func_indices: bool = False


@dataclass
class Data:
    mode: str  # "passive", "active"
    init: bytes
    memory: int = 0
    offset_expr: list[Instr] | None = None
    offset: int = 0


@dataclass
class Names:
    """Contents of the `name` custom section (may be partial or absent)."""

    module: str | None = None
    funcs: dict[int, str] = field(default_factory=dict)
    locals: dict[int, dict[int, str]] = field(default_factory=dict)


@dataclass
class Module:
    data: bytes
    rec_groups: list[RecGroup] = field(default_factory=list)
    types: list[SubType] = field(default_factory=list)  # one per type index
    imports: list[Import] = field(default_factory=list)
    funcs: list[int] = field(default_factory=list)  # type index of each defined function
    tables: list[Table] = field(default_factory=list)
    memories: list[MemType] = field(default_factory=list)
    tags: list[TagType] = field(default_factory=list)
    # The decoder gives a sections.NumberGlobals: common globals kept as rows, read back
    # as Global objects on access.
    globals: Sequence[Global] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)
    start: int | None = None
    elems: list[Elem] = field(default_factory=list)
    data_count: int | None = None
    codes: list[Code] = field(default_factory=list)
    datas: Sequence[Data] = field(default_factory=list)  # sections.ConstDataSegments, likewise
    sections: list[SectionInfo] = field(default_factory=list)
    customs: list[CustomSection] = field(default_factory=list)
    names: Names = field(default_factory=Names)

    # --- index spaces (imports first) -------------------------------------

    def _imported(self, kind: str) -> list:
        kinds = ("func", "func_exact") if kind == "func" else (kind,)
        return [imp.desc for imp in self.imports if imp.kind in kinds]

    @property
    def func_typeidxs(self) -> list[int]:
        return self._imported("func") + list(self.funcs)

    @property
    def table_types(self) -> list[TableType]:
        return self._imported("table") + [t.type for t in self.tables]

    @property
    def mem_types(self) -> list[MemType]:
        return self._imported("memory") + list(self.memories)

    @property
    def global_types(self) -> list[GlobalType]:
        return self._imported("global") + [g.type for g in self.globals]

    @property
    def tag_types(self) -> list[TagType]:
        return self._imported("tag") + list(self.tags)

    @property
    def num_imported_funcs(self) -> int:
        return sum(1 for imp in self.imports if imp.kind in ("func", "func_exact"))

    def func_type(self, funcidx: int) -> FuncType:
        """The function type of function `funcidx` (imports first)."""
        return self.types[self.func_typeidxs[funcidx]].comp

    def func_name(self, funcidx: int) -> str | None:
        return self.names.funcs.get(funcidx)
