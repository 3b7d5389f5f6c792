"""Reading back the manifest `wasmaot build` embeds in an executable: an ELF
section (`.wasmaot.manifest`) holding one JSON object (wasmaot version, the
module's sha256, target, flags and grants)."""

from __future__ import annotations

import json
import struct

from ..errors import WasmError
from .build import MANIFEST_SECTION

ELF_MAGIC = b"\x7fELF"


def is_elf(data: bytes) -> bool:
    return data[:4] == ELF_MAGIC


def read_manifest(data: bytes) -> dict:
    """The manifest of an ELF64 little-endian executable; WasmError if absent."""
    if not is_elf(data) or data[4] != 2 or data[5] != 1:
        raise WasmError("not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def section(i):
        base = shoff + i * shentsize
        name, _type, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", data, base)
        return name, offset, size

    try:
        _, str_off, str_size = section(shstrndx)
        names = data[str_off:str_off + str_size]
        for i in range(shnum):
            name_off, offset, size = section(i)
            name = names[name_off:names.index(b"\0", name_off)].decode()
            if name == MANIFEST_SECTION:
                return json.loads(data[offset:offset + size].rstrip(b"\0"))
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        raise WasmError(f"malformed ELF file: {e}") from None
    raise WasmError("no wasmaot manifest: not an executable made by wasmaot build")
