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

from typing import Generic, Iterable, Iterator, TypeVar

from ..errors import InvalidModule

T = TypeVar("T")


class IndexSpace(Generic[T]):
    """A list of entities addressed by module-controlled indices."""

    __slots__ = ("what", "_items")

    def __init__(self, what: str, items: Iterable[T] = ()) -> None:
        self.what = what  # the testsuite's noun: "type", "function", "elem segment", ...
        self._items: list[T] = list(items)

    def __getitem__(self, x: int) -> T:
        # `type(x) is int` also refuses slices and bools: an index is one integer.
        if type(x) is int and 0 <= x < len(self._items):
            return self._items[x]
        raise InvalidModule(f"unknown {self.what} {x}")

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"IndexSpace({self.what!r}, {self._items!r})"

    def append(self, item: T) -> None:
        self._items.append(item)

    def extend(self, items: Iterable[T]) -> None:
        self._items.extend(items)
