"""Refuse what cannot be compiled before compiling anything (issue 8, item 7).

- A valid module that uses an instruction the lowering does not handle (GC,
  threads) is refused by the frontend, naming the feature, the instruction and the first
  function that uses it, and code generation is never entered.  `validate` still says valid.
- A component-model binary is named as such, not "unknown binary version".
- A link error with many unresolved imports names the first few and the count.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from wasmaot import api
from wasmaot.codegen import module as codegen_module
from wasmaot.codegen.module import HANDLERS, REFUSALS
from wasmaot.commands import build as build_mod
from wasmaot.driver import compile as compile_mod
from wasmaot.driver import link
from wasmaot.driver.compile import frontend
from wasmaot.driver.wat import wat_bytes_to_wasm
from wasmaot.errors import InvalidModule, LinkError, MalformedModule, UnsupportedFeature
from wasmaot.wasm import load_module
from wasmaot.wasm.opcodes import OPCODES


def wasm(text: str) -> bytes:
    return wat_bytes_to_wasm(text.encode())


@pytest.fixture
def no_codegen(monkeypatch):
    """Fail the test if lowering starts: the refusal must come first."""
    def entered(*args, **kwargs):
        raise AssertionError("code generation was entered")
    monkeypatch.setattr(compile_mod, "lower_partition", entered)
    monkeypatch.setattr(codegen_module, "lower_partition", entered)
    monkeypatch.setattr(codegen_module, "lower_module", entered)


# Plain functions before the one that uses the feature: the refusal must name the right one.
PLAIN = "\n".join(f"(func $p{i} (param i32) (result i32) (i32.add (local.get 0) (i32.const {i})))"
                  for i in range(20))

FEATURES = {
    "GC": ("struct.new", "(type $s (struct (field i32)))"
           "(func $use (result i32) (struct.get $s 0 (struct.new $s (i32.const 1))))"),
    "threads": ("i32.atomic.load", "(memory 1 1 shared)"
                "(func $use (result i32) (i32.atomic.load (i32.const 0)))"),
}


@pytest.mark.parametrize("feature", FEATURES)
def test_unsupported_instruction_is_refused_by_the_frontend(feature, no_codegen, tmp_path):
    op, use = FEATURES[feature]
    data = wasm(f"(module {PLAIN} {use} (func (export \"_start\")))")
    load_module(data)  # valid: `wasmaot validate` accepts it
    for compile_it in (lambda: frontend(data), lambda: api.compile(data),
                       lambda: build_mod.build(data, tmp_path / "out", build_mod.BuildOptions())):
        with pytest.raises(UnsupportedFeature) as e:
            compile_it()
        assert e.value.message == f"{feature} is not supported yet ({op})"
        assert e.value.func_index == 20 and e.value.func_name == "use"
        assert e.value.offset is not None
        assert str(e.value).startswith(f'{feature} is not supported yet ({op}) (func 20 "use", offset 0x')


def test_refusal_comes_before_codegen_on_a_big_module(no_codegen):
    body = " ".join("(local.set 0 (i32.add (local.get 0) (i32.const 3)))" for _ in range(100))
    funcs = "\n".join(f"(func (param i32) {body})" for _ in range(1000))
    data = wasm(f"(module {funcs} (func (drop (ref.i31 (i32.const 1)))))")
    t0 = time.perf_counter()
    with pytest.raises(UnsupportedFeature, match=r"GC .*\(func 1000, offset"):
        frontend(data)
    assert time.perf_counter() - t0 < 10  # generous: it is the validator's time alone


def test_invalid_module_is_invalid_even_if_it_uses_an_unsupported_feature():
    data = wasm("(module (func (result i32) (i31.get_s (ref.i31 (i32.const 1))))"
                "(func (result i32) (i64.const 0)))")
    with pytest.raises(InvalidModule, match="type mismatch"):
        frontend(data)


def test_unsupported_instruction_in_dead_code_is_not_refused():
    # The lowering skips dead code, so this compiles: refusing it would be a regression.
    data = wasm("(module (func (return) (drop (ref.i31 (i32.const 1))))"
                "(func (unreachable) (block (drop (ref.i31 (i32.const 1))))))")
    frontend(data)


def test_structure_in_dead_code_is_lowered():
    # ...and block structure is lowered even there: a dead try_table opens a frame.
    frontend(wasm("(module (tag $t) (func (unreachable) (try_table (catch_all 0) (throw $t))))"))


def test_unsupported_constant_expression_names_its_section(no_codegen):
    data = wasm("(module (type $s (struct (field i32)))"
                "(global (ref $s) (struct.new $s (i32.const 1))))")
    with pytest.raises(UnsupportedFeature, match=r"GC .*\(struct.new\) \(global section"):
        frontend(data)


def test_every_opcode_row_is_lowered_or_refused_never_both():
    refused = set(REFUSALS.features)
    for op in OPCODES:
        assert (op in refused) != (op.name in HANDLERS), op.name
    # Derived from the proposal column: a refused row's feature names its proposal's family.
    assert {REFUSALS.features[op] for op in refused} == {
        "GC", "threads"}


# --- component binaries ------------------------------------------------------------------------

COMPONENT = b"\0asm\x0d\0\x01\0"


def test_component_binary_is_named_a_component():
    with pytest.raises(UnsupportedFeature) as e:
        load_module(COMPONENT)
    assert "WebAssembly component" in e.value.message
    assert "core WebAssembly modules" in e.value.message


def test_component_message_on_the_command_line(tmp_path):
    f = tmp_path / "c.wasm"
    f.write_bytes(wasm("(component)"))
    for cmd in (["validate"], ["build", "-o", str(tmp_path / "out")], ["run"]):
        p = subprocess.run([sys.executable, "-m", "wasmaot", *cmd, str(f)],
                           capture_output=True, text=True)
        assert p.returncode == 1
        assert "unsupported feature: this is a WebAssembly component" in p.stderr
        assert "unknown binary version" not in p.stderr


@pytest.mark.parametrize("version", [b"\x0d\0\0\0", b"\0\0\x01\0", b"\x02\0\0\0"])
def test_other_versions_stay_unknown_binary_versions(version):
    with pytest.raises(MalformedModule, match="unknown binary version"):
        load_module(b"\0asm" + version)


# --- link errors -------------------------------------------------------------------------------


def test_many_unresolved_imports_name_the_first_five_and_the_count(tmp_path):
    imports = "\n".join(f'(import "env" "f{i}" (func))' for i in range(57))
    data = wasm(f"(module {imports} (func (export \"_start\")))")
    with pytest.raises(LinkError) as e:
        build_mod.build(data, tmp_path / "out", build_mod.BuildOptions())
    msg = e.value.message
    assert msg.startswith("cannot bind imports (57): env::f0: unknown import")
    assert "env::f4" in msg and "env::f5:" not in msg
    assert msg.endswith("; and 52 more")
    assert len(msg) < 600


def test_missing_link_definitions_name_the_first_five_and_the_count():
    expected = [(f"env::g{i}", f"sym{i}") for i in range(12)]
    with pytest.raises(LinkError) as e:
        link.check_definitions(expected, [])
    assert e.value.message == (
        "imports not defined by the --link files (12): "
        + "; ".join(f"env::g{i} (C function sym{i})" for i in range(5)) + "; and 7 more")


def test_few_problems_are_all_named():
    assert link.problems_line("x", ["a", "b"]) == "x (2): a; b"
