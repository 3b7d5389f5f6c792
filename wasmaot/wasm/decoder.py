"""The section loop (spec 5.5.2 and 5.5.16): preamble, section order, sizes.

`decode_module` turns bytes into a `Module` or raises `MalformedModule`.
Function bodies are kept as byte ranges; the validator decodes them.
"""

from __future__ import annotations

from ..errors import MalformedModule, UnsupportedFeature
from .module import CustomSection, Module, SectionInfo
from .names import read_name_section
from .reader import Reader
from .sections import SECTIONS

MAGIC = b"\0asm"
VERSION = b"\x01\0\0\0"
# A component-model binary shares the magic; its 4 bytes after it are a version (0x0d, in
# development) and a layer (1 = component) of 16 bits each, little-endian.  Core modules
# are version 1, layer 0.
COMPONENT_LAYER = b"\x01\0"


def _preamble(r: Reader) -> None:
    head = r.data[:4]
    if head != MAGIC[:len(head)]:
        raise MalformedModule("magic header not detected", offset=0)
    if len(head) < 4:
        raise MalformedModule("unexpected end", offset=len(head))
    if r.end < 8:
        raise MalformedModule("unexpected end", offset=4)
    if r.data[4:8] != VERSION:
        version = int.from_bytes(r.data[4:6], "little")
        # Version 0 with layer 1 is no component either (the testsuite's binary.wast).
        if r.data[6:8] == COMPONENT_LAYER and version != 0:
            raise UnsupportedFeature(
                f"this is a WebAssembly component (component model binary, version {version:#x}"
                f", layer 1), not a core module; wasmaot compiles core WebAssembly modules only",
                offset=4)
        raise MalformedModule("unknown binary version", offset=4)
    r.pos = 8


def decode_module(data: bytes) -> Module:
    data = bytes(data)
    r = Reader(data)
    _preamble(r)
    m = Module(data)
    last_order = 0
    seen_code = seen_data = False
    while not r.at_end():
        id_pos = r.pos
        sid = r.u8()
        size = r.u32()
        start = r.pos
        if size > r.end - start:
            raise MalformedModule("section size mismatch: unexpected end", offset=id_pos)
        end = start + size
        if sid == 0:
            _custom_section(Reader(data, start, end), m)
            r.pos = end
            continue
        entry = SECTIONS.get(sid)
        if entry is None:
            raise MalformedModule("malformed section id", offset=id_pos)
        name, decode, order = entry
        if order <= last_order:
            raise MalformedModule("unexpected content after last section", offset=id_pos,
                                  section=name)
        last_order = order
        sr = Reader(data, start, end)
        try:
            decode(sr, m)
        except MalformedModule as e:
            raise e.with_context(section=name)
        if sr.pos != end:
            raise MalformedModule("section size mismatch", offset=sr.pos, section=name)
        m.sections.append(SectionInfo(sid, name, start, size))
        seen_code |= sid == 10
        seen_data |= sid == 11
        r.pos = end
    if not seen_code and m.funcs:
        raise MalformedModule("function and code section have inconsistent lengths",
                              offset=r.pos)
    if not seen_data and m.data_count:
        raise MalformedModule("data count and data section have inconsistent lengths",
                              offset=r.pos)
    return m


def _custom_section(r: Reader, m: Module) -> None:
    start = r.pos
    name = r.name()
    m.customs.append(CustomSection(name, start, r.end - start))
    m.sections.append(SectionInfo(0, f"custom:{name}", start, r.end - start))
    if name == "name":
        # A broken name section is ignored, never fatal (spec 7.4.1, custom sections).
        m.names = read_name_section(Reader(r.data, r.pos, r.end))
