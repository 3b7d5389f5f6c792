"""Index spaces (spec 2.5.1, "Indices") whose lookups are checked.

Every index a module names in an immediate or a declaration -- a type,
function, table, memory, global, element segment or tag index -- is looked up
in an `IndexSpace`.  Its `[]` is the only way in, and it raises the spec
testsuite's `unknown <space> <index>` (`InvalidModule`) for an index out of
range, so a validation rule cannot use an immediate before checking it: the
check *is* the lookup.  (Issue 8: `array.fill 7` in a module without type 7
used to escape as a bare `IndexError`.)

Errors raised here carry no location; the caller that knows the instruction or
section fills it in with `WasmError.with_context`.
"""

from __future__ import annotations

from typing import Generic, Iterable, TypeVar

from ..errors import InvalidModule

T = TypeVar("T")


class IndexSpace(list, Generic[T]):
    """A list of entities addressed by module-controlled indices.

    A `list` subclass so that `len`, iteration and `append` stay C calls (the validator's
    hot paths use them); only `[]` is ours.
    """

    __slots__ = ("what",)

    def __init__(self, what: str, items: Iterable[T] = ()) -> None:
        super().__init__(items)
        self.what = what  # the testsuite's noun: "type", "function", "elem segment", ...

    def __getitem__(self, x: int) -> T:
        # `type(x) is int` also refuses slices and bools: an index is one integer, and a
        # negative one (which a list would count from the end) is out of range too.
        if type(x) is int and 0 <= x < len(self):
            return _list_getitem(self, x)
        raise InvalidModule(f"unknown {self.what} {x}")

    def __repr__(self) -> str:
        return f"IndexSpace({self.what!r}, {list(self)!r})"


_list_getitem = list.__getitem__
