"""Data segments and globals of the common forms are kept as rows (wasm/sections.py:
`ConstDataSegments`, `NumberGlobals`), read with one regular-expression match each and
handled in bulk by the validator and the module image.  The rows must be invisible:
for any section, decoding, validating and laying out the image give exactly what the
general path (one object per item) gives, the same items, the same errors at the same
offsets, the same image bytes.  Each test runs both paths on the same bytes: the
general one with the row patterns switched off."""

from __future__ import annotations

import random
import re

import pytest

from wasmaot.codegen.image import build_image
from wasmaot.errors import WasmError
from wasmaot.wasm import decode_module, sections, validate_module
from wasmaot.wasm.leb128 import sleb, uleb

NEVER = re.compile(rb"(?!)")  # matches nothing: every item takes the general path


def _sec(sid: int, body: bytes) -> bytes:
    return bytes([sid]) + uleb(len(body)) + body


def _vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def _leb_padded(value: int, width: int, signed: bool) -> bytes:
    """`value` as a LEB of exactly `width` bytes (padded with continuation bytes)."""
    raw = bytearray(sleb(value) if signed else uleb(value))
    fill = 0x7F if signed and value < 0 else 0x00
    while len(raw) < width:
        raw[-1] |= 0x80
        raw.append(fill)
    return bytes(raw)


def _module(globals_: list[bytes], datas: list[bytes], memory: bytes = b"\x00\x01") -> bytes:
    out = b"\0asm\1\0\0\0"
    if memory:
        out += _sec(5, _vec([memory]))
    if globals_:
        out += _sec(6, _vec(globals_))
    if datas:
        out += _sec(11, _vec(datas))
    return out


def _data_segment(rng: random.Random) -> bytes:
    """A data segment, mostly of the row form, with every LEB width and the other forms."""
    payload = rng.randbytes(rng.choice([0, 1, 8, 200]))
    kind = rng.random()
    if kind < 0.1:
        return b"\x01" + uleb(len(payload)) + payload  # passive
    if kind < 0.15:
        return b"\x02\x00\x41" + sleb(rng.randrange(100)) + b"\x0b" + uleb(len(payload)) + payload
    if kind < 0.2:
        return b"\x00\x23\x00\x0b" + uleb(len(payload)) + payload  # global.get 0
    value = rng.choice([0, 1, 63, 64, -1, -64, -65, 127, 128, 2**27 - 1, -2**27, 2**31 - 1,
                        -2**31, rng.randrange(-2**31, 2**31)])
    width = rng.choice([len(sleb(value)), 5])
    offset = _leb_padded(value, max(width, len(sleb(value))), signed=True)
    length = _leb_padded(len(payload), rng.choice([1, 2, 4, 5]), signed=False)
    return b"\x00\x41" + offset + b"\x0b" + length + payload


def _global(rng: random.Random) -> bytes:
    """A global, mostly of the row form (number type, one constant), some not."""
    mut = bytes([rng.randrange(2)])
    kind = rng.randrange(6)
    if kind == 0:
        v = rng.choice([0, -1, 2**27 - 1, -2**27, 2**31 - 1, -2**31, rng.randrange(-2**27, 2**27)])
        return b"\x7f" + mut + b"\x41" + _leb_padded(v, rng.choice([1, 4, 5]), True) + b"\x0b"
    if kind == 1:
        v = rng.choice([0, -1, 64, -65, 2**20, -2**20, 2**27 - 1, -2**27, 2**27, -2**63,
                        2**63 - 1, rng.randrange(-2**63, 2**63), rng.randrange(-2**27, 2**27)])
        return b"\x7e" + mut + b"\x42" + sleb(v) + b"\x0b"
    if kind == 2:
        return b"\x7d" + mut + b"\x43" + rng.randbytes(4) + b"\x0b"
    if kind == 3:
        return b"\x7c" + mut + b"\x44" + rng.randbytes(8) + b"\x0b"
    if kind == 4:  # a type mismatch (invalid), or an extended constant expression
        return rng.choice([b"\x7f\x00\x42\x01\x0b", b"\x7c\x00\x43" + bytes(4) + b"\x0b",
                           b"\x7f\x00\x41\x01\x41\x02\x6a\x0b"])
    return b"\x70\x00\xd0\x70\x0b"  # funcref, ref.null func


def _both(data: bytes, monkeypatch) -> tuple:
    """(rows path, general path): each the decoded items and image, or the error."""
    def run():
        try:
            m = decode_module(data)
            ctx = validate_module(m)
            img = build_image(m, ctx)
            rows = (set(range(len(m.globals))) - set(m.globals.others)
                    if isinstance(m.globals, sections.NumberGlobals) else set())
            return (list(m.globals), list(m.datas), img.bytes(), img.runs, img.num_globals,
                    sorted(img.simple_globals | rows), [g for g in ctx.globals])
        except WasmError as e:
            return type(e).__name__, str(e)
    rows = run()
    with monkeypatch.context() as mp:
        mp.setattr(sections, "_CONST_DATA", NEVER)
        mp.setattr(sections, "_NUMBER_GLOBAL", NEVER)
        general = run()
    return rows, general


@pytest.mark.parametrize("seed", range(60))
def test_rows_decode_validate_and_lay_out_as_the_general_path(seed, monkeypatch):
    rng = random.Random(seed)
    globals_ = [_global(rng) for _ in range(rng.randrange(0, 30))]
    datas = [_data_segment(rng) for _ in range(rng.randrange(0, 30))]
    if seed % 4 == 0:  # no invalid global: the interesting result is the image
        globals_ = [g for g in globals_ if g[:3] not in (b"\x7f\x00\x42", b"\x7c\x00\x43")]
    memory = rng.choice([b"\x00\x01", b"\x00\x01", b"\x04\x01", b""])  # i32, i64, none
    rows, general = _both(_module(globals_, datas, memory), monkeypatch)
    assert rows == general


@pytest.mark.parametrize("seed", range(10))
def test_rows_report_malformed_sections_as_the_general_path(seed, monkeypatch):
    """Every truncation and a corrupted byte of a section: the same error and offset."""
    rng = random.Random(1000 + seed)
    data = _module([_global(rng) for _ in range(8)], [_data_segment(rng) for _ in range(8)])
    cuts = sorted(rng.sample(range(9, len(data)), min(40, len(data) - 9)))
    for cut in cuts:
        broken = bytearray(data)
        broken[cut] ^= 1 << rng.randrange(8)
        for variant in (data[:cut], bytes(broken)):
            rows, general = _both(variant, monkeypatch)
            assert rows == general, (cut, variant.hex())


def test_a_row_reads_back_as_the_item_it_stands_for():
    data = _module([b"\x7f\x01\x41" + sleb(-7) + b"\x0b"],
                   [b"\x00\x41" + sleb(-8) + b"\x0b\x02ab"])
    m = decode_module(data)
    assert isinstance(m.datas, sections.ConstDataSegments) and not m.datas.others
    assert isinstance(m.globals, sections.NumberGlobals) and not m.globals.others
    g, d = m.globals[0], m.datas[-1]
    assert (g.type.valtype, g.type.mutable, g.init[0].op.name, g.init[0].imms) == (
        "i32", True, "i32.const", (-7,))
    assert (d.mode, d.memory, d.init, d.offset_expr[0].imms) == ("active", 0, b"ab", (-8,))
    assert d.offset_expr[1].op.name == "end" and data[d.offset_expr[1].offset] == 0x0B
    with pytest.raises(IndexError):
        m.datas[1]


@pytest.mark.parametrize("distinct", [1, 2, 16, 127, 128])
def test_a_function_index_segment_names_its_distinct_functions(distinct):
    """FuncIndexItems.distinct (what the validator type-checks and C.refs collects) is
    the set of its indices, for one-byte items read in bulk and for wider ones."""
    rng = random.Random(distinct)
    for width in (1, 2):
        indices = [rng.randrange(distinct) * (200 if width == 2 else 1) for _ in range(20_000)]
        items = b"".join(uleb(x) for x in indices)
        elem = b"\x00\x41\x00\x0b" + uleb(len(indices)) + items
        m = decode_module(b"\0asm\1\0\0\0" + _sec(9, _vec([elem])))
        assert m.elems[0].init.distinct() == set(indices)
        assert list(m.elems[0].init.indices) == indices


def test_offsets_decoded_together_are_the_offsets_decoded_one_by_one():
    """sections._sleb32_bits (every row's offset in one big-integer computation) against
    _sleb4 on each: every LEB width 1-4, padded encodings, signs, the module's last bytes."""
    rng = random.Random(7)
    values = [0, 1, 63, 64, -1, -64, -65, 127, 128, 8191, -8192, 8192, 2**20, -2**20 - 1,
              2**27 - 1, -2**27] + [rng.randrange(-2**27, 2**27) for _ in range(2000)]
    data, at = b"", []
    for v in values:
        leb = _leb_padded(v, rng.randrange(len(sleb(v)), 5), signed=True)
        at.append(len(data))
        data += leb + rng.choice([b"", b"\x0b", b"\x0b\x01\xff"])
    got = sections._sleb32_bits(b"".join(data[a:a + 4].ljust(4, b"\0") for a in at))
    assert list(got) == [sections._sleb4(data[a:a + 4][:_leb_len(data, a)]) & 0xFFFFFFFF
                         for a in at]
    assert list(got) == [v & 0xFFFFFFFF for v in values]


def _leb_len(data: bytes, at: int) -> int:
    n = 1
    while data[at + n - 1] & 0x80:
        n += 1
    return n
