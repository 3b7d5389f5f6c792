"""The `name` custom section (spec 7.4.1): module, function and local names."""

from __future__ import annotations

from ..errors import MalformedModule
from .module import Names
from .reader import Reader


def _namemap(r: Reader) -> dict[int, str]:
    return {r.u32(): r.name() for _ in range(r.vec_len())}


def read_name_section(r: Reader) -> Names:
    """Whatever parses is kept; a malformed subsection ends the reading."""
    names = Names()
    try:
        _read_subsections(r, names)
    except MalformedModule:
        pass
    return names


def _read_subsections(r: Reader, names: Names) -> None:
    while not r.at_end():
        sub_id = r.u8()
        size = r.u32()
        sub = Reader(r.data, r.pos, r.pos + size)
        if size > r.end - r.pos:
            break
        if sub_id == 0:
            names.module = sub.name()
        elif sub_id == 1:
            names.funcs = _namemap(sub)
        elif sub_id == 2:
            names.locals = {sub.u32(): _namemap(sub) for _ in range(sub.vec_len())}
        r.pos += size
