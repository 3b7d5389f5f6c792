"""Function body validation: the spec's validation algorithm (spec appendix
A.3, "Validation Algorithm") with its names: `push_val`, `pop_val`,
`push_ctrl`, `pop_ctrl`, `label_types`, `unreachable`.

Decoding and validation happen in one pass over the body's bytes: the opcode
table gives each instruction's immediates and, for most instructions, a fixed
signature checked by one generic fast path.  Only instructions marked `custom`
in the table have a rule here, looked up by the mnemonic (`op_<name>`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidModule, MalformedModule, UnsupportedFeature, WasmError
from .binary_types import read_blocktype
from .opcodes import OPCODES, Opcode
from .reader import Reader
from .instructions import READERS_OF, read_memarg
from .subtyping import TypeContext
from .types import (
    BOT, BOT_REF, I32, I64, V128, BlockType, FuncType, RefType, is_defaultable,
)

if TYPE_CHECKING:
    from .refusals import Refusals


EXNREF_NONNULL = RefType(False, "exn")
EQREF = RefType(True, "eq")

DATA_COUNT_OPS = frozenset(("memory.init", "data.drop", "array.new_data", "array.init_data"))

# Instructions allowed in constant expressions (spec 3.5.x "Constant expressions",
# with extended-const and GC).
CONST_OPS = frozenset((
    "i32.const", "i64.const", "f32.const", "f64.const", "v128.const", "ref.null", "ref.func",
    "global.get", "end", "i32.add", "i32.sub", "i32.mul", "i64.add", "i64.sub", "i64.mul",
    "struct.new", "struct.new_default", "array.new", "array.new_default", "array.new_fixed",
    "any.convert_extern", "extern.convert_any", "ref.i31", "struct.new_desc",
    "struct.new_default_desc",
))


class Frame:
    __slots__ = ("kind", "start", "end", "height", "unreachable", "init_height")

    def __init__(self, kind, start, end, height, init_height):
        self.kind = kind
        self.start = start
        self.end = end
        self.height = height
        self.unreachable = False
        self.init_height = init_height

    @property
    def label_types(self):
        return self.start if self.kind == "loop" else self.end


# Immediates that never affect typing or validity beyond being well formed.
_PLAIN_IMMS = frozenset(("i32", "i64", "f32", "f64", "v128", "zero"))


def _simple_signatures() -> dict:
    """Fixed-signature rows whose typing needs nothing from their immediates:
    op -> (params reversed, results)."""
    simple = {}
    for op in OPCODES:
        if (op.params is not None and "a" not in op.params + op.results
                and _PLAIN_IMMS.issuperset(op.imms)):
            simple[op] = (tuple(reversed(op.params)), op.results)
    return simple


SIMPLE = _simple_signatures()


class FuncValidator:
    """Validates one function body (or one constant expression)."""

    def __init__(self, ctx, locals_: list, results: tuple, *, nparams: int = 0,
                 const: bool = False):
        self.ctx = ctx  # a ModuleContext
        self.types: TypeContext = ctx.types
        self.locals = locals_
        self.results = results
        self.const = const
        self.vals: list = []
        self.ctrls: list[Frame] = []
        # Non-defaultable locals start uninitialized (spec 3.3.x, local.set).
        self.local_init = [i < nparams or is_defaultable(t) for i, t in enumerate(locals_)]
        self.init_stack: list[int] = []
        self.offset = 0
        self.reader: Reader | None = None
        self.calls = False  # the body has a call instruction of some kind (ModuleContext.calling)

    # --- errors -----------------------------------------------------------

    def error(self, message: str) -> InvalidModule:
        return InvalidModule(message, offset=self.offset)

    def mismatch(self, expected, found) -> InvalidModule:
        return self.error(f"type mismatch: expected {expected}, found {found}")

    # --- the operand and control stacks (spec appendix A.3) ----------------

    def push_val(self, t) -> None:
        self.vals.append(t)

    def pop_any(self):
        frame = self.ctrls[-1]
        vals = self.vals
        if len(vals) == frame.height:
            if frame.unreachable:
                return BOT
            raise self.error("type mismatch: expected a value, found nothing (operand stack empty)")
        return vals.pop()

    def pop_val(self, expected):
        actual = self.pop_any()
        if actual is BOT or expected is BOT or actual == expected:
            return actual
        if not self.types.matches(actual, expected):
            raise self.mismatch(expected, actual)
        return actual

    def pop_vals(self, types) -> list:
        if len(types) < 2:  # most block ends and calls: no list comprehension
            return [self.pop_val(types[0])] if types else []
        popped = [self.pop_val(t) for t in reversed(types)]
        popped.reverse()
        return popped

    def push_vals(self, types) -> None:
        self.vals.extend(types)

    def pop_ref(self) -> RefType:
        """Spec appendix A.3 `pop_ref`: an unknown operand is `(ref bot)`, a non-null
        reference below every other, never the unknown type itself: what is pushed back
        from it (ref.as_non_null, br_on_null) is a reference, and no f32 (issue 8 fuzzer)."""
        t = self.pop_any()
        if t is BOT:
            return BOT_REF
        if type(t) is not RefType:
            raise self.error(f"type mismatch: expected a reference, found {t}")
        return t

    def push_ctrl(self, kind, start, end) -> None:
        self.ctrls.append(Frame(kind, start, end, len(self.vals), len(self.init_stack)))
        self.vals.extend(start)

    def pop_ctrl(self) -> Frame:
        if not self.ctrls:
            raise MalformedModule("unexpected end", offset=self.offset)
        frame = self.ctrls[-1]
        self.pop_vals(frame.end)
        if len(self.vals) != frame.height:
            raise self.error("type mismatch: values remaining on stack at end of block")
        self.ctrls.pop()
        # Locals initialized inside the block are uninitialized again after it.
        for idx in self.init_stack[frame.init_height:]:
            self.local_init[idx] = False
        del self.init_stack[frame.init_height:]
        return frame

    def unreachable(self) -> None:
        frame = self.ctrls[-1]
        del self.vals[frame.height:]
        frame.unreachable = True

    def note_unsupported(self, op: Opcode, refusals: "Refusals") -> None:
        """Remember the first instruction the caller cannot compile (see `Refusals`)."""
        if self.ctx.unsupported is not None:
            return
        if op.name not in refusals.lowered_when_dead and any(f.unreachable for f in self.ctrls):
            return  # dead code: the lowering skips it, so it compiles
        feature = refusals.features[op]
        self.ctx.unsupported = UnsupportedFeature(f"{feature} is not supported yet ({op.name})",
                                                  offset=self.offset)

    def label(self, depth: int) -> Frame:
        if depth >= len(self.ctrls):
            raise self.error("unknown label")
        return self.ctrls[-1 - depth]

    # --- running ----------------------------------------------------------

    def run(self, r: Reader, results: tuple) -> None:
        """Validate instructions from `r` until the `end` that closes the body.

        This is the hot loop of the frontend.  Each opcode maps to a
        precomputed entry (see `_build_entries`); fixed-signature instructions,
        locals and plain loads/stores are handled inline, everything else by
        its rule.  `pos` is kept in a local and synced to `r.pos` around calls.
        """
        self.reader = r
        try:
            self._run(r, results)
        except WasmError as e:
            # An index-space lookup (index_space.py) does not know where it is.
            raise e.with_context(offset=self.offset)

    def _run(self, r: Reader, results: tuple) -> None:
        self.push_ctrl("func", (), results)
        data, pos, end = r.data, r.pos, r.end
        vals, ctrls = self.vals, self.ctrls
        locals_, local_init = self.locals, self.local_init
        nlocals = len(locals_)
        single, prefixed = self.ctx.dispatch
        const = self.const
        while ctrls:
            if pos >= end:
                raise MalformedModule("END opcode expected", offset=pos)
            start = pos
            b = data[pos]
            pos += 1
            e = single[b]
            if e is None:
                table = prefixed.get(b)
                r.pos = pos
                e = table.get(r.u32()) if table is not None else None
                pos = r.pos
                if e is None:
                    raise MalformedModule("illegal opcode", offset=start)
            if const and e[1].name not in CONST_OPS:
                self.offset = start
                raise self.error("constant expression required")
            kind = e[0]
            if kind == _SIMPLE:
                if e[4]:
                    r.pos = pos
                    for f in e[4]:
                        f(r)
                    pos = r.pos
                height = ctrls[-1].height
                for t in e[2]:
                    if len(vals) > height and vals[-1] == t:
                        vals.pop()
                    else:
                        self.offset = start
                        self.pop_val(t)
                vals.extend(e[3])
            elif kind == _LOCAL:
                if pos < end and data[pos] < 0x80:
                    x = data[pos]
                    pos += 1
                else:
                    r.pos = pos
                    x = r.u32()
                    pos = r.pos
                self.offset = start
                if x >= nlocals:
                    raise self.error(f"unknown local {x}")
                t = locals_[x]
                which = e[2]
                if which == "get":
                    if not local_init[x]:
                        raise self.error(f"uninitialized local {x}")
                    vals.append(t)
                    continue
                if len(vals) > ctrls[-1].height and vals[-1] == t:
                    vals.pop()
                else:
                    self.pop_val(t)
                if not local_init[x]:
                    local_init[x] = True
                    self.init_stack.append(x)
                if which == "tee":
                    vals.append(t)
            elif kind == _MEMORY:
                r.pos = pos
                self.offset = start
                a = self.check_memarg(e[1], read_memarg(r))
                pos = r.pos
                pops, pushes = e[2][a]
                height = ctrls[-1].height
                for t in pops:
                    if len(vals) > height and vals[-1] == t:
                        vals.pop()
                    else:
                        self.pop_val(t)
                vals.extend(pushes)
            else:
                r.pos = pos
                self.offset = start
                e[2](self, e[1], r)
                pos = r.pos
        if pos != end:
            raise MalformedModule("operators remaining after end of function", offset=pos)

    # --- helpers for rules ------------------------------------------------

    def blocktype(self, bt: BlockType) -> tuple:
        if bt.typeidx is not None:
            ft = self.ctx.func_type_at(bt.typeidx, self)
            return ft.params, ft.results
        if bt.valtype is None:
            return (), ()
        return (), (self.ctx.valtype(bt.valtype, self),)

    def addr_of_memory(self, memidx: int) -> str:
        return self.ctx.mems[memidx].limits.addrtype

    def table(self, tableidx: int):
        return self.ctx.tables[tableidx]

    def check_memarg(self, op: Opcode, memarg) -> str:
        a = self.addr_of_memory(memarg.memidx)
        natural = op.width.bit_length() - 1
        if op.atomic:
            if memarg.align != natural:
                raise self.error("alignment must be equal to natural alignment")
        elif memarg.align > natural:
            raise self.error("alignment must not be larger than natural")
        if a == I32 and memarg.offset >= 1 << 32:
            raise self.error("offset out of range")
        return a


# --- rules for `custom` rows --------------------------------------------------
# Each takes (validator, op, reader) and reads its own immediates.

HANDLERS: dict = {}


def _rule(*names):
    def register(fn):
        for name in names:
            HANDLERS[name] = fn
        return fn
    return register


def _imms(v: FuncValidator, op: Opcode, r: Reader) -> tuple:
    return tuple(f(r) for f in READERS_OF[op])


# control (spec 3.4.9)

@_rule("unreachable")
def _unreachable(v, op, r):
    v.unreachable()


@_rule("block", "loop")
def _block(v, op, r):
    params, results = v.blocktype(read_blocktype(r))
    v.pop_vals(params)
    v.push_ctrl(op.name, params, results)


@_rule("if")
def _if(v, op, r):
    params, results = v.blocktype(read_blocktype(r))
    v.pop_val(I32)
    v.pop_vals(params)
    v.push_ctrl("if", params, results)


@_rule("else")
def _else(v, op, r):
    if v.ctrls[-1].kind != "if":
        raise MalformedModule("else without matching if", offset=v.offset)
    frame = v.pop_ctrl()
    v.push_ctrl("else", frame.start, frame.end)


@_rule("end")
def _end(v, op, r):
    frame = v.pop_ctrl()
    if frame.kind == "if":
        # An `if` without `else` behaves as if its else branch were empty.
        v.push_ctrl("else", frame.start, frame.end)
        v.pop_ctrl()
    v.push_vals(frame.end)


@_rule("br")
def _br(v, op, r):
    v.pop_vals(v.label(r.u32()).label_types)
    v.unreachable()


@_rule("br_if")
def _br_if(v, op, r):
    types = v.label(r.u32()).label_types
    v.pop_val(I32)
    v.pop_vals(types)
    v.push_vals(types)


@_rule("br_table")
def _br_table(v, op, r):
    labels = tuple(r.u32() for _ in range(r.vec_len()))
    default = r.u32()
    v.pop_val(I32)
    m = len(v.label(default).label_types)
    for depth in labels:
        types = v.label(depth).label_types
        if len(types) != m:
            raise v.error("type mismatch: br_table labels have inconsistent arity")
        v.push_vals(v.pop_vals(types))
    v.pop_vals(v.label(default).label_types)
    v.unreachable()


@_rule("return")
def _return(v, op, r):
    v.pop_vals(v.results)
    v.unreachable()


# calls

def _call_type(v, funcidx: int) -> FuncType:
    return v.types.comps[v.ctx.funcs[funcidx]]  # funcs hold canonical type indices


def _return_call_check(v, ft: FuncType) -> None:
    if not v.types.all_match(ft.results, v.results):
        raise v.error("type mismatch: return_call callee results do not match caller's")
    if v.ctx.return_calls is not None:
        v.ctx.return_calls = True


def _direct_callee(v, r) -> FuncType:
    v.calls = True
    funcidx = r.u32()
    ft = _call_type(v, funcidx)
    if v.ctx.called is not None:
        v.ctx.called.add(funcidx)
    return ft


@_rule("call")
def _call(v, op, r):
    ft = _direct_callee(v, r)
    v.pop_vals(ft.params)
    v.push_vals(ft.results)


@_rule("return_call")
def _return_call(v, op, r):
    ft = _direct_callee(v, r)
    _return_call_check(v, ft)
    v.pop_vals(ft.params)
    v.unreachable()


def _indirect(v, r) -> FuncType:
    v.calls = True
    ft = v.ctx.func_type_at(r.u32(), v)
    table = v.table(r.u32())
    if not v.types.matches(table.reftype, RefType(True, "func")):
        raise v.error("type mismatch: call_indirect table must contain function references")
    v.pop_val(table.limits.addrtype)
    v.pop_vals(ft.params)
    return ft


@_rule("call_indirect")
def _call_indirect(v, op, r):
    v.push_vals(_indirect(v, r).results)


@_rule("return_call_indirect")
def _return_call_indirect(v, op, r):
    ft = _indirect(v, r)
    _return_call_check(v, ft)
    v.unreachable()


def _ref_call(v, r) -> FuncType:
    v.calls = True
    x = r.u32()
    ft = v.ctx.func_type_at(x, v)
    v.pop_val(RefType(True, v.ctx.type_rep(x)))
    v.pop_vals(ft.params)
    return ft


@_rule("call_ref")
def _call_ref(v, op, r):
    v.push_vals(_ref_call(v, r).results)


@_rule("return_call_ref")
def _return_call_ref(v, op, r):
    ft = _ref_call(v, r)
    _return_call_check(v, ft)
    v.unreachable()


# parametric

@_rule("drop")
def _drop(v, op, r):
    v.pop_any()


@_rule("select")
def _select(v, op, r):
    v.pop_val(I32)
    t1 = v.pop_any()
    t2 = v.pop_any()
    for t in (t1, t2):
        if type(t) is RefType:
            raise v.error("type mismatch: select without a type needs numeric or vector operands")
    if t1 is not BOT and t2 is not BOT and t1 != t2:
        raise v.mismatch(t1, t2)
    v.push_val(t2 if t1 is BOT else t1)


@_rule("select_t")
def _select_t(v, op, r):
    start = r.pos
    types = tuple(v.ctx.valtype(t, v) for t in READERS_OF[op][0](r))
    if len(types) != 1:
        raise InvalidModule("invalid result arity", offset=start)
    v.pop_val(I32)
    v.pop_val(types[0])
    v.pop_val(types[0])
    v.push_val(types[0])


# variables (local.get/set/tee are handled inline in `FuncValidator.run`)

@_rule("global.get")
def _global_get(v, op, r):
    v.push_val(v.ctx.global_for_get(r.u32(), v).valtype)


@_rule("global.set")
def _global_set(v, op, r):
    g = v.ctx.globals[r.u32()]
    if not g.mutable:
        raise v.error("global is immutable")
    v.pop_val(g.valtype)


# memory (rows whose signature mentions `a`, the memory's address type)

def _memory_generic(v, op, r):
    imms = _imms(v, op, r)
    if op.imms[0] == "memarg":
        a = v.check_memarg(op, imms[0])
        for kind, imm in zip(op.imms[1:], imms[1:]):
            _check_lane(v, kind, imm)
    else:
        a = v.addr_of_memory(imms[0])
    for t in reversed(op.params):
        v.pop_val(a if t == "a" else t)
    v.push_vals(tuple(a if t == "a" else t for t in op.results))


_LANES = {"lane16": 16, "lane8": 8, "lane4": 4, "lane2": 2}


def _check_lane(v, kind: str, lane: int) -> None:
    if lane >= _LANES[kind]:
        raise v.error("invalid lane index")


def _lane_generic(v, op, r):
    lane = r.u8()
    _check_lane(v, op.imms[0], lane)
    for t in reversed(op.params):
        v.pop_val(t)
    v.push_vals(op.results)


def _shuffle(v, op, r):
    for lane in r.bytes(16):
        if lane >= 32:
            raise v.error("invalid lane index")
    v.pop_val(V128)
    v.pop_val(V128)
    v.push_val(V128)


def _data(v, idx: int) -> None:
    if v.ctx.data_count is None:
        raise MalformedModule("data count section required", offset=v.offset)
    if idx >= v.ctx.data_count:
        raise v.error(f"unknown data segment {idx}")


@_rule("memory.init")
def _memory_init(v, op, r):
    _data(v, r.u32())
    a = v.addr_of_memory(r.u32())
    v.pop_vals((a, I32, I32))


@_rule("data.drop")
def _data_drop(v, op, r):
    _data(v, r.u32())


@_rule("memory.copy")
def _memory_copy(v, op, r):
    dst = v.addr_of_memory(r.u32())
    src = v.addr_of_memory(r.u32())
    n = I64 if dst == I64 and src == I64 else I32
    v.pop_vals((dst, src, n))


# tables

def _elem(v, idx: int):
    return v.ctx.elems[idx]


@_rule("table.get")
def _table_get(v, op, r):
    t = v.table(r.u32())
    v.pop_val(t.limits.addrtype)
    v.push_val(t.reftype)


def _written_table(v, tableidx: int):
    """The table `tableidx`, noted as one that this module's code may change."""
    t = v.table(tableidx)
    if v.ctx.written_tables is not None:
        v.ctx.written_tables.add(tableidx)
    return t


@_rule("table.set")
def _table_set(v, op, r):
    t = _written_table(v, r.u32())
    v.pop_val(t.reftype)
    v.pop_val(t.limits.addrtype)


@_rule("table.size")
def _table_size(v, op, r):
    v.push_val(v.table(r.u32()).limits.addrtype)


@_rule("table.grow")
def _table_grow(v, op, r):
    t = _written_table(v, r.u32())
    v.pop_val(t.limits.addrtype)
    v.pop_val(t.reftype)
    v.push_val(t.limits.addrtype)


@_rule("table.fill")
def _table_fill(v, op, r):
    t = _written_table(v, r.u32())
    a = t.limits.addrtype
    v.pop_vals((a, t.reftype, a))


@_rule("table.init")
def _table_init(v, op, r):
    et = _elem(v, r.u32())
    t = _written_table(v, r.u32())
    if not v.types.matches(et, t.reftype):
        raise v.mismatch(t.reftype, et)
    v.pop_vals((t.limits.addrtype, I32, I32))


@_rule("elem.drop")
def _elem_drop(v, op, r):
    _elem(v, r.u32())


@_rule("table.copy")
def _table_copy(v, op, r):
    dst = _written_table(v, r.u32())
    src = v.table(r.u32())
    if not v.types.matches(src.reftype, dst.reftype):
        raise v.mismatch(dst.reftype, src.reftype)
    da, sa = dst.limits.addrtype, src.limits.addrtype
    v.pop_vals((da, sa, I64 if da == I64 and sa == I64 else I32))


# references

@_rule("ref.null")
def _ref_null(v, op, r):
    # Typed exact (custom-descriptors), so `ref.null none` fits any exact type.
    v.push_val(v.ctx.reftype(True, READERS_OF[op][0](r), v))


@_rule("ref.is_null")
def _ref_is_null(v, op, r):
    v.pop_ref()
    v.push_val(I32)


@_rule("ref.as_non_null")
def _ref_as_non_null(v, op, r):
    t = v.pop_ref()
    v.push_val(RefType(False, t.heap, t.exact))


@_rule("ref.func")
def _ref_func(v, op, r):
    idx = r.u32()
    heap = v.ctx.funcs[idx]
    if not v.const and idx not in v.ctx.refs:
        raise v.error("undeclared function reference")
    v.push_val(RefType(False, heap, v.ctx.func_exact[idx]))


@_rule("ref.eq")
def _ref_eq(v, op, r):
    v.pop_val(EQREF)
    v.pop_val(EQREF)
    v.push_val(I32)


@_rule("br_on_null")
def _br_on_null(v, op, r):
    types = v.label(r.u32()).label_types
    t = v.pop_ref()
    v.pop_vals(types)
    v.push_vals(types)
    v.push_val(RefType(False, t.heap, t.exact))


@_rule("br_on_non_null")
def _br_on_non_null(v, op, r):
    types = v.label(r.u32()).label_types
    if not types or type(types[-1]) is not RefType:
        raise v.error("type mismatch: br_on_non_null target must end in a reference type")
    t = v.pop_ref()
    nonnull = RefType(False, t.heap, t.exact)
    if not v.types.matches(nonnull, types[-1]):
        raise v.mismatch(types[-1], nonnull)
    v.pop_vals(types[:-1])
    v.push_vals(types[:-1])


# exceptions

def _tag_type(v, idx: int) -> FuncType:
    return v.types.comp(v.ctx.tags[idx])


@_rule("throw")
def _throw(v, op, r):
    v.pop_vals(_tag_type(v, r.u32()).params)
    v.unreachable()


@_rule("throw_ref")
def _throw_ref(v, op, r):
    v.pop_val(RefType(True, "exn"))
    v.unreachable()


@_rule("try_table")
def _try_table(v, op, r):
    bt, catches = READERS_OF[op][0](r)
    params, results = v.blocktype(bt)
    v.pop_vals(params)
    for c in catches:
        types = v.label(c.labelidx).label_types
        produced = () if c.tagidx is None else _tag_type(v, c.tagidx).params
        if c.kind.endswith("_ref"):
            produced = produced + (EXNREF_NONNULL,)
        if not v.types.all_match(produced, types):
            raise v.error("type mismatch: catch clause does not match its label")
    v.push_ctrl("try_table", params, results)


@_rule("try")
def _try(v, op, r):
    params, results = v.blocktype(read_blocktype(r))
    v.pop_vals(params)
    v.push_ctrl("try", params, results)


@_rule("catch")
def _catch(v, op, r):
    params = _tag_type(v, r.u32()).params
    if v.ctrls[-1].kind not in ("try", "catch"):
        raise MalformedModule("catch without matching try", offset=v.offset)
    frame = v.pop_ctrl()
    v.push_ctrl("catch", params, frame.end)


@_rule("catch_all")
def _catch_all(v, op, r):
    if v.ctrls[-1].kind not in ("try", "catch"):
        raise MalformedModule("catch_all without matching try", offset=v.offset)
    frame = v.pop_ctrl()
    v.push_ctrl("catch_all", (), frame.end)


@_rule("delegate")
def _delegate(v, op, r):
    depth = r.u32()
    if v.ctrls[-1].kind != "try":
        raise MalformedModule("delegate without matching try", offset=v.offset)
    frame = v.pop_ctrl()
    v.label(depth)
    v.push_vals(frame.end)


@_rule("rethrow")
def _rethrow(v, op, r):
    if v.label(r.u32()).kind not in ("catch", "catch_all"):
        raise v.error("invalid rethrow label")
    v.unreachable()


# Entry kinds of the dispatch arrays built from the table.
_SIMPLE, _LOCAL, _MEMORY, _RULE = range(4)
ENTRIES: list = [None] * 256
PREFIXED_ENTRIES: dict = {}


def _entry(op: Opcode) -> tuple:
    if op in SIMPLE:
        pops, pushes = SIMPLE[op]
        return (_SIMPLE, op, pops, pushes, READERS_OF[op])
    if op.name in ("local.get", "local.set", "local.tee"):
        return (_LOCAL, op, op.name.split(".")[1])
    if op.params is not None and op.imms == ("memarg",):
        by_addr = {}
        for a in (I32, I64):
            pops = tuple(a if t == "a" else t for t in reversed(op.params))
            pushes = tuple(a if t == "a" else t for t in op.results)
            by_addr[a] = (pops, pushes)
        return (_MEMORY, op, by_addr)
    return (_RULE, op, HANDLERS[op])


def _build_entries() -> None:
    for op in OPCODES:
        e = _entry(op)
        if op.prefix is None:
            ENTRIES[op.code] = e
        else:
            PREFIXED_ENTRIES.setdefault(op.prefix, {})[op.code] = e


def _install_generic_rules() -> None:
    for op in OPCODES:
        if op.name in HANDLERS:
            HANDLERS[op] = HANDLERS.pop(op.name)
    for op in OPCODES:
        if op in HANDLERS or op in SIMPLE:
            continue
        if op.params is not None and op.imms and op.imms[0] in ("memarg", "memidx"):
            HANDLERS[op] = _memory_generic
        elif op.imms and op.imms[0] in _LANES:
            HANDLERS[op] = _lane_generic
        elif op.name == "i8x16.shuffle":
            HANDLERS[op] = _shuffle


# GC rules live in their own module; importing it registers them.
from . import validate_gc  # noqa: E402,F401

_install_generic_rules()
_build_entries()
