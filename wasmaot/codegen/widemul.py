"""64 x 64 -> 128-bit multiplies, recognised in their 32-bit halves.

wasm32 has no instruction for the high half of a 64-bit product (the wide-arithmetic
proposal's `i64.mul_wide_u` is new, and C compilers do not emit it by default), so
C's `unsigned __int128` products, and with them xxHash's XXH3, hashing, bignum and
fixed-point code, reach us as calls to compiler-rt's `__multi3`: the schoolbook
product of 32-bit halves.  With x = xh*2^32 + xl and y = yh*2^32 + yl (xh, xl,
yh, yl < 2^32), clang and zig both lower it to the same "ladder" of i64 operations
(their compiler-rt, after LLVM's simplification):

    P  = xl * yl                    (x & M) * (y & M),    M = 2^32 - 1
    C2 = (P >> 32) + xh * yl        no i64 wraps: < 2^32 + (2^32 - 1)^2 < 2^64
    C3 = (C2 & M)  + xl * yh        no wrap, the same bound
    high = xh * yh + (C2 >> 32) + (C3 >> 32)
    low  = (C3 << 32) | (P & M)     (or `+`: the bits are disjoint)

which is exact: x * y = (xh*yh + (C2 >> 32) + (C3 >> 32)) * 2^64 + (C3 & M) * 2^32
+ (P & M), so `high` and `low` are the two halves of the 128-bit product.  On a
64-bit target that is one multiply (x86-64 `mul`, aarch64 `mul` + `umulh`) against
about twenty instructions.  LLVM's own matcher (AggressiveInstCombine) folds the
high half only when no intermediate has another use, and `low` uses C3 and P:
`__multi3` stores both halves, so it never fires.

So the lowering of `i64.add` and `i64.or` looks, through the definitions of their
operands, for the two halves:
  - `low`, an `or`/`add` of `C3 << 32` and `P & M`, becomes `mul i64 x, y`;
  - `high`, an `add` whose chain of additions holds `xh * yh`, `C2 >> 32` and
    `C3 >> 32` (and any other terms: `__multi3` adds the cross products of the
    upper words to the same chain), becomes the high half of `mul i128` plus the
    other terms.
Every operand is matched by its defining instruction (operands of `add`, `mul`,
`and`, `or` in either order, x and y either way round), and C2, C3 and P must be
the very values the other terms are built from: anything else is left as it is.
A `local.get` of a local whose value is known in the block (function.py:
stored or loaded there earlier) pushes that very value, so the ladder's terms
read back from locals are the values they were computed as.
Nothing but pure i64 arithmetic is involved: no memory access, trap or order of
effects changes, only how the same two numbers are computed.  The intermediate
values stay defined for any other use; LLVM deletes those left unused.
`tests/codegen/test_widemul.py` checks the identity, the IR and the machine code.
"""

from __future__ import annotations

MASK = str((1 << 32) - 1)  # the i64.const literal of 2^32 - 1
HALF = "32"
# Definitions recorded for matching: i64 instructions by their wasm name.
RECORDED = ("mul", "and", "shr_u", "shl", "add", "or")
# Comments on the folded instructions (unoptimized IR shows what was recognised).
LOW_NOTE = "widemul: low half of a 64x64->128 product"
HIGH_NOTE = "widemul: high half of a 64x64->128 product"
# The most terms an addition chain is flattened into (it is walked at every i64.add).
MAX_TERMS = 8


def _half_of(defs: dict, v: str, op: str, k: str) -> str | None:
    """x if v = op(x, k); for `and`, also op(k, x)."""
    d = defs.get(v)
    if d is None or d[0] != op:
        return None
    if d[2] == k:
        return d[1]
    if op == "and" and d[1] == k:
        return d[2]
    return None


def _lo(defs: dict, v: str) -> str | None:
    return _half_of(defs, v, "and", MASK)


def _hi(defs: dict, v: str) -> str | None:
    return _half_of(defs, v, "shr_u", HALF)


def _operands(defs: dict, v: str, op: str) -> tuple | None:
    """Both orders of v's operands if v = op(a, b), else None."""
    d = defs.get(v)
    if d is None or d[0] != op:
        return None
    return (d[1], d[2]), (d[2], d[1])


def _is_mul_of(defs: dict, v: str, x: str, half_x, y: str, half_y) -> bool:
    """v = half_x(x) * half_y(y), in either operand order."""
    pairs = _operands(defs, v, "mul")
    return pairs is not None and any(half_x(defs, a) == x and half_y(defs, b) == y
                                     for a, b in pairs)


def _low_product(defs: dict, p: str) -> tuple[str, str] | None:
    """(x, y) if p = (x & M) * (y & M)."""
    d = defs.get(p)
    if d is None or d[0] != "mul":
        return None
    x, y = _lo(defs, d[1]), _lo(defs, d[2])
    return (x, y) if x is not None and y is not None else None


def ladder(defs: dict, c3: str) -> tuple[str, str, str, str] | None:
    """(x, y, C2, P) if c3 is the ladder's C3 (module doc) of x * y."""
    for masked, cross3 in _operands(defs, c3, "add") or ():
        c2 = _lo(defs, masked)
        if c2 is None:
            continue
        for shifted, cross2 in _operands(defs, c2, "add") or ():
            p = _hi(defs, shifted)
            xy = _low_product(defs, p) if p is not None else None
            if xy is None:
                continue
            for x, y in (xy, xy[::-1]):
                if (_is_mul_of(defs, cross2, x, _hi, y, _lo)
                        and _is_mul_of(defs, cross3, x, _lo, y, _hi)):
                    return x, y, c2, p
    return None


def low_half(defs: dict, a: str, b: str) -> tuple[str, str] | None:
    """(x, y) if or(a, b) or add(a, b) is the low half of x * y."""
    for shifted, masked in ((a, b), (b, a)):
        c3 = _half_of(defs, shifted, "shl", HALF)
        found = ladder(defs, c3) if c3 is not None else None
        if found is not None and _lo(defs, masked) == found[3]:
            return found[0], found[1]
    return None


def _terms(defs: dict, roots: tuple) -> list[str]:
    """The terms of a chain of i64 additions (modulo 2^64), at most MAX_TERMS:
    an addition past the bound is one term."""
    out, todo = [], list(roots)
    while todo:
        v = todo.pop()
        d = defs.get(v)
        if d is not None and d[0] == "add" and len(out) + len(todo) + 2 <= MAX_TERMS:
            todo += (d[2], d[1])
        else:
            out.append(v)
    return out


def high_half(defs: dict, a: str, b: str) -> tuple[str, str, list[str]] | None:
    """(x, y, others) if add(a, b) = high half of x * y + the sum of `others`."""
    terms = _terms(defs, (a, b))
    if len(terms) < 3:
        return None
    for i, t3 in enumerate(terms):
        c3 = _hi(defs, t3)
        found = ladder(defs, c3) if c3 is not None else None
        if found is None:
            continue
        x, y, c2, _ = found
        j = next((j for j, t in enumerate(terms) if j != i and _hi(defs, t) == c2), None)
        k = next((k for k, t in enumerate(terms) if k not in (i, j)
                  and _is_mul_of(defs, t, x, _hi, y, _hi)), None)
        if j is not None and k is not None:
            return x, y, [t for n, t in enumerate(terms) if n not in (i, j, k)]
    return None


def emit_high(fx, x: str, y: str, others: list[str]) -> str:
    """The high half of the 128-bit product x * y, plus `others` (mod 2^64)."""
    wx, wy, p, h, r = fx.tmp(), fx.tmp(), fx.tmp(), fx.tmp(), fx.tmp()
    fx.emit(f"{wx} = zext i64 {x} to i128")
    fx.emit(f"{wy} = zext i64 {y} to i128")
    fx.emit(f"{p} = mul nuw i128 {wx}, {wy}  ; {HIGH_NOTE}")
    fx.emit(f"{h} = lshr i128 {p}, 64")
    fx.emit(f"{r} = trunc nuw i128 {h} to i64")
    for t in others:
        s = fx.tmp()
        fx.emit(f"{s} = add i64 {r}, {t}")
        r = s
    return r


def stack_handlers(numeric_handler) -> dict:
    """Handlers of the RECORDED i64 rows: the numeric lowering, with each result's
    definition recorded in `fx.int_defs`, and for `add`/`or` the two halves of a
    wide product folded first (module doc)."""
    def recording(op: str):
        def handler(fx, row, imms) -> None:
            a, b = fx.stack[-2][1], fx.stack[-1][1]
            if op in ("add", "or") and _fold(fx, op, a, b):
                return
            numeric_handler(fx, row, imms)
            fx.int_defs[fx.stack[-1][1]] = (op, a, b)
        handler.__name__ = f"i64_{op}"
        return handler
    return {f"i64.{op}": recording(op) for op in RECORDED}


def _fold(fx, op: str, a: str, b: str) -> bool:
    """Pushes the product's half if add/or(a, b) is one (module doc)."""
    defs = fx.int_defs
    xy = low_half(defs, a, b)
    if xy is not None:
        r = fx.tmp()
        fx.emit(f"{r} = mul i64 {xy[0]}, {xy[1]}  ; {LOW_NOTE}")
    else:
        found = high_half(defs, a, b) if op == "add" else None
        if found is None:
            return False
        r = emit_high(fx, *found)
    fx.popn(2)
    fx.push("i64", r)
    return True
