"""Module validation (spec 3.5, "Modules"): types, imports, tables, memories,
globals, tags, segments, exports, start; then every function body.

A module that is both malformed and invalid is malformed: the spec decodes
fully before validating.  Function bodies are decoded during validation, so
when a body is found invalid the remaining bodies are still decoded to look
for a malformed one, which takes precedence.
"""

from __future__ import annotations

from ..errors import InvalidModule, MalformedModule, UnsupportedFeature
from .index_space import IndexSpace
from .instructions import skip_body
from .module import Code, Module
from .reader import Reader
from .subtyping import TypeContext
from .types import FuncType, GlobalType, Limits, MemType, RefType, StructType, TableType
from .limits import (
    MAX_FUNCTION_LOCALS, MAX_PAGES_32, MAX_PAGES_64, MAX_SUBTYPE_DEPTH,
    MAX_TABLE_32, MAX_TABLE_64,
)
from . import limits
from .refusals import Refusals
from .sections import ConstDataSegments, NumberGlobals, check_limit, spans
from .validate_func import DATA_COUNT_OPS, ENTRIES, PREFIXED_ENTRIES, FuncValidator



class ModuleContext:
    """The spec's context C: everything a function body may refer to, with
    types normalized to canonical representatives."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.types = TypeContext()
        # The index spaces (imports first).  Each lookup is checked: see index_space.py.
        self.funcs: IndexSpace[int] = IndexSpace("function")  # canonical type index
        self.tables: IndexSpace[TableType] = IndexSpace("table")
        self.mems: IndexSpace[MemType] = IndexSpace("memory")
        self.globals: IndexSpace[GlobalType] = IndexSpace("global")
        self.visible_globals = 0  # how many globals a constant expression may use
        self.tags: IndexSpace[int] = IndexSpace("tag")
        self.elems: IndexSpace[RefType] = IndexSpace("elem segment")
        self.data_count: int | None = None
        self.refs: set[int] = set()
        self.func_exact: IndexSpace[bool] = IndexSpace("function")  # ref.func gives an exact reference
        self.exact_allocations = True
        # The function validator's dispatch tables: plain, or noting refused instructions.
        self.dispatch = (ENTRIES, PREFIXED_ENTRIES)
        self.unsupported: UnsupportedFeature | None = None  # first refused instruction
        # Functions some body calls directly (call, return_call): known once every
        # body is validated; None before (codegen/partition.py then assumes all).
        self.called: set[int] | None = None
        # Whether some body has a return_call* (known with `called`; None before).
        self.return_calls: bool | None = None
        # Tables some instruction may change (table.set/grow/fill/init, table.copy's
        # destination): known with `called`, None before (codegen/sealed.py then
        # assumes every table may change).
        self.written_tables: set[int] | None = None
        # Defined functions whose body has a call instruction of any kind, dead code's
        # too (known with `called`; None before): codegen's leaf test.
        self.calling: set[int] | None = None

    # --- lookups used by the function validator ---------------------------

    def _fail(self, v, message: str) -> InvalidModule:
        return v.error(message) if v is not None else InvalidModule(message)

    def typeidx(self, x: int, v=None) -> int:
        if x >= len(self.types):
            raise self._fail(v, f"unknown type {x}")
        return x

    def type_rep(self, x: int) -> int:
        """The canonical representative of type index `x` (checked)."""
        return self.types.canon[x]

    def comp_at(self, x: int, v=None):
        return self.types.comp(self.types.canon[self.typeidx(x, v)])

    def func_type_at(self, x: int, v=None) -> FuncType:
        comp = self.comp_at(x, v)
        if type(comp) is not FuncType:
            raise self._fail(v, f"type mismatch: type {x} is not a function type")
        return comp

    def descriptor_of(self, x: int) -> int | None:
        st = self.types.subtypes[self.types.canon[x]]
        return None if st.descriptor is None else self.types.canon[st.descriptor]

    def heaptype(self, h, v=None):
        if type(h) is int:
            return self.types.canon[self.typeidx(h, v)]
        return h

    def reftype(self, nullable: bool, heap_exact: tuple, v=None) -> RefType:
        heap, exact = heap_exact
        return RefType(nullable, self.heaptype(heap, v), exact)

    def valtype(self, t, v=None):
        if type(t) is RefType and type(t.heap) is int:
            self.typeidx(t.heap, v)
            return self.types.norm(t)
        return t

    def global_for_get(self, idx: int, v):
        g = self.globals[idx]
        if v.const and idx >= self.visible_globals:  # not yet defined where the expression is
            raise v.error(f"unknown global {idx}")
        if v.const and g.mutable:
            raise v.error("constant expression required")
        return g


def validate_module(module: Module, refusals: Refusals | None = None) -> ModuleContext:
    """Raise InvalidModule (or MalformedModule, see the module docstring).
    Returns the validation context: canonical types and index spaces, which
    code generation reuses.

    With `refusals` (what a compiler cannot handle), a valid module that uses a
    refused instruction raises UnsupportedFeature naming the first use; an
    invalid or malformed module still raises that error first."""
    first_unchecked_body = 0
    try:
        ctx = _validate_declarations(module, refusals)
        ctx.called = set()
        ctx.return_calls = False
        ctx.written_tables = set()
        ctx.calling = set()
        for i, code in enumerate(module.codes):
            first_unchecked_body = i
            _validate_body(ctx, module, i, code)
    except InvalidModule as invalid:
        _check_bodies_wellformed(module, first_unchecked_body)
        raise invalid
    if ctx.unsupported is not None:
        raise ctx.unsupported
    return ctx


def declarations_context(module: Module) -> ModuleContext:
    """The validation context without checking function bodies: for code
    generation of a module that was already validated in full."""
    return _validate_declarations(module)


def _check_bodies_wellformed(module: Module, first: int) -> None:
    """Raise MalformedModule if any body from `first` on is malformed."""
    names = DATA_COUNT_OPS if module.data_count is None else frozenset()
    for i in range(first, len(module.codes)):
        code = module.codes[i]
        r = Reader(module.data, code.body_offset, code.end)
        skip_body(r, names)


def _func_error(e, module: Module, funcidx: int):
    return e.with_context(func_index=funcidx, func_name=module.func_name(funcidx))


def _validate_body(ctx: ModuleContext, module: Module, i: int, code: Code) -> None:
    funcidx = module.num_imported_funcs + i
    try:
        ft = ctx.types.comp(ctx.funcs[funcidx])
        locals_ = list(ft.params)
        total = len(locals_) + sum(n for n, _ in code.locals)
        if total > MAX_FUNCTION_LOCALS:
            raise MalformedModule("too many locals", offset=code.offset)
        for n, t in code.locals:
            locals_.extend([ctx.valtype(t)] * n)
        v = FuncValidator(ctx, locals_, ft.results, nparams=len(ft.params))
        before = ctx.unsupported
        v.run(Reader(module.data, code.body_offset, code.end), ft.results)
        if v.calls and ctx.calling is not None:
            ctx.calling.add(funcidx)
        if ctx.unsupported is not before:  # the first refused instruction is in this body
            _func_error(ctx.unsupported, module, funcidx)
    except (InvalidModule, MalformedModule) as e:
        raise _func_error(e, module, funcidx)


# --- declarations ---------------------------------------------------------------


def _check_index_spaces(m: Module) -> None:
    """Limits on index spaces that imports and definitions share (limits.py)."""
    imported = {}
    for imp in m.imports:
        kind = "func" if imp.kind == "func_exact" else imp.kind
        imported[kind] = imported.get(kind, 0) + 1
    for kind, defined, limit, what in (
            ("func", m.funcs, limits.MAX_FUNCTIONS, "functions"),
            ("table", m.tables, limits.MAX_TABLES, "tables"),
            ("memory", m.memories, limits.MAX_MEMORIES, "memories"),
            ("global", m.globals, limits.MAX_GLOBALS, "globals"),
            ("tag", m.tags, limits.MAX_TAGS, "tags")):
        check_limit(imported.get(kind, 0) + len(defined), limit, what)


def _validate_declarations(m: Module, refusals: Refusals | None = None) -> ModuleContext:
    _check_index_spaces(m)
    ctx = ModuleContext(m)
    if refusals is not None:
        ctx.dispatch = refusals.dispatch
    _validate_types(ctx, m)
    for imp in m.imports:
        try:
            _declare_import(ctx, imp.kind, imp.desc)
        except InvalidModule as e:
            raise e.with_context(offset=imp.offset, section="import")
    num_imported_globals = len(ctx.globals)
    for typeidx in m.funcs:
        ctx.funcs.append(_func_typeidx(ctx, typeidx))
        ctx.func_exact.append(True)
    ctx.data_count = m.data_count
    ctx.refs = _collect_refs(m)
    ctx.visible_globals = num_imported_globals
    for table in m.tables:
        tt = _tabletype(ctx, table.type)
        if table.init is not None:
            _const_expr(ctx, table.init, tt.reftype, "table")
        elif not tt.reftype.nullable:
            raise InvalidModule("type mismatch: table of non-nullable type needs an initializer",
                                offset=table.offset, section="table")
        ctx.tables.append(tt)
    for mem in m.memories:
        ctx.mems.append(_memtype(mem))
    for tag in m.tags:
        ctx.tags.append(_tag(ctx, tag.typeidx))
    for lo, hi, other in spans(m.globals):
        if other is None and _number_globals_valid(m.globals, lo, hi):
            ctx.globals.extend(m.globals.types(lo, hi))
            continue
        for i, g in zip(range(lo, hi), m.globals[lo:hi] if other is None else [other]):
            gt = GlobalType(ctx.valtype(g.type.valtype), g.type.mutable)
            ctx.visible_globals = num_imported_globals + i
            _const_expr(ctx, g.init, gt.valtype, "global")
            ctx.globals.append(gt)
    ctx.visible_globals = len(ctx.globals)
    _validate_exports(ctx, m)
    if m.start is not None:
        try:
            ft = ctx.types.comp(ctx.funcs[m.start])
        except InvalidModule as e:
            raise e.with_context(section="start")
        if ft.params or ft.results:
            raise InvalidModule("start function must have type [] -> []", section="start")
    for elem in m.elems:
        ctx.elems.append(_validate_elem(ctx, elem))
    datas = m.datas
    if isinstance(datas, ConstDataSegments) and ctx.mems and ctx.mems[0].limits.addrtype == "i32":
        datas = datas.others.values()  # the rows are valid: memory 0 exists and takes i32.const
    for data in datas:
        if data.mode == "active":
            if data.memory >= len(ctx.mems):
                raise InvalidModule(f"unknown memory {data.memory}", offset=data.offset,
                                    section="data")
            _const_expr(ctx, data.offset_expr, ctx.mems[data.memory].limits.addrtype, "data")
    return ctx


def _collect_refs(m: Module) -> set[int]:
    """C.refs: functions referenced outside function bodies (spec 3.5.x)."""
    # (A global kept as a row is initialized by a number: it references nothing.)
    exprs = [g.init for _, _, g in spans(m.globals) if g is not None]
    exprs += [t.init for t in m.tables if t.init]
    refs = {e.index for e in m.exports if e.kind == "func"}
    for elem in m.elems:
        if elem.func_indices:
            refs.update(elem.init.distinct())
        else:
            exprs.extend(elem.init)
        if elem.offset_expr:
            exprs.append(elem.offset_expr)
    for expr in exprs:
        refs.update(ins.imms[0] for ins in expr if ins.op.name == "ref.func")
    return refs


# A constant's opcode -> the valtype code of its type (every other byte: 0).
_CONST_VALTYPE_CODES = bytes(0x7F - (b - 0x41) if 0x41 <= b <= 0x44 else 0 for b in range(256))


def _number_globals_valid(globs: NumberGlobals, lo: int, hi: int) -> bool:
    """Whether rows lo..hi-1 of `globs` are valid: each constant has its global's type
    (compared at C speed; if not, the caller validates them one by one for the error)."""
    return globs.ops[lo:hi].translate(_CONST_VALTYPE_CODES) == globs.codes[2 * lo:2 * hi:2]


_CONST_TYPES = {"i32.const": "i32", "i64.const": "i64", "f32.const": "f32", "f64.const": "f64"}


def _const_expr(ctx: ModuleContext, expr, expected, section: str) -> None:
    if len(expr) == 2 and _CONST_TYPES.get(expr[0].op.name) == expected:
        return  # one constant of the expected type: valid, and by far the most common
    start = expr[0].offset
    end = expr[-1].offset + 1
    v = FuncValidator(ctx, [], (expected,), const=True)
    before = ctx.unsupported
    try:
        v.run(Reader(ctx.module.data, start, end), (expected,))
    except InvalidModule as e:
        raise e.with_context(section=section)
    if ctx.unsupported is not before:
        ctx.unsupported.with_context(section=section)


def _func_typeidx(ctx: ModuleContext, x: int) -> int:
    ctx.func_type_at(x)
    return ctx.types.canon[x]


def _tag(ctx: ModuleContext, x: int) -> int:
    ft = ctx.func_type_at(x)
    if ft.results:
        raise InvalidModule("non-empty tag result type")
    return ctx.types.canon[x]


def _declare_import(ctx: ModuleContext, kind: str, desc) -> None:
    if kind in ("func", "func_exact"):
        ctx.funcs.append(_func_typeidx(ctx, desc))
        ctx.func_exact.append(kind == "func_exact")
    elif kind == "table":
        ctx.tables.append(_tabletype(ctx, desc))
    elif kind == "memory":
        ctx.mems.append(_memtype(desc))
    elif kind == "global":
        ctx.globals.append(GlobalType(ctx.valtype(desc.valtype), desc.mutable))
    else:
        ctx.tags.append(_tag(ctx, desc.typeidx))


def _check_limits(limits: Limits, bound: int, what: str) -> None:
    if limits.min > bound or (limits.max is not None and limits.max > bound):
        raise InvalidModule(f"{what} size must be at most {bound}")
    if limits.max is not None and limits.min > limits.max:
        raise InvalidModule("size minimum must not be greater than maximum")


def _tabletype(ctx: ModuleContext, tt: TableType) -> TableType:
    _check_limits(tt.limits, MAX_TABLE_64 if tt.limits.is64 else MAX_TABLE_32, "table")
    return TableType(ctx.valtype(tt.reftype), tt.limits)


def _memtype(mt: MemType) -> MemType:
    limits = mt.limits
    if limits.page_size_log2 not in (0, 16):
        raise InvalidModule("invalid custom page size")
    if limits.page_size_log2 == 16:
        bound = MAX_PAGES_64 if limits.is64 else MAX_PAGES_32
    else:  # one-byte pages (custom-page-sizes): any size the address type can express
        bound = (1 << (64 if limits.is64 else 32)) - 1
    _check_limits(limits, bound, "memory")
    if limits.shared and limits.max is None:
        raise InvalidModule("shared memory must have maximum")
    return mt


def _validate_exports(ctx: ModuleContext, m: Module) -> None:
    seen = set()
    spaces = {"func": ctx.funcs, "func_exact": ctx.funcs, "table": ctx.tables, "memory": ctx.mems,
              "global": ctx.globals, "tag": ctx.tags}
    for e in m.exports:
        if e.name in seen:
            raise InvalidModule(f"duplicate export name {e.name!r}", offset=e.offset,
                                section="export")
        seen.add(e.name)
        if e.index >= len(spaces[e.kind]):
            raise InvalidModule(f"unknown {e.kind} {e.index}", offset=e.offset, section="export")


def _validate_elem(ctx: ModuleContext, elem) -> RefType:
    rt = ctx.valtype(elem.reftype)
    if elem.func_indices:
        _elem_funcidxs(ctx, elem.init, rt)
    else:
        for expr in elem.init:
            _const_expr(ctx, expr, rt, "element")
    if elem.mode == "active":
        if elem.table >= len(ctx.tables):
            raise InvalidModule(f"unknown table {elem.table}", offset=elem.offset,
                                section="element")
        tt = ctx.tables[elem.table]
        _const_expr(ctx, elem.offset_expr, tt.limits.addrtype, "element")
        if not ctx.types.matches(rt, tt.reftype):
            raise InvalidModule(f"type mismatch: expected {tt.reftype}, found {rt}",
                                offset=elem.offset, section="element")
    return rt


def _elem_funcidxs(ctx: ModuleContext, items, rt: RefType) -> None:
    """Each index names a function whose reference matches `rt`; the type check
    runs once per distinct function type (a segment may have millions of items)."""
    nfuncs, checked = len(ctx.funcs), set()
    if items.indices and max(items.distinct()) < nfuncs:
        distinct = {ctx.funcs[x] for x in items.distinct()}
        if all(ctx.types.matches(RefType(False, t), rt) for t in distinct):
            return  # all valid, known at C speed
    for j, x in enumerate(items.indices):  # find the first invalid item
        if x >= nfuncs or ctx.funcs[x] not in checked:
            _elem_funcidx(ctx, items[j][0], rt)
            checked.add(ctx.funcs[x])


def _elem_funcidx(ctx: ModuleContext, ins, rt: RefType) -> None:
    x = ins.imms[0]
    if x >= len(ctx.funcs):
        raise InvalidModule(f"unknown function {x}", offset=ins.offset, section="element")
    t = RefType(False, ctx.funcs[x])
    if not ctx.types.matches(t, rt):
        raise InvalidModule(f"type mismatch: expected {rt}, found {t}", offset=ins.offset,
                            section="element")


# --- the type section -------------------------------------------------------------


def _type_refs(st) -> list[int]:
    refs = list(st.supertypes)
    refs += [x for x in (st.describes, st.descriptor) if x is not None]
    comp = st.comp
    if type(comp) is FuncType:
        ts = comp.params + comp.results
    elif type(comp) is StructType:
        ts = tuple(f.storage for f in comp.fields)
    else:
        ts = (comp.field.storage,)
    refs += [t.heap for t in ts if type(t) is RefType and type(t.heap) is int]
    return refs


def _validate_types(ctx: ModuleContext, m: Module) -> None:
    types = ctx.types
    for group in m.rec_groups:
        end = group.start + len(group.subtypes)
        for i, st in enumerate(group.subtypes):
            for x in _type_refs(st):
                if x >= end:
                    raise InvalidModule(f"unknown type {x}", section="type")
            # Before add_group: the supertype chains that matching walks must be acyclic,
            # and a later type of the group could otherwise be its own supertype (sub 3 on
            # type 3) and make an earlier type's check loop forever (issue 8 fuzzer).
            for y in st.supertypes:
                if y >= group.start + i:
                    raise InvalidModule(f"unknown type {y}: supertype must be defined before",
                                        section="type")
        types.add_group(group)
        for i, st in enumerate(group.subtypes):
            x = group.start + i
            try:
                _validate_descriptors(types, x, st, group.start, end)
                _validate_subtype(types, x, st)
            except InvalidModule as e:
                raise e.with_context(section="type")


def _validate_descriptors(types: TypeContext, x: int, st, start: int, end: int) -> None:
    """custom-descriptors proposal: `descriptor`/`describes` clauses pair up
    struct types of one recursion group, and `describes` looks backwards only
    (as supertypes do), so descriptor chains have no cycles."""
    if st.descriptor is not None:
        y = st.descriptor
        if not start <= y < end:
            raise InvalidModule("descriptor type is outside rec group")
        if type(st.comp) is not StructType or type(types.subtypes[y].comp) is not StructType:
            raise InvalidModule("descriptor type must be a struct")
        if types.subtypes[y].describes != x:
            raise InvalidModule("type is not described by its descriptor")
    if st.describes is not None:
        z = st.describes
        if not start <= z < end:
            raise InvalidModule("described type is outside rec group")
        if z >= x:
            raise InvalidModule("forward use of described type")
        if type(st.comp) is not StructType or type(types.subtypes[z].comp) is not StructType:
            raise InvalidModule("described type must be a struct")
        if types.subtypes[z].descriptor != x:
            raise InvalidModule("described type is not described by descriptor")


def _clause_matches(types: TypeContext, mine: int | None, theirs: int | None) -> bool:
    """A subtype's descriptor (or described type) against its supertype's."""
    if theirs is None:
        return True
    return mine is not None and types.heap_matches(types.canon[mine], types.canon[theirs])


def _validate_subtype(types: TypeContext, x: int, st) -> None:
    if len(st.supertypes) > 1:
        raise InvalidModule("type has multiple supertypes")
    if not st.supertypes:
        return
    y = st.supertypes[0]  # below x: checked before the group was added
    sup = types.subtypes[y]
    mismatch = InvalidModule(f"sub type {x} does not match super type {y}")
    if sup.final:
        raise mismatch
    if not types.comp_matches(types.comps[types.canon[x]], types.comps[types.canon[y]]):
        raise mismatch
    if sup.descriptor is not None and st.descriptor is None:
        raise mismatch
    if (sup.describes is None) != (st.describes is None):
        raise mismatch
    if not _clause_matches(types, st.descriptor, sup.descriptor):
        raise InvalidModule(f"descriptor type {st.descriptor} does not match")
    if not _clause_matches(types, st.describes, sup.describes):
        raise InvalidModule(f"described type {st.describes} does not match")
    depth, s = 0, types.super_of[types.canon[x]]
    while s is not None:
        depth += 1
        s = types.super_of[s]
    if depth > MAX_SUBTYPE_DEPTH:
        raise InvalidModule("subtyping depth is too large")
