"""FunctionEmitter.calling_blocks finds the blocks that need a stack check in one
search of a function's text; these tests pin that it finds exactly what reading
every line of every block finds (the scan it replaced), for bodies with phis,
landing pads, calls of every kind and blocks that only call leaves."""

from __future__ import annotations

import pytest
from wat_compile import compiled_text

from wasmaot.codegen import function

_NOT_LABEL = ("", " ")  # first characters of the lines that are not labels


def _scanned(fx) -> tuple[list, list]:
    """What calling_blocks must return, found by reading every line."""
    lines = fx.lines
    heads = [i for i, line in enumerate(lines) if line[:1] not in _NOT_LABEL]
    assert heads == fx.heads  # every label is where start_block/continue_block put it
    bounds = [-1, *heads, len(lines)]
    calling = []
    for head, end in zip(bounds, bounds[1:]):
        at = head + 1
        while at < end and (" = phi " in lines[at] or " = landingpad " in lines[at]):
            at += 1
        if any(map(fx.makes_call, lines[at:end])):
            calling.append(("entry" if head < 0 else lines[head][:-1], at))
    return calling, [i for i, line in enumerate(lines) if " = phi " in line]


MODULE = """(module
  (memory 1) (table 4 funcref) (tag $e (param i32))
  (type $t (func (param i32) (result i32)))
  (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $calls (param i32) (result i32) (call $leaf (local.get 0)))
  (func $loop (export "loop") (param i32) (result i32) (local i32)
    (loop $l (result i32)
      (local.set 1 (i32.add (local.get 1) (call $calls (local.get 0))))
      (br_if $l (i32.lt_u (local.get 1) (i32.const 100)) (local.get 1))))
  (func $phis (export "phis") (param i32) (result i32)
    (block $b (result i32)
      (drop (br_if $b (i32.const 1) (local.get 0)))
      (if (result i32) (local.get 0)
        (then (call $leaf (local.get 0)))
        (else (call_indirect (type $t) (local.get 0) (i32.const 1))))))
  (func $runtime (export "runtime") (param i32) (result i32)
    (if (local.get 0) (then (drop (memory.grow (i32.const 1)))))
    (call $leaf (local.get 0)))
  (func $handler (export "handler") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (if (local.get 0) (then (throw $e (local.get 0))))
        (call $calls (local.get 0)))))
  (func $many (export "many") (param i32) (result i32)
    (if (local.get 0) (then (drop (call $calls (i32.const 1)))))
    (if (local.get 0) (then (drop (call $calls (i32.const 2)))))
    (if (local.get 0) (then (drop (call $calls (i32.const 3)))))
    (if (local.get 0) (then (drop (call $calls (i32.const 4)))))
    (if (local.get 0) (then (drop (call $calls (i32.const 5)))))
    (local.get 0)))
"""


@pytest.mark.parametrize("opt_level", [0, 2])
def test_calling_blocks_are_those_a_line_by_line_scan_finds(monkeypatch, opt_level):
    found = []
    real = function.FunctionEmitter.calling_blocks

    def checked(fx):
        result = real(fx)
        assert result == _scanned(fx), fx.funcidx
        found.append(result)
        return result

    monkeypatch.setattr(function.FunctionEmitter, "calling_blocks", checked)
    ir = compiled_text(MODULE, opt_level=opt_level)
    assert len(found) == 7
    assert any(calling for calling, _ in found) and any(phis for _, phis in found)
    assert ".sc:" in ir and " = landingpad " in ir  # checks placed; a landing pad met


def test_a_lowered_line_with_a_newline_is_refused_not_misplaced(monkeypatch):
    """calling_blocks finds lines by counting newlines in the function's text: a
    lowering that put two lines in one would shift every later check."""
    real = function.FunctionEmitter.place_stack_checks

    def two_lines_in_one(fx):
        fx.lines.append("  %x1 = add i32 0, 0\n  %x2 = add i32 0, 0")
        real(fx)

    monkeypatch.setattr(function.FunctionEmitter, "place_stack_checks", two_lines_in_one)
    with pytest.raises(AssertionError, match="a lowered IR line holds a newline"):
        compiled_text(MODULE, opt_level=0)
