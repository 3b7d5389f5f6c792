"""driver/llvm.py: zig's clang turns the generated IR into objects, in the steps
that `steps` plans, and refuses broken IR with one line."""

from __future__ import annotations

import pytest

from wasmaot.driver import llvm
from wasmaot.driver.targets import code_target
from wasmaot.errors import ToolchainError

# a * b + c, twice over memory, in a loop: enough for the IR pipeline to change it.
_IR = """define double @mac(ptr %p, i32 %n, double %c) {
entry:
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %next, %loop ]
  %acc = phi double [ %c, %entry ], [ %sum, %loop ]
  %a = load double, ptr %p, align 8
  %m = fmul double %a, %acc
  %sum = fadd double %m, %c
  %next = add i32 %i, 1
  %more = icmp ult i32 %next, %n
  br i1 %more, label %loop, label %done
done:
  ret double %sum
}
"""


def test_above_o0_the_ir_pipeline_and_the_code_generator_run_at_their_own_levels():
    once = llvm.NO_REVERIFY
    assert llvm.steps(0) == (("-O0", once),)
    ir_o1 = ("-O1", *llvm.LOOP_TUNING, once)
    codegen_only = ("-disable-llvm-passes", once)
    assert llvm.steps(2) == (ir_o1, ("-O2", *codegen_only))
    assert llvm.steps(3) == (("-O3", *llvm.LOOP_TUNING, once), ("-O3", *codegen_only))
    assert llvm.steps(2, llvm.TINY) == (("-O0", once),)


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
@pytest.mark.parametrize("opt", [0, 2])
def test_verifying_only_as_clang_reads_the_ir_makes_the_same_object(target, opt, monkeypatch):
    fewer = llvm.compile_ir(_IR, code_target(target), opt)
    steps = llvm.steps
    monkeypatch.setattr(llvm, "steps", lambda *a: tuple(
        tuple(x for x in step if x != llvm.NO_REVERIFY) for step in steps(*a)))
    assert llvm.compile_ir(_IR, code_target(target), opt) == fewer


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
@pytest.mark.parametrize("opt", [0, 2])
def test_an_object_is_the_same_bytes_every_time(target, opt):
    first = llvm.compile_ir(_IR, code_target(target), opt)
    assert first[:4] == b"\x7fELF"
    assert llvm.compile_ir(_IR, code_target(target), opt) == first


@pytest.mark.parametrize("opt", [0, 1, 2, 3])
def test_a_multiply_and_an_add_stay_two_roundings_on_aarch64(opt):
    """wasm has no fused multiply-add: clang must not contract fmul + fadd (aarch64 has
    fmadd in its base ISA, so a contracting default would show here first)."""
    asm = llvm.compile_ir(_IR, code_target("aarch64-linux"), opt, output="asm").decode()
    assert "fmul" in asm and "fadd" in asm
    assert "fmadd" not in asm and "fmla" not in asm


def test_emitted_ir_is_the_ir_pipelines_output_with_the_loop_unroller_on():
    text = llvm.compile_ir(_IR, code_target("x86_64-linux"), 2, output="llvm-ir").decode()
    assert "define double @mac(" in text and "triple = \"x86_64-unknown-linux-gnu\"" in text
    assert "llvm.loop.unroll.disable" in text  # the unroller's mark on the loop it unrolled
    plain = llvm.compile_ir(_IR, code_target("x86_64-linux"), 0, output="llvm-ir").decode()
    assert "llvm.loop" not in plain and "%sum = fadd double %m, %c" in plain


def test_timings_name_the_steps():
    timings: dict = {}
    llvm.compile_ir(_IR, code_target("x86_64-linux"), 2, timings=timings)
    llvm.compile_ir(_IR, code_target("x86_64-linux"), 0, timings=timings)
    assert set(timings) == {"optimize", "codegen"} and all(t > 0 for t in timings.values())


@pytest.mark.parametrize("ir, message", [
    ("define i32 @f(i32 %a) {\n  %b = add i64 %a, 1\n  ret i32 %b\n}\n",
     "'%a' defined with type 'i32' but expected 'i64'"),
    ("define i32 @f(i32 %a) {\nentry:\n  br label %x\nx:\n  %b = add i32 %c, 1\n"
     "  %c = add i32 %b, 1\n  ret i32 %b\n}\n",
     "invalid LLVM IR input: Instruction does not dominate all uses!"),
])
@pytest.mark.parametrize("opt", [0, 2])
def test_broken_ir_is_one_line_naming_the_first_error(ir, message, opt):
    """A syntax error (the parser) and a dominance error (the verifier, which clang runs
    on its input whatever the flags, even with its pipelines' verifiers off): either is
    a lowering bug, reported, never compiled."""
    with pytest.raises(ToolchainError) as e:
        llvm.compile_ir(ir, code_target("x86_64-linux"), opt)
    assert str(e.value) == f"LLVM rejected the generated IR: {message}"
    assert "\n" not in str(e.value)


def test_the_object_cache_key_names_the_llvm_that_compiles():
    key = llvm.machine(code_target("x86_64-linux"))
    assert key[0] == "x86_64-unknown-linux-gnu" and key[-1].startswith("ziglang ")


@pytest.mark.parametrize("script, message", [
    ("kill -9 $$", "zig's clang failed (killed by signal 9): no message"),
    ("echo 'Stack dump:' >&2; exit 70", "zig's clang failed (exit status 70): Stack dump:"),
])
def test_a_clang_that_dies_is_named_as_such_not_as_broken_ir(tmp_path, monkeypatch, script, message):
    fake = tmp_path / "zig"
    fake.write_text(f"#!/bin/sh\ncat >/dev/null\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(llvm, "zig_command", lambda: [str(fake)])
    with pytest.raises(ToolchainError) as e:
        llvm.compile_ir(_IR, code_target("x86_64-linux"), 2)
    assert str(e.value) == message


def test_a_missing_clang_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(llvm, "zig_command", lambda: [str(tmp_path / "no-such-zig")])
    with pytest.raises(ToolchainError, match=r"^cannot run zig's clang: .*no-such-zig"):
        llvm.compile_ir(_IR, code_target("x86_64-linux"), 0)
