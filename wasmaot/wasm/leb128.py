"""LEB128 (spec 5.2.2) for the tools and tests that write or patch binary modules
(bench/, tools/validator_fuzz, tools/diff_farm, tests).  wasmaot's own decoder reads
LEB128 in reader.py, with its error reporting; wasmaot itself never writes a module."""

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


def read_uleb(data: bytes, pos: int) -> tuple[int, int] | None:
    """(value, end) of the unsigned LEB128 at pos, or None past the end of
    `data` or after 10 bytes."""
    value = shift = 0
    for i in range(pos, min(len(data), pos + 10)):
        value |= (data[i] & 0x7F) << shift
        shift += 7
        if not data[i] & 0x80:
            return value, i + 1
    return None
