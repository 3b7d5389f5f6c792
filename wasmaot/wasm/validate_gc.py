"""Validation rules of the GC instructions (spec 3.4.x, "Aggregate reference
instructions" and "Reference instructions"), registered into the function
validator's rule table."""

from __future__ import annotations

from .binary_types import read_heaptype_exact
from .instructions import read_br_on_cast
from .types import BOT, I8, I16, I32, ArrayType, RefType, StructType, is_defaultable
from .validate_func import _data, _elem, _rule

ARRAYREF = RefType(True, "array")
I31REF = RefType(False, "i31")


def _comp(v, x: int, kind: type, what: str):
    comp = v.ctx.comp_at(x, v)
    if type(comp) is not kind:
        raise v.error(f"type mismatch: expected {what} type, type {x} is not")
    return comp


def _struct_field(v, x: int, y: int):
    st = _comp(v, x, StructType, "struct")
    if y >= len(st.fields):
        raise v.error(f"unknown field {y}")
    return st.fields[y]


def _ref_to(v, x: int, nullable: bool = True) -> RefType:
    return RefType(nullable, v.ctx.type_rep(x))


def _new_result(v, x: int) -> RefType:
    return RefType(False, v.ctx.type_rep(x), v.ctx.exact_allocations)


# --- structs -----------------------------------------------------------------

@_rule("struct.new")
def _struct_new(v, op, r):
    x = r.u32()
    st = _comp(v, x, StructType, "struct")
    if v.ctx.descriptor_of(x) is not None:
        raise v.error("type with a descriptor must be allocated with struct.new_desc")
    v.pop_vals(tuple(f.unpacked for f in st.fields))
    v.push_val(_new_result(v, x))


@_rule("struct.new_default")
def _struct_new_default(v, op, r):
    x = r.u32()
    st = _comp(v, x, StructType, "struct")
    if v.ctx.descriptor_of(x) is not None:
        raise v.error("type with a descriptor must be allocated with struct.new_desc")
    if not all(is_defaultable(f.storage) for f in st.fields):
        raise v.error(f"type {x} has a non-defaultable field")
    v.push_val(_new_result(v, x))


@_rule("struct.get", "struct.get_s", "struct.get_u")
def _struct_get(v, op, r):
    x, y = r.u32(), r.u32()
    f = _struct_field(v, x, y)
    packed = f.storage in (I8, I16)
    if packed != (op.name != "struct.get"):
        raise v.error("type mismatch: field is packed" if packed
                      else "type mismatch: field is not packed")
    v.pop_val(_ref_to(v, x))
    v.push_val(f.unpacked)


@_rule("struct.set")
def _struct_set(v, op, r):
    x, y = r.u32(), r.u32()
    f = _struct_field(v, x, y)
    if not f.mutable:
        raise v.error("field is immutable")
    v.pop_val(f.unpacked)
    v.pop_val(_ref_to(v, x))


# --- arrays ------------------------------------------------------------------

def _array(v, x: int) -> ArrayType:
    return _comp(v, x, ArrayType, "array")


def _mutable_array(v, x: int) -> ArrayType:
    at = _array(v, x)
    if not at.field.mutable:
        raise v.error("array is immutable")
    return at


@_rule("array.new")
def _array_new(v, op, r):
    x = r.u32()
    v.pop_vals((_array(v, x).field.unpacked, I32))
    v.push_val(_new_result(v, x))


@_rule("array.new_default")
def _array_new_default(v, op, r):
    x = r.u32()
    if not is_defaultable(_array(v, x).field.storage):
        raise v.error(f"type {x} has a non-defaultable element type")
    v.pop_val(I32)
    v.push_val(_new_result(v, x))


@_rule("array.new_fixed")
def _array_new_fixed(v, op, r):
    x, n = r.u32(), r.u32()
    t = _array(v, x).field.unpacked
    # n is up to 2**32-1 and wasmtime sets no limit: pop what the stack holds (each one
    # checked), then at most one more, which is the unknown operand of unreachable code or
    # the "stack empty" error.  O(stack), never O(n).
    for _ in range(min(n, len(v.vals) - v.ctrls[-1].height + 1)):
        v.pop_val(t)
    v.push_val(_new_result(v, x))


def _numeric_elements(v, at: ArrayType) -> None:
    if type(at.field.storage) is RefType:
        raise v.error("type mismatch: array element type must be numeric or vector")


@_rule("array.new_data")
def _array_new_data(v, op, r):
    x, d = r.u32(), r.u32()
    _numeric_elements(v, _array(v, x))
    _data(v, d)
    v.pop_vals((I32, I32))
    v.push_val(_new_result(v, x))


def _elem_matches(v, at: ArrayType, e: int) -> None:
    et = _elem(v, e)
    if not v.types.matches(et, at.field.storage):
        raise v.mismatch(at.field.storage, et)


@_rule("array.new_elem")
def _array_new_elem(v, op, r):
    x, e = r.u32(), r.u32()
    _elem_matches(v, _array(v, x), e)
    v.pop_vals((I32, I32))
    v.push_val(_new_result(v, x))


@_rule("array.get", "array.get_s", "array.get_u")
def _array_get(v, op, r):
    x = r.u32()
    f = _array(v, x).field
    packed = f.storage in (I8, I16)
    if packed != (op.name != "array.get"):
        raise v.error("type mismatch: array is packed" if packed
                      else "type mismatch: array is not packed")
    v.pop_vals((_ref_to(v, x), I32))
    v.push_val(f.unpacked)


@_rule("array.set")
def _array_set(v, op, r):
    x = r.u32()
    v.pop_vals((_ref_to(v, x), I32, _mutable_array(v, x).field.unpacked))


@_rule("array.len")
def _array_len(v, op, r):
    v.pop_val(ARRAYREF)
    v.push_val(I32)


@_rule("array.fill")
def _array_fill(v, op, r):
    x = r.u32()
    v.pop_vals((_ref_to(v, x), I32, _mutable_array(v, x).field.unpacked, I32))


@_rule("array.copy")
def _array_copy(v, op, r):
    x, y = r.u32(), r.u32()
    dst = _mutable_array(v, x)
    src = _array(v, y)
    if not v.types.matches(src.field.storage, dst.field.storage):
        raise v.mismatch(dst.field.storage, src.field.storage)
    v.pop_vals((_ref_to(v, x), I32, _ref_to(v, y), I32, I32))


@_rule("array.init_data")
def _array_init_data(v, op, r):
    x, d = r.u32(), r.u32()
    _numeric_elements(v, _mutable_array(v, x))
    _data(v, d)
    v.pop_vals((_ref_to(v, x), I32, I32, I32))


@_rule("array.init_elem")
def _array_init_elem(v, op, r):
    x, e = r.u32(), r.u32()
    _elem_matches(v, _mutable_array(v, x), e)
    v.pop_vals((_ref_to(v, x), I32, I32, I32))


# --- casts -------------------------------------------------------------------

def _pop_same_hierarchy(v, target: RefType) -> RefType | str:
    """Pop the operand of a cast: any reference in the target's hierarchy."""
    top = RefType(True, v.types.top_of(target.heap))
    t = v.pop_val(top)
    return t


def _cast_target(v, r, nullable: bool) -> RefType:
    return v.ctx.reftype(nullable, read_heaptype_exact(r), v)


@_rule("ref.test", "ref.test_null")
def _ref_test(v, op, r):
    target = _cast_target(v, r, op.name == "ref.test_null")
    _pop_same_hierarchy(v, target)
    v.push_val(I32)


@_rule("ref.cast", "ref.cast_null")
def _ref_cast(v, op, r):
    target = _cast_target(v, r, op.name == "ref.cast_null")
    _pop_same_hierarchy(v, target)
    v.push_val(target)


def _diff(rt1: RefType, rt2: RefType) -> RefType:
    """rt1 minus rt2 (spec: the type left after a failed cast)."""
    if rt2.nullable:
        return RefType(False, rt1.heap, rt1.exact)
    return rt1


def _br_on_cast_types(v, r, *, relaxed: bool = False):
    flags, depth, h1, h2 = read_br_on_cast(r)
    rt1 = v.ctx.reftype(bool(flags & 1), h1, v)
    rt2 = v.ctx.reftype(bool(flags & 2), h2, v)
    types = v.label(depth).label_types
    if not types or type(types[-1]) is not RefType:
        raise v.error("type mismatch: br_on_cast target must end in a reference type")
    if relaxed:
        # custom-descriptors' casts only need both types in one hierarchy;
        # WebAssembly 3.0's br_on_cast keeps the stricter rt2 <: rt1.
        ok = v.types.top_of(rt2.heap) == v.types.top_of(rt1.heap)
    else:
        ok = v.types.matches(rt2, rt1)
    if not ok:
        raise v.error("type mismatch: br_on_cast target type is not a subtype of the source")
    return rt1, rt2, types


@_rule("br_on_cast")
def _br_on_cast(v, op, r):
    rt1, rt2, types = _br_on_cast_types(v, r)
    if not v.types.matches(rt2, types[-1]):
        raise v.mismatch(types[-1], rt2)
    v.pop_val(rt1)
    v.pop_vals(types[:-1])
    v.push_vals(types[:-1])
    v.push_val(_diff(rt1, rt2))


@_rule("br_on_cast_fail")
def _br_on_cast_fail(v, op, r):
    rt1, rt2, types = _br_on_cast_types(v, r)
    diff = _diff(rt1, rt2)
    if not v.types.matches(diff, types[-1]):
        raise v.mismatch(types[-1], diff)
    v.pop_val(rt1)
    v.pop_vals(types[:-1])
    v.push_vals(types[:-1])
    v.push_val(rt2)


# --- conversions and i31 -----------------------------------------------------

def _convert(v, src_top: str, dst_top: str):
    t = v.pop_val(RefType(True, src_top))
    nullable = False if t is BOT else t.nullable  # unknown: `(ref bot)`, as pop_ref gives
    v.push_val(RefType(nullable, dst_top))


@_rule("any.convert_extern")
def _any_convert_extern(v, op, r):
    _convert(v, "extern", "any")


@_rule("extern.convert_any")
def _extern_convert_any(v, op, r):
    _convert(v, "any", "extern")


@_rule("ref.i31")
def _ref_i31(v, op, r):
    v.pop_val(I32)
    v.push_val(I31REF)


@_rule("i31.get_s", "i31.get_u")
def _i31_get(v, op, r):
    v.pop_val(RefType(True, "i31"))
    v.push_val(I32)


# --- custom descriptors (proposal) -------------------------------------------

def _described(v, x: int) -> int:
    d = v.ctx.descriptor_of(x)
    if d is None:
        raise v.error(f"type {x} has no descriptor")
    return d


@_rule("struct.new_desc")
def _struct_new_desc(v, op, r):
    x = r.u32()
    st = _comp(v, x, StructType, "struct")
    d = _described(v, x)
    v.pop_val(RefType(True, d, True))
    v.pop_vals(tuple(f.unpacked for f in st.fields))
    v.push_val(RefType(False, v.ctx.type_rep(x), True))


@_rule("struct.new_default_desc")
def _struct_new_default_desc(v, op, r):
    x = r.u32()
    st = _comp(v, x, StructType, "struct")
    d = _described(v, x)
    if not all(is_defaultable(f.storage) for f in st.fields):
        raise v.error(f"type {x} has a non-defaultable field")
    v.pop_val(RefType(True, d, True))
    v.push_val(RefType(False, v.ctx.type_rep(x), True))


@_rule("ref.get_desc")
def _ref_get_desc(v, op, r):
    x = r.u32()
    _comp(v, x, StructType, "struct")
    d = _described(v, x)
    t = v.pop_val(RefType(True, v.ctx.type_rep(x)))
    # Only an exact operand of exactly type x (or a bottom) yields an exact descriptor.
    exact = v.types.matches(t, RefType(True, v.ctx.type_rep(x), True))
    v.push_val(RefType(False, d, exact))


def _desc_operand(v, target: RefType) -> RefType:
    if type(target.heap) is not int:
        raise v.error("type mismatch: cast target has no descriptor")
    d = _described(v, target.heap)
    return RefType(True, d, target.exact)


@_rule("ref.cast_desc_eq", "ref.cast_desc_eq_null")
def _ref_cast_desc_eq(v, op, r):
    target = _cast_target(v, r, op.name.endswith("_null"))
    v.pop_val(_desc_operand(v, target))
    _pop_same_hierarchy(v, target)
    v.push_val(target)


@_rule("br_on_cast_desc_eq", "br_on_cast_desc_eq_fail")
def _br_on_cast_desc_eq(v, op, r):
    rt1, rt2, types = _br_on_cast_types(v, r, relaxed=True)
    desc = _desc_operand(v, rt2)
    if op.name == "br_on_cast_desc_eq":
        branch, rest = rt2, _diff(rt1, rt2)
    else:
        branch, rest = _diff(rt1, rt2), rt2
    if not v.types.matches(branch, types[-1]):
        raise v.mismatch(types[-1], branch)
    v.pop_val(desc)
    v.pop_val(rt1)
    v.pop_vals(types[:-1])
    v.push_vals(types[:-1])
    v.push_val(rest)

