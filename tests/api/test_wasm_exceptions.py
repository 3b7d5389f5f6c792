"""Wasm exceptions through the embedding API (issue 10): what escapes a call, what a
host function throws, tags across instances, exnref values -- as wasmtime's API has
them (an uncaught exception is not a trap; the host sees its tag and payload)."""

from __future__ import annotations

import pytest

import wasmaot.api as wa
from wasmaot.driver.wat import wat_bytes_to_wasm
from wasmaot.errors import LinkError, Trap, WasmException


def compile_wat(text: str, **kw) -> wa.Module:
    return wa.compile(wat_bytes_to_wasm(text.encode()), **kw)


THROWER = """(module
  (tag $e (export "e") (param i32 f64))
  (func $deep (param i32) (if (local.get 0) (then (throw $e (local.get 0) (f64.const 1.5)))))
  (func $mid (param i32) (call $deep (local.get 0)))
  (func (export "throw") (param i32) (call $mid (local.get 0)))
  (func (export "catch") (param i32) (result i32)
    (block $h (result i32 f64)
      (try_table (catch $e $h) (call $mid (local.get 0)))
      (return (i32.const -1)))
    (drop))
  (func (export "trap_in_try") (result i32)
    (block $h (try_table (catch_all $h) (unreachable)))
    (i32.const 1)))"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_uncaught_exception_carries_tag_and_payload(opt_level):
    inst = compile_wat(THROWER, opt_level=opt_level).instantiate()
    with pytest.raises(WasmException) as e:
        inst.exports["throw"](42)
    assert e.value.tag is inst.exports["e"]  # the instance's tag object itself
    assert e.value.values == (42, 1.5)
    assert not isinstance(e.value, Trap)
    assert inst.exports["catch"](7) == 7 and inst.exports["catch"](0) == -1  # still usable


def test_a_trap_inside_a_try_table_is_not_caught():
    inst = compile_wat(THROWER).instantiate()
    with pytest.raises(Trap, match="unreachable"):
        inst.exports["trap_in_try"]()


def test_host_function_throws_into_wasm():
    tag = wa.Tag(["i32"])
    calls = []

    def host(x):
        calls.append(x)
        raise WasmException(tag, [x * 2])

    inst = compile_wat("""(module
      (tag $t (import "env" "t") (param i32))
      (func $h (import "env" "h") (param i32))
      (func (export "run") (param i32) (result i32)
        (block $c (result i32)
          (try_table (catch $t $c) (call $h (local.get 0)))
          (i32.const -1))))""").instantiate(
        {"env": {"t": tag, "h": wa.Func(["i32"], [], host)}})
    assert inst.exports["run"](21) == 42 and calls == [21]


def test_tags_match_by_identity_across_instances():
    a = compile_wat(THROWER).instantiate()
    b = compile_wat("""(module
      (tag $e (import "a" "e") (param i32 f64))
      (tag $other (param i32 f64))
      (func $throw (import "a" "throw") (param i32))
      (func (export "catch") (param i32) (result i32)
        (block $h (result i32 f64)
          (block $o (result i32 f64)
            (try_table (catch $other $o) (catch $e $h) (call $throw (local.get 0)))
            (return (i32.const -1)))
          (return (i32.const -2)))
        (drop)))""").instantiate({"a": {"e": a.exports["e"], "throw": a.exports["throw"]}})
    assert b.exports["catch"](9) == 9  # a's tag, caught in b, not by b's own same-typed tag


def test_tag_import_of_another_type_is_a_link_error():
    a = compile_wat(THROWER).instantiate()
    with pytest.raises(LinkError, match="tag type mismatch"):
        compile_wat('(module (tag (import "a" "e") (param i64)))').instantiate(
            {"a": {"e": a.exports["e"]}})
    with pytest.raises(LinkError, match="tag type mismatch"):
        compile_wat('(module (tag (import "a" "e") (param i64)))').instantiate(
            {"a": {"e": wa.Tag(["i32"])}})


def test_exnref_values_cross_the_api_and_rethrow_as_the_same_exception():
    inst = compile_wat("""(module
      (tag $e (export "e") (param i64))
      (func (export "catch_ref") (param i64) (result exnref)
        (block $h (result i64 exnref)
          (try_table (catch_ref $e $h) (throw $e (local.get 0)))
          (unreachable))
        (return))
      (func (export "rethrow") (param exnref) (throw_ref (local.get 0))))""").instantiate()
    exn = inst.exports["catch_ref"](-5)
    assert isinstance(exn, wa.Exn) and exn.tag is inst.exports["e"] and exn.values == (-5,)
    with pytest.raises(WasmException) as e:
        inst.exports["rethrow"](exn)
    assert e.value.values == (-5,) and e.value._exn._ptr == exn._ptr
    with pytest.raises(Trap, match="null"):
        inst.exports["rethrow"](None)


def test_exception_from_a_nested_call_passes_back_through_the_host():
    """wasm -> host -> wasm throws: the nested call raises in the host, which lets it
    go on; the outer wasm code catches the same exception."""
    box = {}

    def host():
        box["inst"].exports["throw"](5)  # raises WasmException; not caught here

    inner = compile_wat(THROWER).instantiate()
    outer = compile_wat("""(module
      (tag $e (import "a" "e") (param i32 f64))
      (func $h (import "env" "h"))
      (func (export "run") (result i32)
        (block $c (result i32 f64)
          (try_table (catch $e $c) (call $h))
          (return (i32.const -1)))
        (drop)))""").instantiate({"a": {"e": inner.exports["e"]},
                                  "env": {"h": wa.Func([], [], host)}})
    box["inst"] = inner
    assert outer.exports["run"]() == 5
