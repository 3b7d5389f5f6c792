"""Custom imports: binding a module's non-WASI imports to C code given with
`wasmaot build --link FILE.c|FILE.o|FILE.a`.

Naming scheme.  Import `NAME` of module `MODULE` is the C function

    wasmaot_import_<esc(MODULE)>__<esc(NAME)>

where esc keeps ASCII letters and digits and writes every other byte as `_`
and two upper-case hex digits (so `_` is `_5F`).  An escape is always `_`
followed by a hex digit, so the separator `__` is unambiguous.  Example:
`(import "env" "log_i32" ...)` is `wasmaot_import_env__log_5Fi32`.

Type mapping.  The function takes the calling instance's
`struct wasmaot_vmctx *` first, then the wasm parameters as int32_t, int64_t,
float or double (i32, i64, f32, f64), and returns the single result the same
way, or void.  References and several results are not supported.

Checks.  A .c file is compiled with the expected prototypes of every import
prepended, so a mistyped definition is a compile error; for every input the
defined symbols are read from the ELF objects, and each import with no
definition is reported.  (Objects and archives carry no types: a mistyped
function there cannot be detected.)
"""

from __future__ import annotations

import struct
from pathlib import Path

from ..errors import LinkError, ToolchainError, WasmError

C_TYPES = {"i32": "int32_t", "i64": "int64_t", "f32": "float", "f64": "double"}


def _esc(text: str) -> str:
    return "".join(chr(b) if chr(b).isascii() and chr(b).isalnum() else f"_{b:02X}"
                   for b in text.encode("utf-8"))


def import_symbol(module: str, name: str) -> str:
    return f"wasmaot_import_{_esc(module)}__{_esc(name)}"


def prototype(symbol: str, functype) -> str:
    for t in functype.params + functype.results:
        if t not in C_TYPES:
            raise LinkError(f"{symbol}: a {t} value cannot cross into C (only i32, i64, f32, f64)")
    if len(functype.results) > 1:
        raise LinkError(f"{symbol}: a C function cannot return several results")
    ret = C_TYPES[functype.results[0]] if functype.results else "void"
    params = "".join(f", {C_TYPES[t]}" for t in functype.params)
    return f"{ret} {symbol}(struct wasmaot_vmctx *{params});"


def prototypes_header(imports: list) -> str:
    """C declarations of the expected import functions: (symbol, functype) pairs."""
    lines = ["#include <stdint.h>", "struct wasmaot_vmctx;"]
    lines += [prototype(symbol, ft) for symbol, ft in imports]
    return "\n".join(lines) + "\n"


def defined_symbols(path: Path) -> set[str]:
    """Global symbols defined by an ELF object, or by any member of an ar archive."""
    data = path.read_bytes()
    if data[:8] == b"!<arch>\n":
        return _archive_symbols(data)
    return _elf_defined(data, path)


def _archive_symbols(data: bytes) -> set[str]:
    out: set[str] = set()
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        size = int(header[48:58].decode().strip() or 0)
        body = data[pos + 60:pos + 60 + size]
        if body[:4] == b"\x7fELF":
            out |= _elf_defined(body, None)
        pos += 60 + size + (size & 1)
    return out


def _elf_defined(data: bytes, path) -> set[str]:
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise WasmError(f"{path or 'archive member'}: not a 64-bit little-endian ELF object")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
                for i in range(shnum)]
    out: set[str] = set()
    SHT_SYMTAB, STB_GLOBAL, STB_WEAK, SHN_UNDEF = 2, 1, 2, 0
    for sh in sections:
        if sh[1] != SHT_SYMTAB:
            continue
        offset, size, link, entsize = sh[4], sh[5], sh[6], sh[9]
        strtab = sections[link]
        strings = data[strtab[4]:strtab[4] + strtab[5]]
        for i in range(size // entsize):
            name_off, info, _other, shndx, _value, _size = struct.unpack_from(
                "<IBBHQQ", data, offset + i * entsize)
            if info >> 4 in (STB_GLOBAL, STB_WEAK) and shndx != SHN_UNDEF:
                end = strings.index(b"\0", name_off)
                out.add(strings[name_off:end].decode("utf-8", "replace"))
    return out


# How many problems a link error names before it gives only the count: a libpython module
# has hundreds of non-WASI imports, and one line must stay readable.
SHOWN_PROBLEMS = 5


def problems_line(what: str, problems: list) -> str:
    """`what` with the number of problems and the first SHOWN_PROBLEMS of them, one line."""
    n = len(problems)
    shown = "; ".join(problems[:SHOWN_PROBLEMS])
    more = f"; and {n - SHOWN_PROBLEMS} more" if n > SHOWN_PROBLEMS else ""
    return f"{what} ({n}): {shown}{more}"


def check_definitions(expected: list, objects: list) -> None:
    """LinkError listing every expected import symbol no input defines."""
    defined: set[str] = set()
    for obj in objects:
        defined |= defined_symbols(obj)
    missing = [f"{where} (C function {symbol})" for where, symbol in expected
               if symbol not in defined]
    if missing:
        raise LinkError(problems_line("imports not defined by the --link files", missing))


def compile_link_inputs(files: list, target, tmpdir: Path, expected: list, compile_object,
                        include_dirs) -> list:
    """Objects and archives to link: .c files compiled (with the expected
    prototypes prepended), .o and .a files as they are."""
    header = tmpdir / "wasmaot_imports.h"
    header.write_text(prototypes_header(expected))
    out = []
    for i, f in enumerate(files):
        f = Path(f)
        if not f.is_file():
            raise ToolchainError(f"--link {f}: no such file")
        if f.suffix == ".c":
            obj = tmpdir / f"link{i}.o"
            try:
                compile_object(f, obj, target, include_dirs=include_dirs,
                               extra_flags=("-include", str(header)))
            except ToolchainError as e:
                raise LinkError(f"--link {f}: {e.message}") from None
            out.append(obj)
        elif f.suffix in (".o", ".a"):
            out.append(f)
        else:
            raise ToolchainError(f"--link {f}: expected a .c, .o or .a file")
    return out
