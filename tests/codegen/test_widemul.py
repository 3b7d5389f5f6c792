"""64 x 64 -> 128-bit products computed in 32-bit halves become one multiply
(codegen/widemul.py), and nothing else does.

The bodies below are `__multi3` as zig's and clang's compiler-rt reach wasm32
(zig's from the xxHash module of bench/run.py; clang's from compiler-rt's
algorithm built with `zig cc -target wasm32-freestanding -O2`).  Every variant is
run compiled at -O0 and -O2 and compared with a small evaluator of the same
instructions over edge and random operands: the near misses (a wrong mask or
shift, a wrong cross product, an operand changed half-way, a local changed in
another block) must compute what they say, unfolded.
"""

from __future__ import annotations

import random
import re

import pytest
from wat_compile import compiled_text

import wasmaot.api as wa
from wasmaot.codegen import widemul
from wasmaot.codegen.module import CodegenOptions, lower_module
from wasmaot.driver.compile import frontend
from wasmaot.driver.wat import wat_bytes_to_wasm

M64 = (1 << 64) - 1

# (param i32 retptr, i64 a_lo, i64 a_hi, i64 b_lo, i64 b_hi): stores the 128-bit product.
ZIG_MULTI3 = """(local i64)
local.get 0 local.get 4 local.get 1 i64.mul local.get 2 local.get 3 i64.mul i64.add
local.get 3 i64.const 32 i64.shr_u local.tee 2 local.get 1 i64.const 32 i64.shr_u local.tee 4
i64.mul i64.add
local.get 3 i64.const 4294967295 i64.and local.tee 3
local.get 1 i64.const 4294967295 i64.and local.tee 1 i64.mul local.tee 5
i64.const 32 i64.shr_u local.get 3 local.get 4 i64.mul i64.add local.tee 3
i64.const 32 i64.shr_u i64.add
local.get 3 i64.const 4294967295 i64.and local.get 2 local.get 1 i64.mul i64.add local.tee 1
i64.const 32 i64.shr_u i64.add i64.store offset=8
local.get 0 local.get 1 i64.const 32 i64.shl local.get 5 i64.const 4294967295 i64.and i64.or
i64.store"""

# (param i32 retptr, i64 a, i64 b): clang's __mulddi3, a's and b's 128-bit product.
CLANG_MULDDI3 = """(local i64 i64 i64)
local.get 0 local.get 2 i64.const 4294967295 i64.and local.tee 3
local.get 1 i64.const 4294967295 i64.and local.tee 4 i64.mul local.tee 5
i64.const 32 i64.shr_u local.get 3 local.get 1 i64.const 32 i64.shr_u local.tee 1 i64.mul
i64.add local.tee 3 i64.const 32 i64.shr_u
local.get 2 i64.const 32 i64.shr_u local.tee 2 local.get 1 i64.mul i64.add
local.get 3 i64.const 4294967295 i64.and local.get 2 local.get 4 i64.mul i64.add local.tee 1
i64.const 32 i64.shr_u i64.add i64.store offset=8
local.get 0 local.get 1 i64.const 32 i64.shl local.get 5 i64.const 4294967295 i64.and i64.or
i64.store"""


def _replace_nth(text: str, old: str, new: str, n: int) -> str:
    """`text` with the n-th (0-based; -1: the last) occurrence of `old` replaced."""
    starts = [m.start() for m in re.finditer(re.escape(old), text)]
    i = starts[n]
    return text[:i] + new + text[i + len(old):]


# name -> (body, params after retptr, high folded, low folded)
VARIANTS = {
    "zig": (ZIG_MULTI3, 4, True, True),
    "clang": (CLANG_MULDDI3, 2, True, True),
    # low half's mask is not 2^32 - 1: only the high half is a product's
    "low_mask": (_replace_nth(CLANG_MULDDI3, "i64.const 4294967295 i64.and i64.or",
                              "i64.const 4294967294 i64.and i64.or", 0), 2, True, False),
    # C3 >> 31: the high half is not a product's; the low half still is
    "high_shift": (_replace_nth(CLANG_MULDDI3, "i64.const 32 i64.shr_u i64.add i64.store",
                                "i64.const 31 i64.shr_u i64.add i64.store", 0), 2, False, True),
    # C3's cross product is yh * yl instead of yh * xl: neither half is a product's
    "cross": (_replace_nth(CLANG_MULDDI3, "local.get 2 local.get 4 i64.mul",
                           "local.get 2 local.get 3 i64.mul", 0), 2, False, False),
    # b changes between its two halves being taken: neither half is a product's
    "operand_changed": (_replace_nth(CLANG_MULDDI3, "local.get 2 i64.const 32 i64.shr_u",
                                     "i64.const 7 local.set 2 local.get 2 i64.const 32 i64.shr_u",
                                     0), 2, False, False),
}


def _evaluate(body: str, args: list[int]) -> dict[int, int]:
    """The i64 stores (offset -> value) of one of these straight-line bodies."""
    decl = re.match(r"\s*\(local ((?:i64\s*)+)\)", body)
    locals_ = list(args) + [0] * len(decl.group(1).split())
    words = body[decl.end():].split()
    stack, mem, pc = [], {}, 0
    binops = {"i64.mul": lambda a, b: a * b, "i64.add": lambda a, b: a + b,
              "i64.and": lambda a, b: a & b, "i64.or": lambda a, b: a | b,
              "i64.shl": lambda a, b: a << (b & 63), "i64.shr_u": lambda a, b: a >> (b & 63)}
    while pc < len(words):
        w = words[pc]
        pc += 1
        if w in binops:
            b, a = stack.pop(), stack.pop()
            stack.append(binops[w](a, b) & M64)
        elif w == "local.get":
            stack.append(locals_[int(words[pc])])
            pc += 1
        elif w in ("local.set", "local.tee"):
            locals_[int(words[pc])] = stack[-1] if w == "local.tee" else stack.pop()
            pc += 1
        elif w == "i64.const":
            stack.append(int(words[pc]) & M64)
            pc += 1
        elif w == "i64.store":
            offset = 0
            if pc < len(words) and words[pc].startswith("offset="):
                offset = int(words[pc][len("offset="):])
                pc += 1
            value, addr = stack.pop(), stack.pop()
            mem[addr + offset] = value
        else:
            raise AssertionError(f"evaluator: {w}")
    return mem


def _module(body: str, nparams: int) -> str:
    params = " ".join(["i64"] * nparams)
    args = " ".join(f"(local.get {i})" for i in range(nparams))
    return f"""(module (memory 1)
      (func $mul (param i32 {params}) {body})
      (func (export "hi") (param {params}) (result i64)
        (call $mul (i32.const 16) {args}) (i64.load (i32.const 24)))
      (func (export "lo") (param {params}) (result i64)
        (call $mul (i32.const 16) {args}) (i64.load (i32.const 16))))"""


def _operands(nparams: int) -> list[list[int]]:
    edges = [0, 1, 2, (1 << 32) - 1, 1 << 32, (1 << 32) + 1, (1 << 63), M64, M64 - 1,
             0x9E3779B185EBCA87]
    rng = random.Random(11)
    out = [[a, b] for a in edges for b in edges]
    out += [[rng.getrandbits(64), rng.getrandbits(64)] for _ in range(200)]
    if nparams == 4:  # a_lo, a_hi, b_lo, b_hi: the upper words too
        out = [[a, rng.choice(edges), b, rng.choice(edges)] for a, b in out]
    return out


def _signed(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


@pytest.mark.parametrize("opt_level", [0, 2])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_variants_compute_what_their_instructions_say(name, opt_level):
    body, nparams, _, _ = VARIANTS[name]
    inst = wa.compile(wat_bytes_to_wasm(_module(body, nparams).encode()),
                      opt_level=opt_level).instantiate({})
    hi, lo = inst.exports["hi"], inst.exports["lo"]
    for args in _operands(nparams):
        want = _evaluate(body, [16, *args])
        signed = [_signed(a) for a in args]
        assert (hi(*signed) & M64, lo(*signed) & M64) == (want[24], want[16]), (name, args)


def test_exact_bodies_are_the_128_bit_product():
    """The evaluator itself against Python's integers (so the variants' reference is right)."""
    for args in _operands(4):
        a = args[0] | args[1] << 64
        b = args[2] | args[3] << 64
        p = a * b & ((1 << 128) - 1)
        assert _evaluate(ZIG_MULTI3, [16, *args]) == {24: p >> 64, 16: p & M64}
    for x, y in _operands(2):
        assert _evaluate(CLANG_MULDDI3, [16, x, y]) == {24: x * y >> 64, 16: x * y & M64}


def _lowered(wat: str) -> str:
    """The lowering's own IR text (before LLVM, so with its comments)."""
    return lower_module(*frontend(wat_bytes_to_wasm(wat.encode())), CodegenOptions())


def _compiled(wat: str, opt_level: int, target: str, output: str) -> str:
    return compiled_text(wat, output, target=target, opt_level=opt_level)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_exactly_the_products_halves_are_folded(name):
    body, nparams, high, low = VARIANTS[name]
    ir = _lowered(_module(body, nparams))
    assert (widemul.HIGH_NOTE in ir, widemul.LOW_NOTE in ir) == (high, low)


def test_a_local_changed_in_another_block_is_not_the_same_operand():
    """x is read again after an `if` that may change it: before the `if` and after
    it, `local.get 0` are different values, so nothing is folded, and the result
    mixes old and new x as written."""
    body = """(param i64 i64 i32) (result i64) (local i64 i64)
      (local.set 3 (i64.mul (i64.and (local.get 0) (i64.const 4294967295))
                            (i64.and (local.get 1) (i64.const 4294967295))))
      (if (local.get 2) (then (local.set 0 (i64.add (local.get 0) (i64.const 1)))))
      (local.set 4 (i64.add (i64.shr_u (local.get 3) (i64.const 32))
                            (i64.mul (i64.shr_u (local.get 0) (i64.const 32))
                                     (i64.and (local.get 1) (i64.const 4294967295)))))
      (i64.add (i64.add (i64.mul (i64.shr_u (local.get 0) (i64.const 32))
                                 (i64.shr_u (local.get 1) (i64.const 32)))
                        (i64.shr_u (local.get 4) (i64.const 32)))
               (i64.shr_u (i64.add (i64.and (local.get 4) (i64.const 4294967295))
                                   (i64.mul (i64.and (local.get 0) (i64.const 4294967295))
                                            (i64.shr_u (local.get 1) (i64.const 32))))
                          (i64.const 32)))"""
    wat = f'(module (func (export "f") {body}))'
    assert widemul.HIGH_NOTE not in _lowered(wat)
    for opt_level in (0, 2):
        f = wa.compile(wat_bytes_to_wasm(wat.encode()), opt_level=opt_level).instantiate({}) \
            .exports["f"]
        for x, y in _operands(2)[:60]:
            for flag in (0, 1):
                x2 = (x + flag) & M64
                p = (x & 0xFFFFFFFF) * (y & 0xFFFFFFFF)
                c2 = ((p >> 32) + (x2 >> 32) * (y & 0xFFFFFFFF)) & M64
                c3 = ((c2 & 0xFFFFFFFF) + (x2 & 0xFFFFFFFF) * (y >> 32)) & M64
                want = ((x2 >> 32) * (y >> 32) + (c2 >> 32) + (c3 >> 32)) & M64
                assert f(_signed(x), _signed(y), flag) & M64 == want, (x, y, flag)
                if flag == 0:
                    assert want == x * y >> 64


@pytest.mark.parametrize("target, mnemonic", [("x86_64-linux", r"\bmulq\b"),
                                              ("aarch64-linux", r"\bumulh\b")])
def test_machine_code_is_one_wide_multiply(target, mnemonic):
    """At -O2 the 128-bit product is the target's multiply: x86-64 `mulq` (rdx:rax),
    aarch64 `umulh`; no 32-bit halves are left (no shift by 32 in the high half)."""
    asm = _compiled(_module(CLANG_MULDDI3, 2), 2, target, "asm")
    assert re.search(mnemonic, asm), asm
    assert not re.search(r"\b(shrq|lsr)\s+[^\n]*\$?#?32\b", asm), asm
