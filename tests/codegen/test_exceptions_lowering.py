"""The shape of the IR that exceptions lower to (codegen/exceptions.py), pinned where
behaviour tests cannot see it: which calls unwind to which landing pad, that a
return_call leaves its handler scope, and which modules keep `nounwind`.  What the
code does when an exception is thrown is tested through the API and the spec
scripts (tests/spec, tests/api)."""

from __future__ import annotations

import re

import pytest

from wasmaot.codegen.module import CodegenOptions, lower_module
from wasmaot.driver.wat import wat_bytes_to_wasm
from wasmaot.wasm import decode_module, validate_module


def ir(text: str, **options) -> str:
    m = decode_module(wat_bytes_to_wasm(text.encode()))
    return lower_module(m, validate_module(m), CodegenOptions(**options))


def body(ir_text: str, funcidx: int) -> str:
    return re.search(rf"define [^\n]*@wasm_f{funcidx}\(.*?\n}}", ir_text, re.S).group(0)


CALLS = """(module
  (tag $e (param i32))
  (func $g)
  (func (export "f") (result i32)
    (call $g)                                    ;; outside: a call
    (block $h (result i32)
      (try_table (catch $e $h)
        (call $g)                                ;; inside: an invoke
        (try_table (catch_all 0) (call $g)))     ;; inner scope: its own pad
      (call $g)                                  ;; after the scope: a call again
      (i32.const 0))))"""


def test_calls_unwind_to_the_innermost_open_try_table():
    f = body(ir(CALLS), 1)
    # $g is reached only by direct calls: fastcc (module.py call_conv)
    calls = re.findall(r"(notail call|invoke) fastcc void @wasm_f0\(ptr swiftself %ctx\)(?:\s+to label %\w+ unwind label %(\w+))?", f)
    kinds = [(kind, pad) for kind, pad in calls]
    assert [k for k, _ in kinds] == ["notail call", "invoke", "invoke", "notail call"]
    outer_pad, inner_pad = kinds[1][1], kinds[2][1]
    assert outer_pad != inner_pad
    assert "personality ptr @wasmaot_personality" in f.splitlines()[0]
    assert f.count("landingpad") == 2


def test_no_match_goes_to_the_enclosing_scope_then_resumes():
    f = body(ir(CALLS), 1)
    # the inner scope catches everything (catch_all); the outer one only $e: its
    # no-match path leaves the function
    assert f.count("resume { ptr, i32 }") == 1


def test_return_call_leaves_the_scope():
    f = body(ir("""(module (func $g) (tag $e)
      (func (try_table (catch_all 0) (return_call $g))))"""), 1)
    assert "tail call tailcc void @wasm_f0" in f and "invoke" not in f
    assert "personality" not in f.splitlines()[0]


def _section(sid: int, items: list[bytes]) -> bytes:
    contents = bytes([len(items)]) + b"".join(items)
    return bytes([sid, len(contents)]) + contents


def test_legacy_handler_calls_unwind_outward():
    # wasm-tools no longer parses the legacy text syntax; the binary, by hand:
    # (func $g) (func (try_table (catch_all 0) (try (do (call $g)) (catch $e (call $g)))))
    code = bytes([0x1F, 0x40, 1, 0x02, 0,         # try_table (catch_all 0)
                  0x06, 0x40, 0x10, 0,            #   try (do (call $g))
                  0x07, 0, 0x10, 0,               #   catch $e (call $g)
                  0x0B, 0x0B, 0x0B])              #   end end, end of function
    data = (b"\0asm\1\0\0\0" + _section(1, [b"\x60\0\0"]) + _section(3, [b"\0", b"\0"])
            + _section(13, [b"\0\0"])
            + _section(10, [b"\x02\0\x0b", bytes([len(code) + 1, 0]) + code]))
    m = decode_module(data)
    f = body(lower_module(m, validate_module(m), CodegenOptions()), 1)
    pads = re.findall(r"invoke fastcc void @wasm_f0\(ptr swiftself %ctx\)\s+to label %\w+ unwind label %(\w+)", f)
    assert len(pads) == 2 and pads[0] != pads[1]  # the handler's call goes to the try_table


@pytest.mark.parametrize("text, standalone, nounwind", [
    ("(module (func (export \"f\")))", True, True),           # an executable without tags
    ("(module (tag $e) (func (export \"f\")))", True, False),  # it may throw
    ("(module (func (export \"f\")))", False, False),          # other modules may be on the stack
])
def test_nounwind_only_where_no_exception_can_pass(text, standalone, nounwind):
    attrs = re.search(r"attributes #0 = \{([^}]*)\}", ir(text, standalone=standalone)).group(1)
    assert ("nounwind" in attrs) == nounwind


def test_entry_thunks_hand_escaping_exceptions_to_the_runtime():
    out = ir("(module (tag $e) (func (export \"f\") (throw $e)))")
    thunk = re.search(r"define internal void @wasmaot_entry_s0.*?\n}", out, re.S).group(0)
    assert "invoke tailcc void %code" in thunk
    assert "call void @wasmaot_rt_exception_escaped(ptr %ctx, ptr %exn)" in thunk
