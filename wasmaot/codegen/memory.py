"""Lowering of linear-memory instructions.

=====================================================================
 SANDBOX-CRITICAL: every guest memory access is bounded here.  A change
 to the address arithmetic below needs a second reviewer.
=====================================================================

Every access to a linear memory gets its pointer from `effective_address`
(instructions with a memarg) or `checked_range` (bulk instructions with a
dynamic length).  Nothing else in codegen computes a pointer into a memory;
module.py refuses at import time a memarg instruction whose handler was not
made by `memarg_access`, so a new instruction cannot skip the check.

The arithmetic, with every term an unsigned integer and no wrapping (the spec's
effective address is the mathematical sum index + offset):

  an access of `width` bytes is in bounds  iff  index + offset + width <= size

Explicit checks (64-bit memories; one-byte pages, whose tail host page would
stay accessible; `--bounds-checks=explicit`).  `offset + width` is a compile-time
constant computed in Python, exactly.  If it exceeds 2^64 - 1 no index can make
the access fit (size < 2^64): the access traps unconditionally.  Otherwise
`index + (offset + width)` is computed with llvm.uadd.with.overflow, and the
access traps on overflow or when the sum exceeds the current size.  Once that
passed, index + offset < size < 2^64, so the pointer's `add` cannot wrap (nuw).
Without the first case, an offset of 2^64 - k wrapped to -k: the access read
and wrote k bytes *below* the memory base (the memory64 escape of issue 8).

Guard pages (32-bit memories with 64 KiB pages): the runtime reserves
abi.GUARDED_RESERVATION = 2^33 + 64 KiB bytes per memory (runtime_c/memory.c)
and maps only the first `size <= 2^32` of them.  An index is a zero-extended
i32 (<= 2^32 - 1) and validation bounds a 32-bit memory's offset by 2^32 - 1,
so the last byte touched is at most
    (2^32 - 1) + (2^32 - 1) + (width - 1)  <=  2^33 + 13   (width <= 16)
which is inside the reservation: every out-of-bounds access faults in PROT_NONE
pages and the signal handler turns the fault into "out of bounds memory
access".  `_guard_covers` re-checks that bound for each access from the actual
offset and width and falls back to an explicit check where it does not hold,
so the guard is never trusted beyond what it covers.

Faults that LLVM cannot see: a guard-page access traps by faulting, which LLVM
does not know a load or store can do.  Left alone it deletes a load whose value
is unused (even at -O0), merges two adjacent stores into one wide store that
faults as a whole, reorders a store with a later faulting load, or deletes a
store that a later one overwrites.  Then the state a trap leaves (which the API
and `wast` let the host read afterwards) is not the spec's: every store before
the trapping instruction done, nothing of it or after it.  So, when some
memory of the module is guarded (`precise_faults`):
  - a guard-covered load is volatile: it is kept, and ordered with the stores;
  - every store of guest state (memories, mutable globals, tables) is volatile:
    volatile operations keep their number and order.  An explicit check is a
    branch to a call, which LLVM already orders every store before.
On aarch64 a misaligned store that straddles the end of memory may write its
in-bounds bytes before it faults (the Arm ARM allows it; wasmtime issue 7237,
spec issue 1250).  With `probe_straddling_stores`, a guard-covered store wider
than one byte first loads its last byte (volatile): the probe faults exactly
when the store would, before any byte is written.

Address folding (design A, docs/notes/address-folding.md).  For an access with
memarg offset 0 whose address operand is `i32.add X, c` (either operand order,
also through a local set and read in the same block) with -K <= c < 0,
K = abi.FOLD_MAX_CONSTANT = 64 KiB, to a memory the runtime makes fold-safe
(`ModuleEmitter.folds_adds`: guarded, minimum at most abi.FOLD_MAX_PAGES), the
pointer is base + zext(X) + c, which LLVM folds into the addressing mode, where
the wasm address is W = (X + c) mod 2^32.  With X in [0, 2^32):
  - X >= -c: zext(X) + c = W, the pointer is today's;
  - X < -c: X + c wraps, W >= 2^32 - K >= size (the runtime caps a fold-safe memory
    at 2^32 - K bytes, memory.c), so wasm traps; the pointer is base - (-c - X), in
    the K bytes of PROT_NONE the runtime keeps below a fold-safe memory's base,
    inside its registered range: the access faults at its first byte, and the
    fault is "out of bounds memory access".
Never with an offset > 0 (X + c + offset may then land inside the memory where
wasm traps), a positive c (zext(X) + c would be 4 GiB past the wrapped address),
a c below -K (past the low guard), an i64 index or an explicitly checked memory.
On aarch64 a store that starts in the low guard and ends inside the memory could
write its in-memory bytes before it faults, and the probe of its last byte does
not fault: a folded store also probes its first byte.  The fold is exact at
every -O level, so it is made at every one.  An imported memory must be
fold-safe too: the descriptor's `folds_adds` makes the runtime refuse one that
is not (runtime_c/instance.c memory_matches).

Sums that cannot wrap.  Once an access of width w at memarg offset o of a
fold-safe memory used the i32 value V as its index, every path past it has
V + o + w <= size <= 2^32 - K (the cap): had the access been out of bounds, it
would have trapped.  So V + c with 0 < c <= K cannot wrap there
(FunctionEmitter.accessed holds such V in the block of the access and the blocks
only it reaches; cannot_wrap), and zext(V + c) = zext(V) + c.  Two uses: an
access at such a sum addresses zext(V) + c (unwrapped_sum: C's `p[0] ... p[1]`
where the compiler could not use the offset, one addressing mode), and an address
local stores it with no mask (function.py _wide_value: the pointer a loop
reads and then steps becomes an induction variable LLVM understands).  Exact at
every -O level (address locals exist only above -O0).
"""

from __future__ import annotations

from ..wasm.opcodes import OPCODES
from . import abi

# Scalar loads and stores are derived from their opcode rows: the row's width is
# the integer moved (i8 ... i64), its value type the register side, and a load
# narrower than its result extends by the name's `_s` / `_u`.
_FLOAT_TYPE = {"f32": "float", "f64": "double"}
_RESULT_TYPE = {"i32": "i32", "i64": "i64", "f32": "float", "f64": "double"}


def memory_struct(fx, memidx: int) -> str:
    return fx.ctx_array_item("memories", memidx)


def memory_base(fx, memidx: int) -> str:
    if memidx == 0:
        # The vmctx's copy (abi.py VMCTX.memory0_base): one load, where the
        # memory record's field is three dependent ones (vmctx -> memories
        # array -> memory -> base) at the entry of every function using memory.
        return fx.ctx_field("memory0_base")

    def address():
        mem = memory_struct(fx, memidx)
        p = fx.tmp()
        return [f"{p} = getelementptr inbounds i8, ptr {mem}, i64 {abi.MEMORY.offset('base')}"], p
    return fx.invariant_load(("membase", memidx), address)


def to_i64(fx, ty: str, value: str) -> str:
    """An i32 or i64 value as an unsigned i64; an i32's extension is reused where
    one made earlier dominates (FunctionEmitter.widened)."""
    if ty == "i64":
        return value
    v = fx.widened.get(value)
    if v is None:
        v = fx.widened[value] = fx.tmp()
        fx.emit(f"{v} = zext i32 {value} to i64")
    return v


U64_MAX = (1 << 64) - 1
U32_MAX = (1 << 32) - 1


def i64_literal(value: int) -> str:
    """An unsigned 64-bit value as an LLVM i64 literal (two's complement)."""
    assert 0 <= value <= U64_MAX, value
    return str(value - (1 << 64) if value >> 63 else value)


def trap_unless_within(fx, memidx: int, start: str, n: str) -> None:
    """Traps unless start + n <= the memory's current byte size, for u64 `start`
    and `n` (IR values or literals), computed without wrapping."""
    fx.declare("declare {i64, i1} @llvm.uadd.with.overflow.i64(i64, i64)")
    end = fx.tmp()
    fx.emit(f"{end} = call {{i64, i1}} @llvm.uadd.with.overflow.i64(i64 {start}, i64 {n})")
    ov, sum_, over, bad = fx.tmp(), fx.tmp(), fx.tmp(), fx.tmp()
    fx.emit(f"{ov} = extractvalue {{i64, i1}} {end}, 1")
    fx.emit(f"{sum_} = extractvalue {{i64, i1}} {end}, 0")
    size = fx.load_field(memory_struct(fx, memidx), abi.MEMORY, "size", "i64")
    fx.emit(f"{over} = icmp ugt i64 {sum_}, {size}")
    fx.emit(f"{bad} = or i1 {ov}, {over}")
    fx.trap_if(bad, "MEMORY_OOB")


# How an access can fault (memarg_access's `faults`): never (it was checked
# explicitly), past the memory in the guard above it, or, for a folded address,
# also in the low guard below the base (module doc).
CHECKED, GUARDED, FOLDED = 0, 1, 2


def record_address_add(fx, result: str, a: str, b: str) -> None:
    """Remembers `result = i32.add a, b` if one operand is a constant c that an
    address may fold (-K <= c < 0) or that may not wrap (0 < c <= K, module doc):
    fx.address_adds[result] = (X, c)."""
    for x, c in ((a, b), (b, a)):
        if c.lstrip("-").isdigit() and 0 < abs(int(c)) <= abi.FOLD_MAX_CONSTANT:
            fx.address_adds[result] = (x, int(c))
            return


def address_add_handler(numeric_handler):
    """The stack handler of `i32.add`: the numeric lowering, with the sum recorded
    for address folding (record_address_add) and for the stores of address
    locals (FunctionEmitter.sums)."""
    def i32_add(fx, op, imms) -> None:
        a, b = fx.stack[-2][1], fx.stack[-1][1]
        numeric_handler(fx, op, imms)
        record_address_add(fx, fx.stack[-1][1], a, b)
        if fx.wide_locals:  # for the address locals' stores (address_locals.py)
            fx.sums[fx.stack[-1][1]] = (a, b)
    return i32_add


def cannot_wrap(fx, x: str, c: int) -> bool:
    """Whether `i32.add x, c` cannot wrap: 0 < c <= K and an access of a fold-safe
    memory indexed by `x` on every path to here (module doc, "Sums that cannot
    wrap")."""
    return 0 < c <= abi.FOLD_MAX_CONSTANT and x in fx.accessed


def _guard_covers(fx, memidx: int, index_ty: str, offset: int, width: int) -> bool:
    """True if the guard reservation alone makes this access safe (module doc)."""
    if fx.mod.needs_explicit_checks(memidx) or index_ty != "i32":
        return False
    return U32_MAX + offset + width <= abi.GUARDED_RESERVATION


def _folded_address(fx, memidx: int, index: str) -> str | None:
    """base + zext(X) + c if `index` is `i32.add X, c` that may fold into an
    offset-0 access of guarded memory `memidx` (module doc), else None."""
    add = fx.address_adds.get(index)
    if add is None or add[1] > 0 or not fx.mod.folds_adds(memidx):
        return None
    x, c = add
    assert -abi.FOLD_MAX_CONSTANT <= c < 0, c  # record_address_add's bound
    wide, base, p = to_i64(fx, "i32", x), memory_base(fx, memidx), fx.tmp()
    if fx.mod.options.opt_level == 0:
        # One instruction, whose constant fast-isel puts in the displacement (as
        # for offsets, below).  No `inbounds`: the sum may be below the base.
        fx.emit(f"{p} = getelementptr [1 x i8], ptr {base}, i64 {wide}, i64 {c}")
        return p
    # zext(X) + c is in [-K, 2^32): `nsw` holds.
    ea = fx.tmp()
    fx.emit(f"{ea} = add nsw i64 {wide}, {c}")
    fx.emit(f"{p} = getelementptr i8, ptr {base}, i64 {ea}")
    return p


def unwrapped_sum(fx, value: str) -> str | None:
    """zext(X) + c for an i32 `value` = `i32.add X, c` that cannot wrap
    (cannot_wrap), else None: its zero extension without a mask, which LLVM folds
    into an address (and later uses of the value reuse, FunctionEmitter.widened).
    Used by accesses at the sum and by address locals' stores (function.py
    _wide_value)."""
    add = fx.address_adds.get(value)
    if add is None or not cannot_wrap(fx, *add):
        return None
    x, c = add
    ea = fx.widened[value] = fx.tmp()
    fx.emit(f"{ea} = add nuw nsw i64 {to_i64(fx, 'i32', x)}, {c}")
    return ea


def effective_address(fx, memidx: int, index_ty: str, index: str, offset: int,
                      width: int) -> tuple[str, int]:
    """Pointer to the `width` bytes at index + offset of memory `memidx`; traps
    "out of bounds memory access" unless all of them are inside the memory.
    The one place a memarg becomes a pointer (see the module doc).  Also returns
    how the access can fault: CHECKED (never: checked here), GUARDED (the guard
    pages alone bound it) or FOLDED (an address constant folded, module doc)."""
    assert 0 <= offset <= U64_MAX and 0 < width <= 16, (offset, width)
    guarded = _guard_covers(fx, memidx, index_ty, offset, width)
    if guarded and fx.mod.folds_adds(memidx):
        fx.accessed.add(index)  # past this access, index + offset + width <= size
    if guarded and offset == 0:
        p = _folded_address(fx, memidx, index)
        if p is not None:
            return p, FOLDED
    # (guarded implies an i32 index; an extension made earlier is reused by to_i64)
    ea = unwrapped_sum(fx, index) if guarded and index not in fx.widened else None
    if ea is None:
        ea = to_i64(fx, index_ty, index)
    if not guarded:
        extent = offset + width  # exact: a Python int, never wraps
        if extent > U64_MAX:
            # index + extent >= 2^64 > any memory size: never in bounds.
            fx.trap_if("true", "MEMORY_OOB")
        else:
            trap_unless_within(fx, memidx, ea, i64_literal(extent))
    base = memory_base(fx, memidx)
    if offset and fx.mod.options.opt_level == 0:
        # base + ea + offset in one instruction: the second index of a [1 x i8]
        # step adds `offset` bytes, which fast-isel folds into the access's
        # displacement (`add` then `getelementptr` are two instructions to parse
        # and select).  Exact: ea + offset < 2^64 (ea < 2^32 and offset < 2^32
        # under the guard, or the check above passed), so the wrapping arithmetic
        # of a GEP without `inbounds` never wraps.  Not above -O0: there the
        # `add nuw` lets LLVM fold more (a shift into the scale of an index).
        p = fx.tmp()
        fx.emit(f"{p} = getelementptr [1 x i8], ptr {base}, i64 {ea}, i64 {i64_literal(offset)}")
        return p, GUARDED if guarded else CHECKED
    if offset:
        withoff = fx.tmp()
        fx.emit(f"{withoff} = add nuw i64 {ea}, {i64_literal(offset)}")
        ea = withoff
    p = fx.tmp()
    fx.emit(f"{p} = getelementptr i8, ptr {base}, i64 {ea}")
    return p, GUARDED if guarded else CHECKED


def memarg_access(body):
    """A memarg instruction's handler: computes the bounds-checked pointer from
    the memarg and the address operand (the row's first parameter, below the
    other operands), then runs `body(fx, op, imms, pointer, faults)`, which pops
    the operands; `faults` (effective_address): true if the access traps by faulting
    in a guard page, so it must be volatile (module doc).  Every memarg row's handler
    must be made by this (module.py checks it)."""
    def handler(fx, op, imms):
        memarg = imms[0]
        index_ty, index = fx.stack[-len(op.params)]
        p, faults = effective_address(fx, memarg.memidx, index_ty, index, memarg.offset, op.width)
        body(fx, op, imms, p, faults)
    handler.bounds_checked = True
    handler.__name__ = body.__name__
    return handler


def store_kind(fx) -> str:
    """`store volatile` for every store of guest state when faults are invisible
    to LLVM (module doc), else `store`."""
    return "store volatile" if fx.mod.precise_faults else "store"


@memarg_access
def _load(fx, op, imms, p: str, faults: int) -> None:
    int_ty, result = f"i{op.width * 8}", op.results[0]
    fx.pop_typed()  # the address, already in p
    result_ty = _RESULT_TYPE[result]
    if result in _FLOAT_TYPE:
        int_ty = result_ty  # loads and stores move a float's bits as they are
    v = fx.tmp()
    fx.emit(f"{v} = load{' volatile' if faults else ''} {int_ty}, ptr {p}, align 1")
    if int_ty != result_ty:
        r = fx.tmp()
        fx.emit(f"{r} = {'sext' if op.name.endswith('_s') else 'zext'} {int_ty} {v} to {result_ty}")
        v = r
    fx.push(result_ty, v)


@memarg_access
def _store(fx, op, imms, p: str, faults: int) -> None:
    int_ty, src = f"i{op.width * 8}", op.params[1]
    _, value = fx.pop_typed()
    fx.pop_typed()  # the address, already in p
    src_ty = _RESULT_TYPE[src]
    if src in _FLOAT_TYPE:
        int_ty = src_ty  # stored as it is (see _load)
    elif int_ty != src_ty:
        r = fx.tmp()
        fx.emit(f"{r} = trunc {src_ty} {value} to {int_ty}")
        value = r
    _emit_store(fx, op, p, faults, int_ty, value)


def _emit_store(fx, op, p: str, faults: int, ty: str, value: str) -> None:
    """The store of a memarg instruction (volatile, and probed first on aarch64:
    see the module doc)."""
    if faults and op.width > 1 and fx.mod.options.probe_straddling_stores:
        if faults == FOLDED:
            # It may start in the low guard and end inside the memory, where the
            # last byte's probe does not fault.
            fx.emit(f"{fx.tmp()} = load volatile i8, ptr {p}, align 1")
        last, probe = fx.tmp(), fx.tmp()
        fx.emit(f"{last} = getelementptr i8, ptr {p}, i64 {op.width - 1}")
        fx.emit(f"{probe} = load volatile i8, ptr {last}, align 1")
    fx.emit(f"{store_kind(fx)} {ty} {value}, ptr {p}, align 1")


def push_address(fx, is64: bool, value: str) -> None:
    """Push an i64 size/index as the address type: as is, or truncated to i32
    (where the runtime's -1 becomes 0xFFFFFFFF, as `memory.grow` wants)."""
    if is64:
        fx.push("i64", value)
        return
    r = fx.tmp()
    fx.emit(f"{r} = trunc i64 {value} to i32")
    fx.push("i32", r)


def _memory_size(fx, op, imms) -> None:
    memidx = imms[0]
    pages = fx.load_field(memory_struct(fx, memidx), abi.MEMORY, "pages", "i64")
    push_address(fx, fx.mod.memory_is64(memidx), pages)


def _memory_grow(fx, op, imms) -> None:
    memidx = imms[0]
    ty, delta = fx.pop_typed()
    old = fx.tmp()
    fx.emit(f"{old} = call i64 @wasmaot_rt_memory_grow(ptr %ctx, i32 {memidx}, "
            f"i64 {to_i64(fx, ty, delta)})")
    push_address(fx, ty == "i64", old)


def bulk_call(fx, function: str, indices: tuple, operands: tuple) -> None:
    """Call the runtime's `wasmaot_rt_<function>(ctx, indices..., operands...)`
    with the operands popped in stack order: "len" operands (addresses, offsets,
    counts) zero-extended to i64, "i32"/"ptr" ones passed as they are."""
    values = fx.popn(len(operands))
    args = [f"i32 {i}" for i in indices]
    for kind, (ty, v) in zip(operands, values):
        args.append(f"i64 {to_i64(fx, ty, v)}" if kind == "len" else f"{kind} {v}")
    fx.emit(f"call void @wasmaot_rt_{function}(ptr %ctx, {', '.join(args)})")


def checked_range(fx, memidx: int, start: str, n: str) -> str:
    """Pointer to bytes [start, start + n) of the memory, for u64 IR values
    `start` and `n`; traps if any is out of bounds (also when start + n wraps)."""
    trap_unless_within(fx, memidx, start, n)
    p = fx.tmp()
    fx.emit(f"{p} = getelementptr i8, ptr {memory_base(fx, memidx)}, i64 {start}")
    return p


# memory.fill and memory.copy are inline: both ranges are checked before any
# byte is written (the spec's all-or-nothing trap), then LLVM's memset/memmove,
# which it expands to a few moves when n is a small constant.

def _memory_fill(fx, op, imms) -> None:
    (dty, d), (_, val), (nty, n) = fx.popn(3)
    d, n = to_i64(fx, dty, d), to_i64(fx, nty, n)
    p = checked_range(fx, imms[0], d, n)
    byte = fx.tmp()
    fx.emit(f"{byte} = trunc i32 {val} to i8")
    fx.emit(f"call void @llvm.memset.p0.i64(ptr {p}, i8 {byte}, i64 {n}, i1 false)")
    fx.declare("declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)")


def _memory_copy(fx, op, imms) -> None:
    dst_mem, src_mem = imms
    (dty, d), (sty, s), (nty, n) = fx.popn(3)
    d, s, n = to_i64(fx, dty, d), to_i64(fx, sty, s), to_i64(fx, nty, n)
    dp = checked_range(fx, dst_mem, d, n)
    sp = checked_range(fx, src_mem, s, n)
    fx.emit(f"call void @llvm.memmove.p0.p0.i64(ptr {dp}, ptr {sp}, i64 {n}, i1 false)")
    fx.declare("declare void @llvm.memmove.p0.p0.i64(ptr, ptr, i64, i1)")


def _memory_init(fx, op, imms) -> None:
    dataidx, memidx = imms
    bulk_call(fx, "memory_init", (memidx, dataidx), ("len", "len", "len"))


def _data_drop(fx, op, imms) -> None:
    fx.emit(f"call void @wasmaot_rt_data_drop(ptr %ctx, i32 {imms[0]})")


# --- v128 ------------------------------------------------------------------------
V128 = "<2 x i64>"
# v128.load<N>x<M>_s/u: M lanes of N bits, each extended to 2N bits.
_LOAD_EXTEND = {f"v128.load{n}x{m}_{s}": (n, m, "sext" if s == "s" else "zext")
                for n, m in ((8, 8), (16, 4), (32, 2)) for s in "su"}


def _load_scalar(fx, op, p: str, faults: bool, ty: str) -> str:
    v = fx.tmp()
    fx.emit(f"{v} = load{' volatile' if faults else ''} {ty}, ptr {p}, align 1")
    return v


def _to_v128(fx, vec_ty: str, v: str) -> None:
    r = fx.tmp()
    fx.emit(f"{r} = bitcast {vec_ty} {v} to {V128}")
    fx.push(V128, r)


@memarg_access
def _v128_load(fx, op, imms, p: str, faults: int) -> None:
    """v128.load, the extending loads, load_splat and load_zero."""
    fx.pop_typed()  # the address, already in p
    name = op.name
    if name == "v128.load":
        fx.push(V128, _load_scalar(fx, op, p, faults, V128))
    elif name in _LOAD_EXTEND:
        n, m, ext = _LOAD_EXTEND[name]
        v, w = _load_scalar(fx, op, p, faults, f"<{m} x i{n}>"), fx.tmp()
        fx.emit(f"{w} = {ext} <{m} x i{n}> {v} to <{m} x i{2 * n}>")
        _to_v128(fx, f"<{m} x i{2 * n}>", w)
    else:  # load<N>_splat, load<N>_zero
        bits = op.width * 8
        lanes = 128 // bits
        vec_ty = f"<{lanes} x i{bits}>"
        x, i = _load_scalar(fx, op, p, faults, f"i{bits}"), fx.tmp()
        if name.endswith("_splat"):
            v = fx.tmp()
            fx.emit(f"{i} = insertelement {vec_ty} poison, i{bits} {x}, i32 0")
            fx.emit(f"{v} = shufflevector {vec_ty} {i}, {vec_ty} poison, "
                    f"<{lanes} x i32> zeroinitializer")
            _to_v128(fx, vec_ty, v)
        else:
            fx.emit(f"{i} = insertelement {vec_ty} zeroinitializer, i{bits} {x}, i32 0")
            _to_v128(fx, vec_ty, i)


def _as_lanes(fx, op, v: str) -> tuple[str, str, str]:
    """(vector type, lane type, value): the v128 `v` as lanes of the access's width."""
    lane = f"i{op.width * 8}"
    vec_ty, c = f"<{16 // op.width} x {lane}>", fx.tmp()
    fx.emit(f"{c} = bitcast {V128} {v} to {vec_ty}")
    return vec_ty, lane, c


@memarg_access
def _v128_load_lane(fx, op, imms, p: str, faults: int) -> None:
    _, v = fx.pop_typed()
    fx.pop_typed()  # the address, already in p
    vec_ty, lane, c = _as_lanes(fx, op, v)
    x, i = _load_scalar(fx, op, p, faults, lane), fx.tmp()
    fx.emit(f"{i} = insertelement {vec_ty} {c}, {lane} {x}, i32 {imms[1]}")
    _to_v128(fx, vec_ty, i)


@memarg_access
def _v128_store(fx, op, imms, p: str, faults: int) -> None:
    """v128.store and store<N>_lane."""
    _, v = fx.pop_typed()
    fx.pop_typed()  # the address, already in p
    ty, value = V128, v
    if op.name != "v128.store":
        vec_ty, ty, c = _as_lanes(fx, op, v)
        value = fx.tmp()
        fx.emit(f"{value} = extractelement {vec_ty} {c}, i32 {imms[1]}")
    _emit_store(fx, op, p, faults, ty, value)


# The memory instructions lowered here: the rows of these proposals that have a
# memarg (the threads proposal's atomics are not lowered yet).
_MEMARG_PROPOSALS = frozenset({"mvp", "simd", "relaxed_simd"})


def _memarg_handler(op):
    """The handler of a memarg row, chosen by its shape: a v128 row by whether it
    has a lane immediate and a result, a scalar row by whether it has a result."""
    if "v128" in op.params + op.results:
        if len(op.imms) == 2:  # memarg and a lane
            return _v128_load_lane if op.results else _v128_store
        return _v128_load if op.results else _v128_store
    return _load if op.results else _store


MEMORY_HANDLERS = {
    **{op.name: _memarg_handler(op) for op in OPCODES
       if "memarg" in op.imms and op.proposal in _MEMARG_PROPOSALS},
    "memory.size": _memory_size,
    "memory.grow": _memory_grow,
    "memory.fill": _memory_fill,
    "memory.copy": _memory_copy,
    "memory.init": _memory_init,
    "data.drop": _data_drop,
}
