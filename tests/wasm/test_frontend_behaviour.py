"""Behaviour of the decoder and validator that the spec suite does not pin:
where errors are reported, and which error wins when a module has several."""

import subprocess

import pytest

from wasmaot.driver.wat import wasm_tools_executable
from wasmaot.errors import InvalidModule, MalformedModule, WasmError
from wasmaot.wasm import decode_module, load_module
from wasmaot.wasm.reader import Reader

HEADER = b"\0asm\x01\0\0\0"


def wat(text: str) -> bytes:
    out = subprocess.run([wasm_tools_executable(), "parse", "-"], input=text.encode(),
                         capture_output=True, check=True)
    return out.stdout


def section(sid: int, payload: bytes) -> bytes:
    assert len(payload) < 128
    return bytes([sid, len(payload)]) + payload


# --- LEB128 -------------------------------------------------------------------

@pytest.mark.parametrize("encoded, value", [
    (b"\x00", 0), (b"\x7f", 127), (b"\x80\x01", 128), (b"\xff\xff\xff\xff\x0f", 2**32 - 1),
    (b"\x80\x80\x80\x80\x00", 0),  # padded but within 5 bytes: allowed
])
def test_u32_accepts_valid_encodings(encoded, value):
    assert Reader(encoded).u32() == value


@pytest.mark.parametrize("encoded, message", [
    (b"\xff\xff\xff\xff\x1f", "integer too large"),  # unused bits set
    (b"\x80\x80\x80\x80\x80\x00", "integer representation too long"),
    (b"\x80", "unexpected end"),
])
def test_u32_rejects_overlong_or_truncated(encoded, message):
    with pytest.raises(MalformedModule, match=message):
        Reader(encoded).u32()


@pytest.mark.parametrize("encoded, value", [
    (b"\x7f", -1), (b"\x40", -64), (b"\x3f", 63), (b"\xff\xff\xff\xff\x07", 2**31 - 1),
    (b"\x80\x80\x80\x80\x78", -2**31),
])
def test_s32_sign_extends(encoded, value):
    assert Reader(encoded).s32() == value


def test_s32_rejects_bits_that_are_not_a_sign_extension():
    with pytest.raises(MalformedModule, match="integer too large"):
        Reader(b"\xff\xff\xff\xff\x4f").s32()


# --- the section loop ----------------------------------------------------------

def test_sections_out_of_order_are_malformed():
    data = HEADER + section(3, b"\x00") + section(1, b"\x00")
    with pytest.raises(MalformedModule, match="unexpected content after last section"):
        decode_module(data)


def test_duplicate_section_is_malformed():
    data = HEADER + section(1, b"\x00") + section(1, b"\x00")
    with pytest.raises(MalformedModule):
        decode_module(data)


def test_section_size_mismatch_reports_the_section():
    data = HEADER + section(1, b"\x00\x00")  # one byte left over
    with pytest.raises(MalformedModule) as info:
        decode_module(data)
    assert "section size mismatch" in str(info.value)
    assert "type section" in str(info.value)


def test_bad_custom_section_content_is_ignored():
    name_section = b"\x04name" + b"\x01\x05\xff\xff\xff\xff\xff"  # garbage subsection
    m = decode_module(HEADER + bytes([0, len(name_section)]) + name_section)
    assert m.names.funcs == {}


def test_custom_section_name_must_be_utf8():
    payload = b"\x02\xc3\x28"
    with pytest.raises(MalformedModule, match="UTF-8"):
        decode_module(HEADER + bytes([0, len(payload)]) + payload)


# --- error locations -----------------------------------------------------------

def test_type_error_names_function_index_name_and_offset():
    data = wat('(module (func $ok) (func $parse (result i32) f64.const 1))')
    with pytest.raises(InvalidModule) as info:
        load_module(data)
    err = info.value
    assert err.func_index == 1 and err.func_name == "parse"
    assert err.offset is not None and data[err.offset] == 0x0B  # at the `end`
    assert str(err) == f'type mismatch: expected i32, found f64 (func 1 "parse", offset {err.offset:#x})'


def test_malformed_body_wins_over_an_earlier_invalid_body():
    valid_invalid = wat('(module (func (result i32) f64.const 1) (func nop))')
    # Corrupt the second body's `nop` (0x01) into an unknown opcode.
    last_nop = valid_invalid.rindex(b"\x01\x0b")
    corrupted = valid_invalid[:last_nop] + b"\xff" + valid_invalid[last_nop + 1:]
    with pytest.raises(MalformedModule, match="illegal opcode"):
        load_module(corrupted)


def test_data_count_is_required_by_memory_init_even_in_dead_code():
    data = wat('(module (memory 1) (data "x") (func unreachable (memory.init 0 (i32.const 0) '
               '(i32.const 0) (i32.const 0))))')
    # Drop the data count section (id 12) that wasm-tools emits.
    at = data.index(b"\x0c\x01\x01")
    with pytest.raises(MalformedModule, match="data count section required"):
        load_module(data[:at] + data[at + 3:])


def test_every_error_is_a_wasm_error():
    for junk in (b"", b"\0as", HEADER[:6], HEADER + b"\x01", HEADER + b"\x0e\x00"):
        with pytest.raises(WasmError):
            load_module(junk)


# --- validation rules worth pinning -------------------------------------------

def test_recursive_types_are_canonicalized_across_groups():
    load_module(wat('''(module
      (rec (type $a (struct (field (ref null $b)))) (type $b (struct (field (ref null $a)))))
      (rec (type $c (struct (field (ref null $d)))) (type $d (struct (field (ref null $c)))))
      (func (param (ref null $a)) (result (ref null $c)) local.get 0))'''))


def test_non_nullable_local_must_be_set_before_use():
    with pytest.raises(InvalidModule, match="uninitialized local"):
        load_module(wat('(module (type $f (func)) '
                        '(func (local (ref $f)) (block local.get 0 drop)))'))


def test_non_nullable_local_initialization_ends_with_its_block():
    with pytest.raises(InvalidModule, match="uninitialized local"):
        load_module(wat('''(module (type $f (func)) (elem declare func 0)
          (func (local (ref $f)) (block (local.set 0 (ref.func 0))) (drop (local.get 0))))'''))


def test_memory64_memarg_offsets_may_exceed_32_bits_only_for_64_bit_memories():
    load_module(wat('(module (memory i64 1) (func (drop (i32.load offset=0x100000000 '
                    '(i64.const 0)))))'))
