"""Byte-level reader for the binary format's primitive values (spec 5.2).

Every read is bounded by `end`; running past it raises `MalformedModule`
("unexpected end"), never `IndexError`.  LEB128 decoding enforces the spec's
limits: at most ceil(N/7) bytes, and unused bits of the last byte must be zero
(unsigned) or a sign extension (signed).
"""

from __future__ import annotations

import struct

from ..errors import MalformedModule

_F32 = struct.Struct("<I")
_F64 = struct.Struct("<Q")


class Reader:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    # --- errors ------------------------------------------------------------

    def error(self, message: str, offset: int | None = None) -> MalformedModule:
        return MalformedModule(message, offset=self.pos if offset is None else offset)

    def eof(self) -> MalformedModule:
        return MalformedModule("unexpected end", offset=self.pos)

    # --- fixed-size values --------------------------------------------------

    def at_end(self) -> bool:
        return self.pos >= self.end

    def u8(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise self.eof()
        self.pos = pos + 1
        return self.data[pos]

    def peek(self) -> int:
        if self.pos >= self.end:
            raise self.eof()
        return self.data[self.pos]

    def bytes(self, n: int) -> bytes:
        pos = self.pos
        if n > self.end - pos:
            raise MalformedModule("unexpected end", offset=pos)
        self.pos = pos + n
        return self.data[pos:pos + n]

    def f32_bits(self) -> int:
        return _F32.unpack(self.bytes(4))[0]

    def f64_bits(self) -> int:
        return _F64.unpack(self.bytes(8))[0]

    # --- LEB128 -------------------------------------------------------------

    def u32(self) -> int:
        pos = self.pos
        if pos < self.end:
            b = self.data[pos]
            if b < 0x80:  # the common one-byte case
                self.pos = pos + 1
                return b
        return self._uleb(32)

    def u64(self) -> int:
        pos = self.pos
        if pos < self.end:
            b = self.data[pos]
            if b < 0x80:  # the common one-byte case (a memarg's offset)
                self.pos = pos + 1
                return b
        return self._uleb(64)

    def s32(self) -> int:
        pos = self.pos
        if pos < self.end:
            b = self.data[pos]
            if b < 0x40:
                self.pos = pos + 1
                return b
        return self._sleb(32)

    def s33(self) -> int:
        return self._sleb(33)

    def s64(self) -> int:
        return self._sleb(64)

    def _uleb(self, bits: int) -> int:
        data, pos, end = self.data, self.pos, self.end
        start = pos
        result = shift = 0
        max_bytes = (bits + 6) // 7
        while True:
            if pos >= end:
                self.pos = pos
                raise self.eof()
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if pos - start >= max_bytes:
                raise MalformedModule("integer representation too long", offset=start)
        if pos - start == max_bytes:
            unused = bits - 7 * (max_bytes - 1)  # value bits in the last byte
            if b >> unused:
                raise MalformedModule("integer too large", offset=start)
        self.pos = pos
        return result

    def _sleb(self, bits: int) -> int:
        data, pos, end = self.data, self.pos, self.end
        start = pos
        result = shift = 0
        max_bytes = (bits + 6) // 7
        while True:
            if pos >= end:
                self.pos = pos
                raise self.eof()
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
            if pos - start >= max_bytes:
                raise MalformedModule("integer representation too long", offset=start)
        if pos - start == max_bytes:
            # Bits of the last byte beyond the value's width must all equal its sign bit.
            used = bits - 7 * (max_bytes - 1)
            rest = (b & 0x7F) >> (used - 1)
            if rest != 0 and rest != (0x7F >> (used - 1)):
                raise MalformedModule("integer too large", offset=start)
        if result & (1 << (shift - 1)):
            result -= 1 << shift
        self.pos = pos
        return result

    # --- composite ----------------------------------------------------------

    def name(self) -> str:
        start = self.pos
        raw = self.bytes(self.u32())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedModule("malformed UTF-8 encoding", offset=start) from None

    def vec_len(self) -> int:
        """A vector's length; each element takes at least one byte, so a length
        beyond the remaining bytes is malformed before we try to read it."""
        pos = self.pos
        n = self.u32()
        if n > self.end - self.pos:
            raise MalformedModule("unexpected end", offset=pos)
        return n
