"""Lowering of table and reference instructions, and of calls (direct,
imported, indirect through a table, through a reference, and tail calls).

Table elements are pointers (`wasmaot_funcref*` or externref; NULL is null).
Every element access checks the index against the table's current size.
"""

from __future__ import annotations

from . import abi
from .memory import bulk_call, push_address, store_kind, to_i64
from .sealed import MAX_SENTINEL


def table_struct(fx, tableidx: int) -> str:
    return fx.ctx_array_item("tables", tableidx)


def trap_unless_index_below(fx, index: str, size: str) -> None:
    """Trap "undefined element" unless the i64 `index` is below `size`."""
    oob = fx.tmp()
    fx.emit(f"{oob} = icmp uge i64 {index}, {size}")
    fx.trap_if(oob, "TABLE_OOB")


def element_slot(fx, tableidx: int, index_ty: str, index: str) -> str:
    """Pointer to element `index`; traps "undefined element" when out of bounds."""
    table = table_struct(fx, tableidx)
    size = fx.load_field(table, abi.TABLE, "size", "i64")
    i = to_i64(fx, index_ty, index)
    trap_unless_index_below(fx, i, size)
    elems = fx.load_field(table, abi.TABLE, "elems", "ptr")
    p = fx.tmp()
    fx.emit(f"{p} = getelementptr inbounds ptr, ptr {elems}, i64 {i}")
    return p


def _table_get(fx, op, imms) -> None:
    ty, i = fx.pop_typed()
    p = element_slot(fx, imms[0], ty, i)
    v = fx.tmp()
    fx.emit(f"{v} = load ptr, ptr {p}, align 8")
    fx.push("ptr", v)


def _table_set(fx, op, imms) -> None:
    _, ref = fx.pop_typed()
    ty, i = fx.pop_typed()
    p = element_slot(fx, imms[0], ty, i)
    fx.emit(f"{store_kind(fx)} ptr {ref}, ptr {p}, align 8")


def _table_size(fx, op, imms) -> None:
    size = fx.load_field(table_struct(fx, imms[0]), abi.TABLE, "size", "i64")
    push_address(fx, fx.mod.table_is64(imms[0]), size)


def _table_grow(fx, op, imms) -> None:
    ty, n = fx.pop_typed()
    _, ref = fx.pop_typed()
    old = fx.tmp()
    fx.emit(f"{old} = call i64 @wasmaot_rt_table_grow(ptr %ctx, i32 {imms[0]}, ptr {ref}, "
            f"i64 {to_i64(fx, ty, n)})")
    push_address(fx, ty == "i64", old)


def _table_fill(fx, op, imms) -> None:
    bulk_call(fx, "table_fill", (imms[0],), ("len", "ptr", "len"))


def _table_copy(fx, op, imms) -> None:
    bulk_call(fx, "table_copy", imms, ("len", "len", "len"))


def _table_init(fx, op, imms) -> None:
    elemidx, tableidx = imms
    bulk_call(fx, "table_init", (tableidx, elemidx), ("len", "len", "len"))


def _elem_drop(fx, op, imms) -> None:
    fx.emit(f"call void @wasmaot_rt_elem_drop(ptr %ctx, i32 {imms[0]})")


# --- references -------------------------------------------------------------------

def _ref_null(fx, op, imms) -> None:
    fx.push("ptr", "null")


def _ref_is_null(fx, op, imms) -> None:
    _, ref = fx.pop_typed()
    c = fx.tmp()
    fx.emit(f"{c} = icmp eq ptr {ref}, null")
    r = fx.tmp()
    fx.emit(f"{r} = zext i1 {c} to i32")
    fx.push("i32", r)


def _ref_func(fx, op, imms) -> None:
    fx.push("ptr", fx.funcref_record(imms[0]))


def _ref_as_non_null(fx, op, imms) -> None:
    _, ref = fx.stack[-1]
    c = fx.tmp()
    fx.emit(f"{c} = icmp eq ptr {ref}, null")
    fx.trap_if(c, "NULL_REFERENCE")


def _br_on_null(fx, op, imms) -> None:
    _, ref = fx.pop_typed()
    frame = fx.frames[-1 - imms[0]]
    c = fx.tmp()
    fx.emit(f"{c} = icmp eq ptr {ref}, null")
    target = fx.branch_target(frame, fx.label_values(frame))
    cont = fx.label("nonnull")
    fx.emit(f"br i1 {c}, label %{target}, label %{cont}")
    fx.continue_block(cont)
    fx.push("ptr", ref)


def _br_on_non_null(fx, op, imms) -> None:
    frame = fx.frames[-1 - imms[0]]
    _, ref = fx.stack[-1]
    c = fx.tmp()
    fx.emit(f"{c} = icmp ne ptr {ref}, null")
    target = fx.branch_target(frame, fx.label_values(frame))
    cont = fx.label("null")
    fx.emit(f"br i1 {c}, label %{target}, label %{cont}")
    fx.continue_block(cont)
    fx.pop()


# --- calls ---------------------------------------------------------------------------

def _args(fx, functype) -> str:
    values = fx.popn(len(functype.params))
    return "".join(f", {ty} {v}" for ty, v in values)


def _push_results(fx, functype, result: str) -> None:
    types = fx.mod.llvm_types(functype.results)
    if len(types) == 1:
        fx.push(types[0], result)
    elif len(types) > 1:
        st = fx.mod.return_type(functype.results)
        for i, ty in enumerate(types):
            v = fx.tmp()
            fx.emit(f"{v} = extractvalue {st} {result}, {i}")
            fx.push(ty, v)


def _emit_call(fx, functype, callee: str, callee_ctx: str, *, tail: bool,
               conv: str | None = None) -> None:
    """A call of `callee`: by default through a record (ModuleEmitter.record_conv)."""
    conv = conv or fx.mod.record_conv
    args = _args(fx, functype)
    ret = fx.mod.return_type(functype.results)
    # `notail`: LLVM must not turn wasm recursion into a loop (that would hang
    # where wasm must exhaust its stack); `tail` (with tailcc) guarantees
    # return_call* never grows the stack.
    prefix = "tail call" if tail else "notail call"
    if tail:
        fx.has_return_call = True  # never inlined: FunctionEmitter.attribute_group
        if fx.mod.options.interruptible:
            # A return_call cycle is a loop with no loop header (LLVM even
            # turns a self return_call into a branch that skips the prologue).
            fx.interrupt_check()
    callee_args = f"{fx.mod.vmctx_param(conv)} {callee_ctx}{args}"
    pad = None if tail else fx.unwind_label()
    if pad is not None:
        # Inside a handler scope (exceptions.py): an exception unwinds to its pad.
        # (A return_call leaves the scope, as the spec says: it stays a tail call.)
        r = fx.tmp()
        cont = fx.label("cont")
        fx.emit(f"{'' if ret == 'void' else r + ' = '}invoke {conv} {ret} "
                f"{callee}({callee_args}) to label %{cont} unwind label %{pad}")
        fx.continue_block(cont)
        if ret != "void":
            _push_results(fx, functype, r)
        return
    if ret == "void":
        fx.emit(f"{prefix} {conv} void {callee}({callee_args})")
        if tail:
            fx.emit("ret void")
            fx.set_dead()
        return
    r = fx.tmp()
    fx.emit(f"{r} = {prefix} {conv} {ret} {callee}({callee_args})")
    if tail:
        fx.emit(f"ret {ret} {r}")
        fx.set_dead()
        return
    _push_results(fx, functype, r)


def _record_code_and_ctx(fx, record: str) -> tuple:
    return (fx.load_field(record, abi.FUNCREF, "code", "ptr"),
            fx.load_field(record, abi.FUNCREF, "vmctx", "ptr"))


def _call_function(fx, funcidx: int, *, tail: bool) -> None:
    functype = fx.mod.func_type(funcidx)
    if fx.mod.is_imported_func(funcidx):
        code, ctx = _record_code_and_ctx(fx, fx.funcref_record(funcidx))
        _emit_call(fx, functype, code, ctx, tail=tail)
    else:
        # a direct call uses the callee's own convention (ModuleEmitter.call_conv)
        _emit_call(fx, functype, fx.mod.func_ref(funcidx), "%ctx", tail=tail,
                   conv=fx.mod.call_conv(funcidx))


def _call(fx, op, imms) -> None:
    _call_function(fx, imms[0], tail=False)


def _return_call(fx, op, imms) -> None:
    _call_function(fx, imms[0], tail=True)


def _call_indirect_impl(fx, typeidx: int, tableidx: int, *, tail: bool) -> None:
    sealed = (None if fx.mod.type_may_have_subtypes(typeidx)
              else fx.mod.sealed_dispatch(tableidx, typeidx))
    if sealed is not None:
        _call_sealed(fx, typeidx, *sealed, tail=tail)
        return
    ty, i = fx.pop_typed()
    slot = element_slot(fx, tableidx, ty, i)
    record = fx.tmp()
    fx.emit(f"{record} = load ptr, ptr {slot}, align 8")
    null = fx.tmp()
    fx.emit(f"{null} = icmp eq ptr {record}, null")
    fx.trap_if(null, "UNINITIALIZED_ELEMENT")
    _check_type(fx, record, typeidx)
    code, ctx = _record_code_and_ctx(fx, record)
    _emit_call(fx, fx.mod.func_type_of_typeidx(typeidx), code, ctx, tail=tail)


def _call_sealed(fx, typeidx: int, dispatch: str, size: int, *, tail: bool) -> None:
    """call_indirect through a sealed table (sealed.py): the element's code for this
    type from the constant `dispatch` array, or a sentinel that is the trap's code.
    The callee is one of this instance's functions, so it takes this vmctx."""
    ty, i = fx.pop_typed()
    index = to_i64(fx, ty, i)
    trap_unless_index_below(fx, index, str(size))  # the size never changes
    slot, code, bits, bad, trap = fx.tmp(), fx.tmp(), fx.tmp(), fx.tmp(), fx.tmp()
    fx.emit(f"{slot} = getelementptr inbounds [{size} x ptr], ptr {dispatch}, i64 0, i64 {index}")
    fx.emit(f"{code} = load ptr, ptr {slot}, align 8")
    fx.emit(f"{bits} = ptrtoint ptr {code} to i64")
    fx.emit(f"{bad} = icmp ule i64 {bits}, {MAX_SENTINEL}")
    fx.emit(f"{trap} = trunc i64 {bits} to i32")
    fx.trap_code_if(bad, trap)
    _emit_call(fx, fx.mod.func_type_of_typeidx(typeidx), code, "%ctx", tail=tail)


def _check_type(fx, record: str, typeidx: int) -> None:
    """The callee's type must match `typeidx`: equal canonical ids, or (with
    function subtyping) a declared subtype, which the runtime checks."""
    actual = fx.load_field(record, abi.FUNCREF, "type_id", "i64")
    q = fx.field_address(fx.ctx_field("type_ids"), 8 * typeidx)  # an array of i64
    expected = fx.tmp()
    fx.emit(f"{expected} = load i64, ptr {q}, align 8, !invariant.load !{fx.mod.empty_md}")
    same = fx.tmp()
    fx.emit(f"{same} = icmp eq i64 {actual}, {expected}")
    if fx.mod.type_may_have_subtypes(typeidx):
        ok = fx.label("typeok")
        slow = fx.label("typeslow")
        fx.emit(f"br i1 {same}, label %{ok}, label %{slow}")
        fx.continue_block(slow)
        m = fx.tmp()
        fx.emit(f"{m} = call i32 @wasmaot_rt_func_type_matches(ptr %ctx, i64 {actual}, "
                f"i64 {expected})")
        bad = fx.tmp()
        fx.emit(f"{bad} = icmp eq i32 {m}, 0")
        fx.trap_if(bad, "INDIRECT_CALL_TYPE")
        fx.emit(f"br label %{ok}")
        fx.start_block(ok)
        return
    bad = fx.tmp()
    fx.emit(f"{bad} = xor i1 {same}, true")
    fx.trap_if(bad, "INDIRECT_CALL_TYPE")


def _call_indirect(fx, op, imms) -> None:
    _call_indirect_impl(fx, imms[0], imms[1], tail=False)


def _return_call_indirect(fx, op, imms) -> None:
    _call_indirect_impl(fx, imms[0], imms[1], tail=True)


def _call_ref_impl(fx, typeidx: int, *, tail: bool) -> None:
    _, record = fx.pop_typed()
    null = fx.tmp()
    fx.emit(f"{null} = icmp eq ptr {record}, null")
    fx.trap_if(null, "NULL_REFERENCE")
    code, ctx = _record_code_and_ctx(fx, record)
    _emit_call(fx, fx.mod.func_type_of_typeidx(typeidx), code, ctx, tail=tail)


def _call_ref(fx, op, imms) -> None:
    _call_ref_impl(fx, imms[0], tail=False)


def _return_call_ref(fx, op, imms) -> None:
    _call_ref_impl(fx, imms[0], tail=True)


TABLE_HANDLERS = {
    "table.get": _table_get, "table.set": _table_set, "table.size": _table_size,
    "table.grow": _table_grow, "table.fill": _table_fill, "table.copy": _table_copy,
    "table.init": _table_init, "elem.drop": _elem_drop,
    "ref.null": _ref_null, "ref.is_null": _ref_is_null, "ref.func": _ref_func,
    "ref.as_non_null": _ref_as_non_null, "br_on_null": _br_on_null,
    "br_on_non_null": _br_on_non_null,
    "call": _call, "return_call": _return_call, "call_indirect": _call_indirect,
    "return_call_indirect": _return_call_indirect, "call_ref": _call_ref,
    "return_call_ref": _return_call_ref,
}
