"""A generated family of unbounded recursions (issue 8, item 2): cycles of 1, 2
and 3 functions, each edge one of the six call instructions, in three call
shapes.  Every cycle with at least one ordinary call (`call`, `call_indirect`,
`call_ref`) must trap `call stack exhausted`, at every -O level.

Cycles made only of `return_call*` edges are excluded: wasm defines them as
loops that never grow the stack (wasmtime runs them forever too), so they have
no exhaustion to observe.  `excluded()` lists them so that the tests can count
and print them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

ORDINARY = ("call", "call_indirect", "call_ref")
TAIL = ("return_call", "return_call_indirect", "return_call_ref")
KINDS = ORDINARY + TAIL

# How a function passes control on: `bare` is the repro (no params, no
# results), `tail_position` returns the callee's result unchanged (the case
# LLVM can turn into a jump), `work_after` adds to it after the call returns.
VARIANTS = {
    "bare": "(func)",
    "tail_position": "(func (param i32) (result i32))",
    "work_after": "(func (param i32) (result i32))",
}


@dataclass(frozen=True)
class Shape:
    edges: tuple  # edges[i]: the instruction function i uses to reach function i+1 (mod n)
    variant: str

    @property
    def name(self) -> str:
        return f"{self.variant}:{'>'.join(self.edges)}"

    @property
    def loops_forever(self) -> bool:
        return all(e in TAIL for e in self.edges)


def all_shapes() -> list:
    return [Shape(edges, variant) for variant in VARIANTS for n in (1, 2, 3)
            for edges in itertools.product(KINDS, repeat=n)]


def shapes() -> list:
    """The shapes that must exhaust the stack."""
    return [s for s in all_shapes() if not s.loops_forever]


def excluded() -> list:
    """The return_call*-only cycles: legitimate infinite loops."""
    return [s for s in all_shapes() if s.loops_forever]


def _transfer(edge: str, variant: str, target: str, slot: int) -> str:
    """The body of a function that reaches function `target` (table slot `slot`)."""
    tail = edge in TAIL
    arg = "" if variant == "bare" else " (i32.add (local.get 0) (i32.const 1))"
    if edge.endswith("call_indirect"):
        call = f"({edge} (type ${variant}){arg} (i32.const {slot}))"
    elif edge.endswith("call_ref"):
        call = f"({edge} ${variant}{arg} (ref.func {target}))"
    else:
        call = f"({edge} {target}{arg})"
    if variant == "work_after" and not tail:
        return f"(i32.add {call} (local.get 0))"
    return call


def module_text(family: list) -> str:
    """One module holding every shape of `family`; shape k is exported as "s<k>"
    (its first function), and every function sits in one table."""
    funcs, table = [], []
    for k, shape in enumerate(family):
        n = len(shape.edges)
        names = [f"$s{k}_{i}" for i in range(n)]
        base = len(table)
        table.extend(names)
        for i, edge in enumerate(shape.edges):
            nxt = (i + 1) % n
            export = f' (export "s{k}")' if i == 0 else ""
            body = _transfer(edge, shape.variant, names[nxt], base + nxt)
            funcs.append(f"  (func {names[i]}{export} (type ${shape.variant}) {body})")
    types = [f"  (type ${v} {t})" for v, t in VARIANTS.items()]
    elems = " ".join(table)
    return "\n".join(["(module"] + types
                     + [f"  (table {len(table)} {len(table)} funcref)",
                        f"  (elem (i32.const 0) func {elems})"]
                     + funcs + [")"]) + "\n"


def export_args(shape: Shape) -> tuple:
    return () if shape.variant == "bare" else (0,)
