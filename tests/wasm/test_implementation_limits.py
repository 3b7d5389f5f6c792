"""Implementation limits (wasm/limits.py): a module one over a limit is refused
at once with `implementation limit: ...`, the CLI's one line; one at the limit
is accepted (where that is cheap to build).  The counts are checked before any
per-item decoding, so the over-limit modules below are mostly filler bytes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from wasmaot.errors import ImplementationLimit, InvalidModule
from wasmaot.wasm import decode_module, validate_module
from wasmaot.wasm import limits

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from shapes import VOID_FUNC, body, functype, name, section, uleb, vec  # noqa: E402

HEADER = b"\0asm\1\0\0\0"


def _counted(sid: int, count: int, item: bytes) -> bytes:
    """A section of `count` copies of `item`."""
    return section(sid, uleb(count) + item * count)


def _one_func(*extra_sections: bytes) -> bytes:
    return HEADER + section(1, vec([VOID_FUNC])) + b"".join(extra_sections)


def _memories(n: int, imported: int = 0) -> bytes:
    imports = [name("m") + name(f"i{i}") + b"\x02\x00\x00" for i in range(imported)]
    return (HEADER + (section(2, vec(imports)) if imports else b"")
            + _counted(5, n, b"\x00\x00"))


def _funcs_section(n: int) -> bytes:
    return HEADER + section(1, vec([VOID_FUNC])) + _counted(3, n, b"\x00")


def _body(size: int) -> bytes:
    code = b"\x01" * (size - 2)  # locals vector (1 byte) + nops + end
    return (HEADER + section(1, vec([VOID_FUNC])) + section(3, vec([b"\x00"]))
            + section(10, vec([body(b"\x00", code)])))


def _params(n: int) -> bytes:
    return HEADER + section(1, vec([functype(b"\x7f" * n, b"")]))


CASES = {
    # name: (module at the limit or None, module over it, message)
    "memories": (lambda: _memories(limits.MAX_MEMORIES), lambda: _memories(limits.MAX_MEMORIES + 1),
                 "memories count exceeds limit of 100"),
    "imported+defined memories": (None, lambda: _memories(1, imported=limits.MAX_MEMORIES),
                                  "memories count exceeds limit of 100"),
    "tables": (lambda: HEADER + _counted(4, 100, b"\x70\x00\x00"),
               lambda: HEADER + _counted(4, 101, b"\x70\x00\x00"),
               "tables count exceeds limit of 100"),
    "functions": (None, lambda: _funcs_section(limits.MAX_FUNCTIONS + 1),
                  "functions count exceeds limit of 1000000"),
    "types": (None, lambda: HEADER + _counted(1, limits.MAX_TYPES + 1, VOID_FUNC),
              "types count exceeds limit of 1000000"),
    "globals": (None, lambda: HEADER + _counted(6, limits.MAX_GLOBALS + 1, b"\x7f\x00\x41\x00\x0b"),
                "globals count exceeds limit of 1000000"),
    "data segments": (None, lambda: HEADER + _counted(11, limits.MAX_DATA_SEGMENTS + 1, b"\x01\x00"),
                      "data segments count exceeds limit of 100000"),
    "data count": (None, lambda: HEADER + section(12, uleb(limits.MAX_DATA_SEGMENTS + 1)),
                   "data segments count exceeds limit of 100000"),
    "element segments": (None, lambda: _one_func(
        _counted(9, limits.MAX_ELEMENT_SEGMENTS + 1, b"\x01\x00\x00")),
        "element segments count exceeds limit of 100000"),
    "element items": (None, lambda: _one_func(section(3, vec([b"\x00"])), section(9, vec([
        b"\x01\x00" + uleb(limits.MAX_ELEMENT_ITEMS + 1) + b"\x00" * (limits.MAX_ELEMENT_ITEMS + 1)])),
        section(10, vec([body(b"\x00", b"")]))),
        "element items count exceeds limit of 10000000"),
    "imports": (None, lambda: HEADER + section(1, vec([VOID_FUNC])) + _counted(
        2, limits.MAX_IMPORTS + 1, name("") + name("") + b"\x00\x00"),
        "imports count exceeds limit of 1000000"),
    "exports": (None, lambda: HEADER + _counted(7, limits.MAX_EXPORTS + 1, name("x") + b"\x00\x00"),
                "exports count exceeds limit of 1000000"),
    "function params": (lambda: _params(1000), lambda: _params(1001),
                        "function params count exceeds limit of 1000"),
    "function body size": (lambda: _body(limits.MAX_FUNCTION_SIZE), lambda: _body(limits.MAX_FUNCTION_SIZE + 1),
                           "function body size 7654322 exceeds limit of 7654321"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_over_the_limit_is_refused_at_once_and_at_the_limit_accepted(case):
    at_limit, over, message = CASES[case]
    data = over()
    t0 = time.perf_counter()
    with pytest.raises(ImplementationLimit, match=message) as err:
        validate_module(decode_module(data))
    assert time.perf_counter() - t0 < 5  # refused before per-item work
    assert isinstance(err.value, InvalidModule) and err.value.kind == "implementation limit"
    if at_limit is not None:
        validate_module(decode_module(at_limit()))


def test_cli_prints_the_limit_as_one_line(tmp_path):
    path = tmp_path / "mems.wasm"
    path.write_bytes(_memories(limits.MAX_MEMORIES + 1))
    out = subprocess.run([sys.executable, "-m", "wasmaot", "validate", str(path)],
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines() == [
        f"{path}: implementation limit: memories count exceeds limit of 100 (offset 0xb)"]
