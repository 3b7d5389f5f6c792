"""An ELF relocatable object holding one block of bytes under one symbol.

The module image (codegen/image.py: data segments, element items, the rows the
initializer loops over) goes into the executable this way rather than through
LLVM: writing 100 MB here is a copy, where as an IR constant it would be a
300 MB string to print, parse and emit again.

The object has one allocated read-only section, `.rodata.<symbol>`, aligned to
16, and one global hidden `STT_OBJECT` symbol at its start, sized to the bytes;
no relocations.  An empty `.note.GNU-stack` says it needs no executable stack.
Both targets are little-endian ELF64 and differ only in `e_machine`.
"""

from __future__ import annotations

import struct

from ..errors import ToolchainError

_MACHINES = {"x86_64": 62, "aarch64": 183}  # EM_X86_64, EM_AARCH64

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")

SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB = 1, 2, 3
SHF_ALLOC = 2
STB_GLOBAL, STT_OBJECT, STV_HIDDEN = 1, 1, 2
ALIGN = 16


def _pad(n: int, align: int) -> int:
    return -n % align


def data_object(symbol: str, parts: list, arch: str) -> bytes:
    """The object's bytes; `parts` are the contents, concatenated (one copy)."""
    machine = _MACHINES.get(arch)
    if machine is None:
        raise ToolchainError(f"no raw-data object format for {arch}")
    size = sum(map(len, parts))
    section = f".rodata.{symbol}".encode()
    shstrtab = b"\0" + section + b"\0.symtab\0.strtab\0.shstrtab\0.note.GNU-stack\0"
    name_at = {n: shstrtab.index(b"\0" + n + b"\0") + 1
               for n in (section, b".symtab", b".strtab", b".shstrtab", b".note.GNU-stack")}
    strtab = b"\0" + symbol.encode() + b"\0"
    symtab = (_SYM.pack(0, 0, 0, 0, 0, 0)
              + _SYM.pack(1, (STB_GLOBAL << 4) | STT_OBJECT, STV_HIDDEN, 1, 0, size))

    data_at = _EHDR.size  # 64: already 16-aligned
    symtab_at = data_at + size + _pad(data_at + size, 8)
    strtab_at = symtab_at + len(symtab)
    shstrtab_at = strtab_at + len(strtab)
    end = shstrtab_at + len(shstrtab)
    shdrs_at = end + _pad(end, 8)
    shdrs = [
        _SHDR.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        _SHDR.pack(name_at[section], SHT_PROGBITS, SHF_ALLOC, 0, data_at, size, 0, 0, ALIGN, 0),
        _SHDR.pack(name_at[b".symtab"], SHT_SYMTAB, 0, 0, symtab_at, len(symtab), 3, 1, 8,
                   _SYM.size),
        _SHDR.pack(name_at[b".strtab"], SHT_STRTAB, 0, 0, strtab_at, len(strtab), 0, 0, 1, 0),
        _SHDR.pack(name_at[b".shstrtab"], SHT_STRTAB, 0, 0, shstrtab_at, len(shstrtab), 0, 0,
                   1, 0),
        _SHDR.pack(name_at[b".note.GNU-stack"], SHT_PROGBITS, 0, 0, end, 0, 0, 0, 1, 0),
    ]
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)  # ELF64, little-endian, version 1
    ehdr = _EHDR.pack(ident, 1, machine, 1, 0, 0, shdrs_at, 0, _EHDR.size, 0, 0, _SHDR.size,
                      len(shdrs), 4)
    return b"".join([ehdr, *parts, bytes(symtab_at - data_at - size), symtab, strtab, shstrtab,
                     bytes(shdrs_at - end), *shdrs])
