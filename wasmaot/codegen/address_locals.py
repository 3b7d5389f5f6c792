"""Which i32 locals hold nothing but addresses: they live zero-extended in i64.

x86-64 addresses memory with 64-bit registers, so an access at an i32 index is
`base + zext(index)`.  A 32-bit instruction zeroes its register's upper half,
but LLVM's instruction selector knows that only within one basic block: where a
loop's pointer is a phi of an i32 (memcmp's `a` and `b`), every access re-extends
it (`mov %esi,%eax`), at every iteration, which clang's native code never does.

So, above -O0, a local that the function uses only as an address lives in an
i64 alloca holding its zero extension (FunctionEmitter: local.get loads the i64
and truncates it, and an access uses the i64 as the extended index; local.set
and local.tee store the extension, and a sum `X + Y` of extended values as
`(X + Y) & 0xffffffff` in i64, so that after mem2reg the loop's phi is an i64
that no instruction re-extends).  Both forms hold the same value, so the choice
is exact for every local; it is made only where it pays.  A local that a
comparison, an arithmetic instruction or a call also reads keeps its i32
alloca: its phi stays an i32 that LLVM's scalar evolution understands (trip
counts, strength reduction), which the masked i64 form would hide (measured in
docs/notes/hot-loops.md, session 11).

The test is a scan of the body's instructions, by pattern, not by data flow:
every `local.get x` is followed by a load (x is its address), by `i32.const c;
i32.add` and then a load or `local.set x` (an address with a constant added, or
x stepping), or by one operand-free instruction and a store (x is the store's
address); every `local.tee x` is followed by a load.  Anything else (x read as a
value) leaves x out.
"""

from __future__ import annotations


def _is_load(op) -> bool:
    return "memarg" in op.imms and op.params == ("a",)


def _is_store(op) -> bool:
    return "memarg" in op.imms and op.params is not None and len(op.params) == 2 \
        and op.results == ()


def _is_operand_free(op) -> bool:
    return op.name in ("local.get", "global.get") or op.name.endswith(".const")


def _address_use(ins: list, k: int, x: int) -> bool:
    """Whether the `local.get x` at ins[k] reads x as an address (module doc)."""
    nxt = [i[0] for i in ins[k + 1:k + 4]]
    if nxt and _is_load(nxt[0]):
        return True
    if len(nxt) == 3 and nxt[0].name == "i32.const" and nxt[1].name == "i32.add":
        if _is_load(nxt[2]):
            return True
        return nxt[2].name == "local.set" and ins[k + 3][1][0] == x
    return len(nxt) >= 2 and _is_operand_free(nxt[0]) and _is_store(nxt[1])


def address_locals(ins: list, local_types: list) -> set:
    """The i32 locals (indices) of a body that hold only addresses (module doc);
    `ins`: its instructions, (opcode, immediates, offset) each."""
    seen, other = set(), set()
    for k, (op, imms, _) in enumerate(ins):
        if op.name == "local.get":
            x = imms[0]
            (seen if _address_use(ins, k, x) else other).add(x)
        elif op.name == "local.tee":
            x = imms[0]
            nxt = ins[k + 1][0] if k + 1 < len(ins) else None
            (seen if nxt is not None and _is_load(nxt) else other).add(x)
    return {x for x in seen - other if local_types[x] == "i32"}
