"""Lowering of linear-memory instructions.

=====================================================================
 SANDBOX-CRITICAL: every guest memory access is bounded here.  A change
 to the address arithmetic below needs a second reviewer.
=====================================================================

Guard-page scheme (32-bit memories, the default on 64-bit hosts): the runtime
reserves 8 GiB + a guard for each 32-bit memory (runtime_c/memory.c) and only
the first `size` bytes are readable.  An effective address is
`zext(i32 index) + offset` with both terms below 2**32, so it is below 2**33
and, plus the access width (at most 16 bytes), stays inside the reservation:
any out-of-bounds access faults in PROT_NONE pages and the runtime's signal
handler turns the fault into the trap "out of bounds memory access".  No
explicit check is emitted.

Explicit checks: 64-bit memories, one-byte pages (custom-page-sizes: host
pages are 4 KiB, so the tail of the last page would be accessible), and
`--bounds-checks=explicit` compare `index + offset + width` (computed without
overflow) with the memory's current byte size before every access.

Keeping faults: a load whose value is never used must still fault.  LLVM
deletes such loads (its -O0 instruction selector too), so every loaded value
is passed to an empty `asm sideeffect` (as wasm2c's FORCE_READ): the load then
has a use LLVM cannot remove, while the asm touches no memory and blocks no
other optimisation.
"""

from __future__ import annotations

from . import abi

# name -> (integer type loaded/stored, bytes, extension to the result type or None)
_LOAD = {
    "i32.load": ("i32", 4, None), "i64.load": ("i64", 8, None),
    "f32.load": ("i32", 4, "float"), "f64.load": ("i64", 8, "double"),
    "i32.load8_s": ("i8", 1, "sext i32"), "i32.load8_u": ("i8", 1, "zext i32"),
    "i32.load16_s": ("i16", 2, "sext i32"), "i32.load16_u": ("i16", 2, "zext i32"),
    "i64.load8_s": ("i8", 1, "sext i64"), "i64.load8_u": ("i8", 1, "zext i64"),
    "i64.load16_s": ("i16", 2, "sext i64"), "i64.load16_u": ("i16", 2, "zext i64"),
    "i64.load32_s": ("i32", 4, "sext i64"), "i64.load32_u": ("i32", 4, "zext i64"),
}
_STORE = {
    "i32.store": ("i32", 4, None), "i64.store": ("i64", 8, None),
    "f32.store": ("i32", 4, "float"), "f64.store": ("i64", 8, "double"),
    "i32.store8": ("i8", 1, "i32"), "i32.store16": ("i16", 2, "i32"),
    "i64.store8": ("i8", 1, "i64"), "i64.store16": ("i16", 2, "i64"),
    "i64.store32": ("i32", 4, "i64"),
}
_RESULT_TYPE = {"i32": "i32", "i64": "i64", "f32": "float", "f64": "double"}


def memory_struct(fx, memidx: int) -> str:
    return fx.ctx_array_item("memories", memidx)


def memory_base(fx, memidx: int) -> str:
    def address():
        mem = memory_struct(fx, memidx)
        p = fx.tmp()
        return [f"{p} = getelementptr inbounds i8, ptr {mem}, i64 {abi.MEMORY.offset('base')}"], p
    return fx.invariant_load(("membase", memidx), address)


def to_i64(fx, ty: str, value: str) -> str:
    if ty == "i64":
        return value
    v = fx.tmp()
    fx.emit(f"{v} = zext i32 {value} to i64")
    return v


def trap_unless_within(fx, memidx: int, start: str, n: str) -> None:
    """Traps unless start + n <= the memory's current byte size, computed
    without wrapping (a 64-bit memory's operands may be any u64)."""
    end = fx.tmp()
    fx.emit(f"{end} = call {{i64, i1}} @llvm.uadd.with.overflow.i64(i64 {start}, i64 {n})")
    fx.declare("declare {i64, i1} @llvm.uadd.with.overflow.i64(i64, i64)")
    ov, sum_, over, bad = fx.tmp(), fx.tmp(), fx.tmp(), fx.tmp()
    fx.emit(f"{ov} = extractvalue {{i64, i1}} {end}, 1")
    fx.emit(f"{sum_} = extractvalue {{i64, i1}} {end}, 0")
    size = fx.load_field(memory_struct(fx, memidx), abi.MEMORY, "size", "i64")
    fx.emit(f"{over} = icmp ugt i64 {sum_}, {size}")
    fx.emit(f"{bad} = or i1 {ov}, {over}")
    fx.trap_if(bad, "MEMORY_OOB")


def effective_address(fx, memidx: int, index_ty: str, index: str, offset: int,
                      width: int) -> str:
    """Pointer to the accessed bytes; traps when the access is out of bounds."""
    base = memory_base(fx, memidx)
    ea = to_i64(fx, index_ty, index)
    if fx.mod.needs_explicit_checks(memidx):
        trap_unless_within(fx, memidx, ea, str(offset + width))
    if offset:
        withoff = fx.tmp()
        fx.emit(f"{withoff} = add i64 {ea}, {offset}")
        ea = withoff
    p = fx.tmp()
    fx.emit(f"{p} = getelementptr i8, ptr {base}, i64 {ea}")
    return p


def _load(fx, op, imms) -> None:
    memarg = imms[0]
    int_ty, width, ext = _LOAD[op.name]
    index_ty, index = fx.pop_typed()
    p = effective_address(fx, memarg.memidx, index_ty, index, memarg.offset, width)
    v = fx.tmp()
    fx.emit(f"{v} = load {int_ty}, ptr {p}, align 1")
    if fx.mod.force_reads:
        fx.emit(f'call void asm sideeffect "", "r"({int_ty} {v})')
    result_ty = _RESULT_TYPE[op.name.split(".")[0]]
    if ext in ("float", "double"):
        r = fx.tmp()
        fx.emit(f"{r} = bitcast {int_ty} {v} to {ext}")
        v = r
    elif ext is not None:
        kind, to = ext.split()
        r = fx.tmp()
        fx.emit(f"{r} = {kind} {int_ty} {v} to {to}")
        v = r
    fx.push(result_ty, v)


def _store(fx, op, imms) -> None:
    memarg = imms[0]
    int_ty, width, src = _STORE[op.name]
    _, value = fx.pop_typed()
    index_ty, index = fx.pop_typed()
    if src in ("float", "double"):
        r = fx.tmp()
        fx.emit(f"{r} = bitcast {src} {value} to {int_ty}")
        value = r
    elif src is not None:
        r = fx.tmp()
        fx.emit(f"{r} = trunc {src} {value} to {int_ty}")
        value = r
    p = effective_address(fx, memarg.memidx, index_ty, index, memarg.offset, width)
    fx.emit(f"store {int_ty} {value}, ptr {p}, align 1")


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


def _checked_range(fx, memidx: int, start: str, n: str) -> str:
    """Pointer to bytes [start, start + n) of the memory; traps if any is out of bounds."""
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
    p = _checked_range(fx, imms[0], d, n)
    byte = fx.tmp()
    fx.emit(f"{byte} = trunc i32 {val} to i8")
    fx.emit(f"call void @llvm.memset.p0.i64(ptr {p}, i8 {byte}, i64 {n}, i1 false)")
    fx.declare("declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)")


def _memory_copy(fx, op, imms) -> None:
    dst_mem, src_mem = imms
    (dty, d), (sty, s), (nty, n) = fx.popn(3)
    d, s, n = to_i64(fx, dty, d), to_i64(fx, sty, s), to_i64(fx, nty, n)
    dp = _checked_range(fx, dst_mem, d, n)
    sp = _checked_range(fx, src_mem, s, n)
    fx.emit(f"call void @llvm.memmove.p0.p0.i64(ptr {dp}, ptr {sp}, i64 {n}, i1 false)")
    fx.declare("declare void @llvm.memmove.p0.p0.i64(ptr, ptr, i64, i1)")


def _memory_init(fx, op, imms) -> None:
    dataidx, memidx = imms
    bulk_call(fx, "memory_init", (memidx, dataidx), ("len", "len", "len"))


def _data_drop(fx, op, imms) -> None:
    fx.emit(f"call void @wasmaot_rt_data_drop(ptr %ctx, i32 {imms[0]})")


MEMORY_HANDLERS = {
    **{name: _load for name in _LOAD},
    **{name: _store for name in _STORE},
    "memory.size": _memory_size,
    "memory.grow": _memory_grow,
    "memory.fill": _memory_fill,
    "memory.copy": _memory_copy,
    "memory.init": _memory_init,
    "data.drop": _data_drop,
}
