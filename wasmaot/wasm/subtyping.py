"""Type canonicalization and subtyping (spec 3.3, "Matching", and 4.2.1 "Type
equivalence" for recursive types).

`TypeContext` owns the module's defined types.  Type indices are mapped to the
index of their *canonical representative*: the first type index whose
recursion group is structurally identical (iso-recursive equivalence, with
references inside a group compared by position and references outside it by
their own representative).  All types the validator handles are normalized to
representatives, so type equality is Python `==` and subtyping walks declared
supertypes of representatives.
"""

from __future__ import annotations

from .index_space import IndexSpace
from .types import (
    BOT, BOTTOM_OF_TOP, TOP_OF, ArrayType, FieldType, FuncType, RecGroup, RefType,
    StructType, SubType,
)

# Abstract heap type -> the abstract types it is a subtype of (reflexive).
_ABSTRACT_SUPERS = {
    "any": {"any"},
    "eq": {"eq", "any"},
    "i31": {"i31", "eq", "any"},
    "struct": {"struct", "eq", "any"},
    "array": {"array", "eq", "any"},
    "none": {"none", "i31", "struct", "array", "eq", "any"},
    "func": {"func"},
    "nofunc": {"nofunc", "func"},
    "extern": {"extern"},
    "noextern": {"noextern", "extern"},
    "exn": {"exn"},
    "noexn": {"noexn", "exn"},
}
# The abstract type that every concrete type of a composite kind is below.
_KIND_SUPERS = {
    FuncType: {"func"},
    StructType: {"struct", "eq", "any"},
    ArrayType: {"array", "eq", "any"},
}
_KIND_BOTTOM = {FuncType: "nofunc", StructType: "none", ArrayType: "none"}
_KIND_TOP = {FuncType: "func", StructType: "any", ArrayType: "any"}


class TypeContext:
    """The defined types of one module, canonicalized and ready for matching."""

    def __init__(self) -> None:
        # Indexed by type indices the module names, so lookups are checked.
        self.subtypes: IndexSpace[SubType] = IndexSpace("type")  # as declared
        self.canon: IndexSpace[int] = IndexSpace("type")  # type index -> representative's index
        self.comps: list = []  # representative's composite type, normalized
        # Representative's declared supertype (normalized).  Acyclic, since a supertype's
        # index is below its subtype's (validate_module checks it before add_group), so the
        # walks up these chains in heap_matches end.
        self.super_of: list[int | None] = []
        self._groups: dict[tuple, int] = {}

    def __len__(self) -> int:
        return len(self.subtypes)

    # --- building ---------------------------------------------------------

    def add_group(self, group: RecGroup) -> None:
        """Canonicalize one recursion group.  Its type references must already
        have been checked to point inside the group or before it."""
        start, n = group.start, len(group.subtypes)
        key = tuple(self._key_of_subtype(st, start, n) for st in group.subtypes)
        rep_start = self._groups.setdefault(key, start)
        self.subtypes.extend(group.subtypes)
        self.canon.extend(range(rep_start, rep_start + n))
        for i, st in enumerate(group.subtypes):
            if rep_start == start:
                self.comps.append(self._norm_comp(st.comp))
                sup = st.supertypes[0] if st.supertypes else None
                self.super_of.append(None if sup is None else self.canon[sup])
            else:
                self.comps.append(self.comps[rep_start + i])
                self.super_of.append(self.super_of[rep_start + i])

    def _key_of_ref(self, x: int, start: int, n: int):
        return ("rec", x - start) if x >= start else self.canon[x]

    def _key_of_valtype(self, t, start: int, n: int):
        if type(t) is RefType and type(t.heap) is int:
            return (t.nullable, t.exact, self._key_of_ref(t.heap, start, n))
        return t

    def _key_of_subtype(self, st: SubType, start: int, n: int) -> tuple:
        kv = self._key_of_valtype
        comp = st.comp
        if type(comp) is FuncType:
            ck = ("func", tuple(kv(t, start, n) for t in comp.params),
                  tuple(kv(t, start, n) for t in comp.results))
        elif type(comp) is StructType:
            ck = ("struct", tuple((kv(f.storage, start, n), f.mutable) for f in comp.fields))
        else:
            ck = ("array", kv(comp.field.storage, start, n), comp.field.mutable)
        refs = tuple(self._key_of_ref(x, start, n) for x in st.supertypes)
        desc = tuple(None if x is None else self._key_of_ref(x, start, n)
                     for x in (st.describes, st.descriptor))
        return (st.final, refs, desc, ck)

    # --- normalization ----------------------------------------------------

    def norm(self, t):
        """A valtype (or storage type) with concrete heap types canonicalized."""
        if type(t) is RefType and type(t.heap) is int:
            rep = self.canon[t.heap]
            if rep != t.heap:
                return RefType(t.nullable, rep, t.exact)
        return t

    def norm_heap(self, h):
        return self.canon[h] if type(h) is int else h

    def _norm_field(self, f: FieldType) -> FieldType:
        return FieldType(self.norm(f.storage), f.mutable)

    def _norm_comp(self, comp):
        if type(comp) is FuncType:
            return FuncType(tuple(map(self.norm, comp.params)), tuple(map(self.norm, comp.results)))
        if type(comp) is StructType:
            return StructType(tuple(map(self._norm_field, comp.fields)))
        return ArrayType(self._norm_field(comp.field))

    # --- queries ----------------------------------------------------------

    def comp(self, x: int):
        return self.comps[x]

    def top_of(self, h) -> str:
        if type(h) is int:
            return _KIND_TOP[type(self.comps[h])]
        return TOP_OF[h]

    def bottom_of(self, h) -> str:
        return BOTTOM_OF_TOP[self.top_of(h)]

    # --- matching (spec 3.3) ----------------------------------------------

    def heap_matches(self, a, b) -> bool:
        """a <: b for heap types."""
        if a == b or a == BOT:  # bot: the heap type of an unknown operand (pop_ref)
            return True
        ta, tb = type(a), type(b)
        if ta is str:
            if tb is str:
                return b in _ABSTRACT_SUPERS[a]
            # Only the bottom of b's hierarchy is below a concrete type.
            return a == _KIND_BOTTOM[type(self.comps[b])]
        if tb is str:
            return b in _KIND_SUPERS[type(self.comps[a])]
        sup = self.super_of[a]
        while sup is not None:
            if sup == b:
                return True
            sup = self.super_of[sup]
        return False

    def ref_matches(self, a: RefType, b: RefType) -> bool:
        if a.nullable and not b.nullable:
            return False
        if a.heap == BOT:
            return True
        if b.exact:
            # Only the type itself, exactly, or its hierarchy's bottom is below an exact type.
            if a.exact:
                return a.heap == b.heap
            return type(a.heap) is str and a.heap == self.bottom_of(b.heap)
        return self.heap_matches(a.heap, b.heap)

    def matches(self, a, b) -> bool:
        """Valtype (or storage type) subtyping a <: b; BOT matches everything."""
        if a == b or a is BOT:
            return True
        if type(a) is RefType and type(b) is RefType:
            return self.ref_matches(a, b)
        return False

    def all_match(self, xs, ys) -> bool:
        return len(xs) == len(ys) and all(self.matches(x, y) for x, y in zip(xs, ys))

    def field_matches(self, a: FieldType, b: FieldType) -> bool:
        if a.mutable != b.mutable:
            return False
        if a.mutable:
            return self.matches(a.storage, b.storage) and self.matches(b.storage, a.storage)
        return self.matches(a.storage, b.storage)

    def comp_matches(self, a, b) -> bool:
        """Composite type subtyping, used for declared supertypes (spec 3.3.x)."""
        if type(a) is not type(b):
            return False
        if type(a) is FuncType:
            return (self.all_match(b.params, a.params) and self.all_match(a.results, b.results))
        if type(a) is StructType:
            return len(a.fields) >= len(b.fields) and all(
                self.field_matches(fa, fb) for fa, fb in zip(a.fields, b.fields))
        return self.field_matches(a.field, b.field)
