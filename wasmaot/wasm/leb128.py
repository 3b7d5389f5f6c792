"""LEB128 encoders (spec 5.2.2), for the tools and tests that write binary
modules (bench/shapes.py, tools/validator_fuzz, tests).  The decoder reads
LEB128 in reader.py; wasmaot itself never writes a module."""

from __future__ import annotations


def uleb(value: int, width: int = 0) -> bytes:
    """Unsigned LEB128 of `value`, padded with continuation bytes to at least
    `width` bytes (an overlong but valid encoding when width is larger)."""
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value or len(out) + 1 < width:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sleb(value: int) -> bytes:
    """Signed LEB128 of `value`, shortest form."""
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if (value == 0 and not b & 0x40) or (value == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)
