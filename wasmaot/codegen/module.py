"""Lowering of a whole module: its functions, the initializer, the entry
thunks and host adapters, and the descriptor the runtime instantiates from
(`abi.MODULE_DESC`).

`lower_module(module, ctx, options)` returns the LLVM IR text of the module.
Output is deterministic: it depends only on the module and the options.
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass

from ..errors import UnsupportedFeature
from ..wasm.module import Module
from ..wasm.opcodes import OPCODES
from ..wasm.reader import Reader
from ..wasm.sections import spans
from ..wasm.types import FuncType, RefType
from ..wasm.refusals import Refusals
from ..wasm.validate_module import ModuleContext
from . import abi, numeric, simd, widemul
from .image import (
    DATA_ROW, GLOBAL_ROW, ITEM_ROW, NULL_ITEM, OFFSET_GLOBAL_I32, OFFSET_GLOBAL_I64, SEG_DATA_ACTIVE,
    SEG_ELEM_ACTIVE, SEGMENT_ROW, Image, build_image, ir_bytes, valtype_code,
)
from .function import (
    CONTROL_HANDLERS, FUNC_ATTRS, LOWERED_WHEN_DEAD, NOINLINE_GROUP, UNSUPPORTED_PROPOSALS, Frame,
    FunctionEmitter,
)
from .memory import MEMORY_HANDLERS, address_add_handler, to_i64
from .exceptions import EXCEPTION_HANDLERS
from .sealed import SealedTable, dispatch_entries, sealed_tables
from .table import TABLE_HANDLERS
from .types import llvm_type


@dataclass(frozen=True)
class CodegenOptions:
    opt_level: int = 2
    explicit_bounds_checks: bool = False  # --bounds-checks=explicit for every memory
    # Imports bound at build time to C functions: ((module, name, C symbol), ...).
    # The C function takes the importing instance's vmctx, then the wasm params.
    native_imports: tuple = ()
    # The descriptor's symbol, the object's only global one: executables that
    # link several modules (the wast test executable) give each its own.
    descriptor_symbol: str = "wasmaot_module"
    # Check for interruption (a passed --timeout deadline) at every loop header.
    # Off: no check is emitted at all (function entries are checked anyway:
    # the stack-limit check doubles as the interruption point).
    interruptible: bool = False
    # The module image (image.py) comes in an object of its own, written by the
    # driver, rather than as an IR constant in the first partition.
    external_image: bool = False
    # Probe the last byte of a guard-page store wider than one byte before the
    # store (aarch64: a misaligned store that straddles the end of memory may
    # write its in-bounds bytes before it faults; see memory.py).
    probe_straddling_stores: bool = False
    # --deterministic: relaxed SIMD takes one fixed choice and every NaN that float
    # arithmetic produces is the canonical one (numeric.py, simd.py), so results
    # are the same bytes on every target.
    deterministic: bool = False
    # The only module in its process (an executable: its imports are WASI and C
    # functions), so no other module's code can be on the stack when it runs: a module
    # with no tag then never sees an exception, and keeps `nounwind` (exceptions.py).
    standalone: bool = False
    # The target's architecture ("x86_64", "aarch64") and the features (LLVM's
    # names) of its --cpu level, from driver/cpu.py CpuChoice: the default
    # lowering of relaxed SIMD takes the native choices they allow
    # (simd.NATIVE_CHOICES).  "": no target known, the portable choices.
    arch: str = ""
    cpu_features: frozenset = frozenset()
    # The CPU LLVM tunes the code for (driver/cpu.py CpuLevel.llvm_tune), as every
    # function's "tune-cpu" attribute; "": the target machine's CPU.
    tune_cpu: str = ""


def _value_handler(table: dict):
    """The stack handler of the pure value rows (numeric, SIMD) lowered by `table`.
    Each row's lowering, operand count and LLVM result types are found once,
    here, not at every instruction."""
    rows = {op.name: (table[op.name], len(op.params), [llvm_type(t) for t in op.results])
            for op in OPCODES if op.name in table}

    def handler(fx, op, imms) -> None:
        lower, nparams, types = rows[op.name]
        stack = fx.stack
        # Most rows take one or two operands and give one result: pops and an
        # append, not slices and a list comprehension (0.6 us a row, 4 % of the
        # instructions of lua's -O0 lowering).
        if nparams == 2:
            b = stack.pop()[1]
            args = [stack.pop()[1], b]
        elif nparams == 1:
            args = [stack.pop()[1]]
        else:
            at = len(stack) - nparams
            args = [v for _, v in stack[at:]]
            del stack[at:]
        results = lower(fx, args, imms)
        if len(types) == 1:
            stack.append((types[0], results[0]))
        else:
            stack.extend(zip(types, results))
    return handler


def _handlers(numeric_table: dict, simd_table: dict) -> dict:
    numeric_handler, simd_handler = _value_handler(numeric_table), _value_handler(simd_table)
    handlers = {name: numeric_handler for name in numeric.NUMERIC_OPS}
    handlers.update(widemul.stack_handlers(numeric_handler))  # 64x64->128 multiplies
    handlers["i32.add"] = address_add_handler(numeric_handler)  # address folding (memory.py)
    handlers.update({name: simd_handler for name in simd.SIMD_OPS})
    handlers.update(CONTROL_HANDLERS)
    handlers.update(MEMORY_HANDLERS)
    handlers.update(TABLE_HANDLERS)
    handlers.update(EXCEPTION_HANDLERS)
    _check_memarg_handlers(handlers)
    return handlers


def _check_memarg_handlers(handlers: dict) -> None:
    """Every instruction with a memarg must get its pointer through
    memory.memarg_access (the one bounds-checked effective address): refuse,
    at import, a handler that was written any other way."""
    for op in OPCODES:
        handler = handlers.get(op.name)
        if handler is not None and "memarg" in op.imms and \
                not getattr(handler, "bounds_checked", False):
            raise AssertionError(f"{op.name}: memarg handler not made by memarg_access")


# The portable lowering (every relaxed SIMD row its target-independent choice).
HANDLERS = _handlers(numeric.HANDLERS, simd.HANDLERS)
DETERMINISTIC_HANDLERS = _handlers(numeric.DETERMINISTIC_HANDLERS, simd.DETERMINISTIC_HANDLERS)
# The default lowering per target, by simd.native_key.
NATIVE_HANDLERS = {key: HANDLERS if table is simd.HANDLERS else _handlers(numeric.HANDLERS, table)
                   for key, table in simd.NATIVE_HANDLERS.items()}


def handlers_for(options: CodegenOptions) -> dict:
    """The one place a module's handler table is chosen: --deterministic's, or
    the target's native choices for relaxed SIMD (simd.py)."""
    if options.deterministic:
        return DETERMINISTIC_HANDLERS
    return NATIVE_HANDLERS[simd.native_key(options.arch, options.cpu_features)]


def _refusals() -> Refusals:
    """What the frontend refuses before lowering starts (issue 8, item 7): the rows of the
    opcode table whose proposal column names a proposal we do not lower yet.  Every row must
    be either lowered or refused, checked here at import, so the refusal cannot drift from
    the handlers."""
    refused = {op: UNSUPPORTED_PROPOSALS[op.proposal] for op in OPCODES
               if op.proposal in UNSUPPORTED_PROPOSALS}
    both = [op.name for op in refused if op.name in HANDLERS]
    neither = [op.name for op in OPCODES if op not in refused and op.name not in HANDLERS]
    if both or neither:
        raise RuntimeError(f"opcode rows both lowered and refused: {both}; "
                           f"neither lowered nor refused: {neither}")
    return Refusals(refused, LOWERED_WHEN_DEAD)


# Pass to `validate_module` before lowering a module.
REFUSALS = _refusals()

_RUNTIME_DECLS = tuple(
    f"declare {ret} @{name}({', '.join(params)}) {attrs}".rstrip()
    for name, (ret, params, attrs) in abi.RUNTIME_FUNCTIONS.items()
)

def _is_exnref(t) -> bool:
    """An exnref that may be non-null (a `(ref null noexn)` is always null)."""
    return type(t) is RefType and t.heap == "exn"


def _c_string(text: str) -> tuple:
    """(LLVM type, initializer) of a NUL-terminated UTF-8 string constant."""
    raw = text.encode("utf-8") + b"\0"
    body = "".join(chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\{b:02X}"
                   for b in raw)
    return f"[{len(raw)} x i8]", f'c"{body}"'


class ModuleEmitter:
    def __init__(self, module: Module, ctx: ModuleContext, options: CodegenOptions):
        self.module = module
        self.ctx = ctx
        self.options = options
        self.handlers = handlers_for(options)
        self.decls: dict[str, None] = dict.fromkeys(_RUNTIME_DECLS)
        self.decls["declare ptr @llvm.frameaddress.p0(i32)"] = None
        self.decls[f"declare i32 @{abi.PERSONALITY}(...)"] = None
        # Whether an exception may unwind through this module's frames.  Only where no
        # other module's code can be on the stack (an executable) and the module has no
        # tag to throw or catch can its functions keep `nounwind` (and no unwind tables).
        self.unwinds = not (options.standalone and not ctx.tags)
        self.func_attrs = FUNC_ATTRS + ("" if self.unwinds else " nounwind") + (
            f' "tune-cpu"="{options.tune_cpu}"' if options.tune_cpu else "")
        self.globals_text: list[str] = []
        self.empty_md = 0
        self.cold_branch = 1
        self.entry_count = 2
        self._memory_kinds()
        # Some access can fault in a guard page, invisibly to LLVM: every store of
        # guest state is then volatile, so that it keeps its order (memory.py).
        self.precise_faults = any(not self.needs_explicit_checks(i)
                                  for i in range(len(ctx.mems)))
        self.num_imported_funcs = module.num_imported_funcs
        # Defined function index -> its body has no call instruction (function.py
        # calls_nothing), as the stack checks ask.
        self.call_free: dict[int, bool] = {}
        self._func_typeidx = module.func_typeidxs
        self._strings: dict[str, str] = {}
        self.linkage = "internal"
        self.local_funcs: set[int] = set()
        self.external_funcs: set[int] = set()
        self.record_conv = self._record_conv()
        self._tailcc_funcs = self._functions_needing_tailcc()
        self._sealed: dict[int, SealedTable] | None = None  # sealed.py, on first use
        self._dispatch_arrays: dict[tuple, str] = {}  # (table, canonical type) -> @array

    # --- queries used by lowering ---------------------------------------------

    def declare(self, decl: str) -> None:
        self.decls[decl] = None

    def func_symbol(self, funcidx: int) -> str:
        return f"wasm_f{funcidx}"

    def _record_conv(self) -> str:
        """The calling convention of every call through a funcref record, and so of
        every function a record can reach.  `tailcc` where a record may cross
        modules (the embedding API shares tables and funcrefs between instances
        of several modules, each compiled alone) or a return_call* may go through
        one.  An executable's module is the only one in its process, and every
        call of a record's code is in its own IR (call_indirect, call_ref, calls of
        imports, the entry thunks the runtime starts it through: C cannot call a
        tailcc or fastcc function), so without return_call* records are `fastcc`
        too, which pops no argument area (`ret $8` and `sub $8, %rsp` on x86-64)."""
        if self.options.standalone and self.ctx.return_calls is False:
            return "fastcc"
        return "tailcc"

    def vmctx_param(self, conv: str) -> str:
        """How a function of convention `conv` takes the vmctx, and its calls pass it
        (abi.vmctx_param: `swiftself` for fastcc).  Plain at -O0, where it would
        only cost compile time (x86's fast instruction selector declines swiftself
        arguments: lua's -O0 step took 1.1% more instructions): every function
        and call of one module is at its -O level, and a fastcc function is only
        called from its own module (an executable's records are its own too)."""
        return abi.vmctx_param(conv) if self.options.opt_level else "ptr"

    def _functions_needing_tailcc(self) -> set[int] | None:
        """The defined functions that must be `tailcc` (None: all of them).

        `tailcc` is what makes a wasm return_call* a guaranteed tail call, and what
        every call through a funcref record uses (call_indirect, call_ref, the
        runtime's entry thunks).  Its price is on every call: on x86-64 a tailcc
        callee pops its argument area, padded to 16n+8 bytes, so even a call with
        no stack arguments is `ret $8` plus the caller's `sub $8, %rsp` after it.
        A function no return_call* can involve (the module has none) and no record
        can reach is called only by a direct `call` of this module, so it may use
        `fastcc`, which pops nothing.  Records reach exactly C.refs (exports,
        elements, ref.func in constant expressions: nothing else can make a funcref
        to a defined function) and the start function (the runtime invokes it
        through its record); every other record the runtime fills is unreachable.
        Every partition computes the same set from the module, so a direct call and
        its callee's definition always agree."""
        if self.ctx.return_calls is not False:  # some, or bodies not validated yet
            return None
        if self.record_conv == "fastcc":
            return set()
        needed = set(self.ctx.refs)
        if self.module.start is not None:
            needed.add(self.module.start)
        return needed

    def sealed_dispatch(self, tableidx: int, typeidx: int) -> tuple[str, int] | None:
        """(the dispatch array, the table's size) for `call_indirect` of final type
        `typeidx` through sealed table `tableidx`, or None if the table is not sealed
        (codegen/sealed.py).  The array is defined in every partition that uses it,
        `linkonce_odr` in a comdat (one copy is linked) when the functions are spread
        over partitions."""
        if self._sealed is None:
            self._sealed = sealed_tables(self.module, self.ctx)
        table = self._sealed.get(tableidx)
        if table is None:
            return None
        canon = self.ctx.types.canon[typeidx]
        name = self._dispatch_arrays.get((tableidx, canon))
        if name is None:
            name = f"wasmaot_dispatch_t{tableidx}_c{canon}"
            entries = dispatch_entries(table, canon, self.ctx.funcs.__getitem__)
            body = ", ".join(f"ptr {self.func_ref(v)}" if is_func else
                             f"ptr inttoptr (i64 {v} to ptr)" for is_func, v in entries)
            ty = f"[{len(entries)} x ptr]"
            if self.linkage == "internal":
                self.globals_text.append(f"@{name} = internal unnamed_addr constant {ty} [{body}]")
            else:
                self.globals_text.append(f"${name} = comdat any")
                self.globals_text.append(f"@{name} = linkonce_odr hidden unnamed_addr constant "
                                         f"{ty} [{body}], comdat")
            self._dispatch_arrays[(tableidx, canon)] = name = "@" + name
        return name, len(table.items)

    def call_conv(self, funcidx: int) -> str:
        """The calling convention of defined function `funcidx` (its definition and
        every direct call to it)."""
        tail = self._tailcc_funcs
        return "tailcc" if tail is None or funcidx in tail else "fastcc"

    def func_ref(self, funcidx: int) -> str:
        """`@symbol` of a defined function, declared if another partition has it."""
        if funcidx not in self.local_funcs:
            self.external_funcs.add(funcidx)
        return "@" + self.func_symbol(funcidx)

    def func_type(self, funcidx: int) -> FuncType:
        return self.ctx.types.comp(self.ctx.funcs[funcidx])

    def tag_type(self, tagidx: int) -> FuncType:
        return self.func_type_of_typeidx(self.ctx.tags[tagidx])

    def func_type_of_typeidx(self, typeidx: int) -> FuncType:
        return self.ctx.types.comp(self.ctx.types.canon[typeidx])

    def is_imported_func(self, funcidx: int) -> bool:
        return funcidx < self.num_imported_funcs

    def llvm_types(self, valtypes) -> list:
        return [llvm_type(t) for t in valtypes]

    def return_type(self, results) -> str:
        if not results:
            return "void"
        if len(results) == 1:
            return llvm_type(results[0])
        return "{ " + ", ".join(llvm_type(t) for t in results) + " }"

    def global_llvm_type(self, globalidx: int) -> str:
        return llvm_type(self.ctx.globals[globalidx].valtype)

    def global_is_mutable(self, globalidx: int) -> bool:
        return self.ctx.globals[globalidx].mutable

    def memory_is64(self, memidx: int) -> bool:
        return self.ctx.mems[memidx].limits.is64

    def needs_explicit_checks(self, memidx: int) -> bool:
        return self._explicit_checks[memidx]

    def folds_adds(self, memidx: int) -> bool:
        """Whether code folds `i32.add X, c` into this memory's addresses (memory.py):
        a guarded memory that the runtime makes fold-safe (a minimum within its page
        cap, so the cap costs nothing at instantiation).  Shared memories are left
        alone.  The descriptor tells the runtime (MEMORY_DESC.folds_adds)."""
        return self._folds_adds[memidx]

    def _memory_kinds(self) -> None:
        """needs_explicit_checks and folds_adds of every memory, once: every access
        asks (an index per call, not the limits' fields)."""
        explicit, folds = [], []
        for mem in self.ctx.mems:
            limits = mem.limits
            checked = self.options.explicit_bounds_checks or limits.is64 \
                or limits.page_size_log2 != 16
            explicit.append(checked)
            folds.append(not checked and not limits.shared and limits.min <= abi.FOLD_MAX_PAGES)
        self._explicit_checks, self._folds_adds = tuple(explicit), tuple(folds)

    def table_is64(self, tableidx: int) -> bool:
        return self.ctx.tables[tableidx].limits.is64

    def type_may_have_subtypes(self, typeidx: int) -> bool:
        return not self.ctx.types.subtypes[self.ctx.types.canon[typeidx]].final

    # --- emission ------------------------------------------------------------

    def emit(self, funcs: list[int] | None = None, *, with_descriptor: bool = True,
             image: Image | None = None) -> str:
        """The IR of the module, or of one partition of it: the defined
        functions `funcs` (absolute indices; None: all), plus the initializer,
        thunks, adapters and descriptor if `with_descriptor`.  A partition's
        functions are `hidden` globals so that partitions link together."""
        m = self.module
        every = list(range(self.num_imported_funcs, len(self.ctx.funcs)))
        if funcs is None:
            funcs = every
        elif list(funcs) != every or not with_descriptor:
            self.linkage = "hidden"
        self.local_funcs = set(funcs)
        functions = [self._function(i, m.codes[i - self.num_imported_funcs]) for i in funcs]
        if with_descriptor:
            self.image = image or build_image(m, self.ctx)
            self._image_global()
            functions.append(self._init_function())
            functions.extend(self._init_loops())
            functions.extend(self._entry_thunks())
            functions.extend(self._host_adapters())
            self._descriptor()
        for funcidx in sorted(self.external_funcs):
            ft = self.func_type(funcidx)
            params = "".join(f", {llvm_type(t)}" for t in ft.params)
            conv = self.call_conv(funcidx)
            self.declare(f"declare hidden {conv} {self.return_type(ft.results)} "
                         f"@{self.func_symbol(funcidx)}({self.vmctx_param(conv)}{params})")
        header = [
            "; generated by wasmaot",
            # Frame pointers: trap backtraces walk them.  Stack probes: a frame
            # larger than the runtime's stack margin must touch the guard page
            # on its way down, so exhaustion always faults where it is caught.
            f"attributes #0 = {{ {self.func_attrs} }}",
            f"attributes #{NOINLINE_GROUP} = {{ {self.func_attrs} noinline }}",
            f"!{self.empty_md} = !{{}}",
            f'!{self.cold_branch} = !{{!"branch_weights", i32 1, i32 2000}}',
            # See function_prof.  No module profile summary is given, so nothing
            # reads the count itself as hot or cold.
            f'!{self.entry_count} = !{{!"function_entry_count", i64 1000}}',
        ]
        # The descriptor's tables come after the functions they point to: a
        # forward reference inside a constant array makes LLVM's parser re-unique
        # the whole array when the reference resolves, once per function
        # (quadratic in the number of functions).
        return "\n".join(header + list(self.decls) + functions + self.globals_text) + "\n"

    @property
    def function_prof(self) -> str:
        """The `!prof` of a wasm function's definition above -O0: an entry count.
        With it the function "has profile data", which is what LLVM's LoopSink asks
        before it sinks a loop-invariant value from the preheader back into the cold
        blocks that use it.  LICM hoists every invariant `frame + c` (a shadow-stack
        address passed to a call) out of a function-wide loop, however rarely its
        block runs; printf_core's entry then computed and spilled 45 of them at every
        call (zstd's snprintf: 27.5 -> 20.2 M instructions)."""
        return f" !prof !{self.entry_count}" if self.options.opt_level > 0 else ""

    def _function(self, funcidx: int, code) -> str:
        ft = self.func_type(funcidx)
        local_types = list(ft.params)
        for n, t in code.locals:
            local_types.extend([self.ctx.valtype(t)] * n)
        fx = FunctionEmitter(self, funcidx, ft, local_types)
        return fx.emit_function(Reader(self.module.data, code.body_offset, code.end))

    # --- the initializer (spec 4.5.4, instantiation steps for segments) ---------

    def _const_expr(self, fx: FunctionEmitter, expr) -> str:
        for ins in expr[:-1]:  # the last is `end`
            handler = self.handlers.get(ins.op.name)
            if handler is None:
                feature = UNSUPPORTED_PROPOSALS.get(ins.op.proposal, ins.op.proposal)
                raise UnsupportedFeature(f"{feature} is not supported yet ({ins.op.name})",
                                         offset=ins.offset)
            handler(fx, ins.op, ins.imms)
        return fx.pop()

    def _init_function(self) -> str:
        """Globals, table initializers, element items, then the active and
        declarative segments in order.  What the image holds is done by the
        loops of `_init_loops`; the rest is lowered item by item."""
        m, ctx, img = self.module, self.ctx, self.image
        fx = FunctionEmitter(self, -1, FuncType((), ()), [])
        fx.frames.append(Frame("func", [], [], 0, "ret"))
        nglob = len(ctx.globals) - len(m.globals)
        if m.datas:
            fx.emit(f"call void @wasmaot_init_datas(ptr %ctx, ptr {self._image_at(img.datas_at)}, "
                    f"i64 {len(m.datas)})")
        if img.num_globals:
            fx.emit(f"call void @wasmaot_init_globals(ptr %ctx, ptr {self._image_at(img.globals_at)}, "
                    f"i64 {img.num_globals})")
        for i, _, g in spans(m.globals):
            if g is None or nglob + i in img.simple_globals:  # rows are all in the image
                continue
            value = self._const_expr(fx, g.init)
            cell = fx.ctx_array_item("globals", nglob + i)
            fx.emit(f"store {llvm_type(ctx.globals[nglob + i].valtype)} {value}, ptr {cell}, "
                    f"align 8")
        ntab = len(ctx.tables) - len(m.tables)
        for i, t in enumerate(m.tables):
            if t.init is None:
                continue
            value = self._const_expr(fx, t.init)
            fx.emit(f"call void @wasmaot_rt_table_fill(ptr %ctx, i32 {ntab + i}, i64 0, "
                    f"ptr {value}, i64 {t.type.limits.min})")
        if img.num_item_rows:
            fx.emit(f"call void @wasmaot_init_items(ptr %ctx, ptr {self._image_at(img.items_at)}, "
                    f"i64 {img.num_item_rows})")
        elems = fx.ctx_field("elems") if len(img.simple_elems) < len(m.elems) else None
        for i, elem in enumerate(m.elems):
            if i in img.simple_elems:
                continue
            seg = fx.tmp()
            fx.emit(f"{seg} = getelementptr inbounds i8, ptr {elems}, i64 {i * abi.SEGMENT.size}")
            items = fx.tmp()
            fx.emit(f"{items} = load ptr, ptr {seg}, align 8")
            for j, expr in enumerate(elem.init):
                value = self._const_expr(fx, expr)
                slot = fx.tmp()
                fx.emit(f"{slot} = getelementptr inbounds ptr, ptr {items}, i64 {j}")
                fx.emit(f"store ptr {value}, ptr {slot}, align 8")
        for run in img.runs:
            if run.inline is None:
                at = img.segments_at + run.first * SEGMENT_ROW.size
                fx.emit(f"call void @wasmaot_init_segments(ptr %ctx, ptr {self._image_at(at)}, "
                        f"i64 {run.count})")
            elif run.inline[0] == "elem":
                self._init_elem_segment(fx, run.inline[1])
            else:
                self._init_data_segment(fx, run.inline[1])
        fx.emit("ret void")
        return "\n".join(["define internal void @wasmaot_init(ptr %ctx) #0 {", "entry:"] + fx.prelude
                         + fx.lines + fx.trap_blocks() + ["}"])

    def _init_elem_segment(self, fx: FunctionEmitter, i: int) -> None:
        elem = self.module.elems[i]
        offset = self._const_expr(fx, elem.offset_expr)
        ty = "i64" if self.ctx.tables[elem.table].limits.is64 else "i32"
        fx.emit(f"call void @wasmaot_rt_table_init(ptr %ctx, i32 {elem.table}, i32 {i}, "
                f"i64 {to_i64(fx, ty, offset)}, i64 0, i64 {len(elem.init)})")
        fx.emit(f"call void @wasmaot_rt_elem_drop(ptr %ctx, i32 {i})")

    def _init_data_segment(self, fx: FunctionEmitter, i: int) -> None:
        data = self.module.datas[i]
        offset = self._const_expr(fx, data.offset_expr)
        ty = "i64" if self.ctx.mems[data.memory].limits.is64 else "i32"
        fx.emit(f"call void @wasmaot_rt_memory_init(ptr %ctx, i32 {data.memory}, i32 {i}, "
                f"i64 {to_i64(fx, ty, offset)}, i64 0, i64 {len(data.init)})")
        fx.emit(f"call void @wasmaot_rt_data_drop(ptr %ctx, i32 {i})")

    # --- the module image and the loops over it (image.py) -------------------------

    @property
    def image_symbol(self) -> str:
        return f"{self.options.descriptor_symbol}_image"

    def _image_global(self) -> None:
        size = self.image.size
        if size == 0:
            return
        name = self.image_symbol
        if self.options.external_image:
            self.globals_text.append(f"@{name} = external hidden constant [{size} x i8], align 16")
        else:
            self.globals_text.append(f"@{name} = internal constant [{size} x i8] "
                                     f"{ir_bytes(self.image.bytes())}, align 16")

    def _image_at(self, offset: int) -> str:
        return f"getelementptr inbounds (i8, ptr @{self.image_symbol}, i64 {offset})"

    def _init_loops(self) -> list:
        """The loops over the image's rows, each defined once if it has rows."""
        img = self.image
        out = []
        if self.module.datas:
            out.append(_DATAS_LOOP.format(datas=abi.VMCTX.offset("datas"), row=DATA_ROW.size,
                                          segment=abi.SEGMENT.size, image=self.image_symbol))
        if img.num_globals:
            out.append(_GLOBALS_LOOP.format(globals=abi.VMCTX.offset("globals"),
                                            funcs=abi.VMCTX.offset("funcs"),
                                            row=GLOBAL_ROW.size, funcref=abi.FUNCREF.size))
        if img.num_item_rows:
            out.append(_ITEMS_LOOP.format(elems=abi.VMCTX.offset("elems"),
                                          funcs=abi.VMCTX.offset("funcs"), row=ITEM_ROW.size,
                                          segment=abi.SEGMENT.size, funcref=abi.FUNCREF.size,
                                          image=self.image_symbol, null=NULL_ITEM - (1 << 32)))
        if any(run.inline is None for run in img.runs):
            out.append(_SEGMENTS_LOOP.format(globals=abi.VMCTX.offset("globals"),
                                             row=SEGMENT_ROW.size, elem=SEG_ELEM_ACTIVE,
                                             data=SEG_DATA_ACTIVE, g32=OFFSET_GLOBAL_I32,
                                             g64=OFFSET_GLOBAL_I64))
        return out

    # --- thunks and adapters --------------------------------------------------------

    def _thunk_signature(self, ft: FuncType) -> str:
        """What tells thunks apart: the LLVM signature, and which results are exnrefs
        (the thunk pins those; a funcref result is a `ptr` too)."""
        exn = [i for i, t in enumerate(ft.results) if _is_exnref(t)]
        return (f"{self.return_type(ft.results)}({', '.join(llvm_type(t) for t in ft.params)})"
                + (f" exn{exn}" if exn else ""))

    def _thunked_types(self) -> dict:
        """Type index -> thunk name, for the types of functions only (the runtime
        looks a thunk up by `func_type[f]`), one thunk per LLVM signature: a
        module with 100,000 types but few function types gets few thunks."""
        names, out = {}, {}
        for typeidx in sorted(set(self._func_typeidx)):
            sig = self._thunk_signature(self.func_type_of_typeidx(typeidx))
            out[typeidx] = names.setdefault(sig, f"@wasmaot_entry_s{len(names)}")
        return out

    def _entry_thunks(self) -> list:
        out, done = [], set()
        for typeidx, name in self._thunked_types().items():
            if name in done:
                continue
            done.add(name)
            ft = self.func_type_of_typeidx(typeidx)
            personality = f" personality ptr @{abi.PERSONALITY}" if self.unwinds else ""
            lines = [f"define internal void {name}(ptr %code, ptr %ctx, ptr %args, "
                     f"ptr %results) #0{personality} {{", "entry:"]
            args = []
            for i, t in enumerate(ft.params):
                ty = llvm_type(t)
                lines.append(f"  %ap{i} = getelementptr inbounds i8, ptr %args, i64 "
                             f"{i * abi.VALUE_SIZE}")
                lines.append(f"  %a{i} = load {ty}, ptr %ap{i}, align 8")
                args.append(f", {ty} %a{i}")
            ret = self.return_type(ft.results)
            ctx = f"{self.vmctx_param(self.record_conv)} %ctx"
            if self.unwinds:
                # An exception no handler caught ends the activation (the runtime's
                # EXCEPTION status), never unwinding the embedder's frames.
                call = (f"invoke {self.record_conv} {ret} %code({ctx}{''.join(args)}) "
                        f"to label %done unwind label %escaped")
            else:
                call = f"notail call {self.record_conv} {ret} %code({ctx}{''.join(args)})"
            lines.append(f"  {call}" if ret == "void" else f"  %r = {call}")
            if self.unwinds:
                lines.append("done:")
            for i, t in enumerate(ft.results):
                ty = llvm_type(t)
                value = "%r"
                if len(ft.results) > 1:
                    value = f"%r{i}"
                    lines.append(f"  {value} = extractvalue {ret} %r, {i}")
                lines.append(f"  %rp{i} = getelementptr inbounds i8, ptr %results, i64 "
                             f"{i * abi.VALUE_SIZE}")
                lines.append(f"  store {ty} {value}, ptr %rp{i}, align 8")
                if _is_exnref(t):
                    # The embedder gets it pinned: its results array is memory the
                    # exception collector cannot see (runtime_c/exception.c).
                    lines.append(f"  call void @wasmaot_rt_exception_hand_out(ptr %ctx, ptr {value})")
            lines.append("  ret void")
            if self.unwinds:
                lines += ["escaped:", "  %lp = landingpad { ptr, i32 } cleanup",
                          "  %exn = extractvalue { ptr, i32 } %lp, 0",
                          "  call void @wasmaot_rt_exception_escaped(ptr %ctx, ptr %exn)",
                          "  unreachable"]
            lines.append("}")
            out.append("\n".join(lines))
        return out

    def _adapter_types(self) -> list:
        return sorted({imp.desc for imp in self.module.imports
                       if imp.kind in ("func", "func_exact")})

    def _native_symbol(self, imp) -> str | None:
        for module, name, symbol in self.options.native_imports:
            if module == imp.module and name == imp.name:
                return symbol
        return None

    def _native_adapters(self) -> list:
        """One adapter (record_conv) per import bound to a C function: wasm calls it
        with the importer's own vmctx, it calls the C function (C calling
        convention) with the same arguments."""
        out = []
        funcidx = 0
        for imp in self.module.imports:
            if imp.kind not in ("func", "func_exact"):
                continue
            symbol = self._native_symbol(imp)
            if symbol is not None:
                ft = self.func_type_of_typeidx(imp.desc)
                if len(ft.results) > 1:
                    raise UnsupportedFeature(f"import {imp.module}.{imp.name}: a C function "
                                             f"cannot return several results")
                ret = self.return_type(ft.results)
                params = "".join(f", {llvm_type(t)} %p{i}" for i, t in enumerate(ft.params))
                args = params
                self.declare(f"declare {ret} @{symbol}(ptr{''.join(', ' + llvm_type(t) for t in ft.params)})")
                # notail: a tailcc function (callee pops its stack arguments) must
                # not sibling-call a C function (caller pops); LLVM's AArch64
                # backend would, leaving the wasm caller's stack pointer off.
                call = f"notail call {ret} @{symbol}(ptr %ctx{args})"
                body = (f"  {call}\n  ret void" if ret == "void"
                        else f"  %r = {call}\n  ret {ret} %r")
                out.append(f"define internal {self.record_conv} {ret} "
                           f"@wasmaot_native_f{funcidx}({self.vmctx_param(self.record_conv)} "
                           f"%ctx{params}) "
                           f"#0 {{\nentry:\n{body}\n}}")
            funcidx += 1
        return out

    def _adapter_symbol(self, funcidx: int, imp) -> str:
        if self._native_symbol(imp) is not None:
            return f"@wasmaot_native_f{funcidx}"
        return f"@wasmaot_host_t{imp.desc}"

    def _host_adapters(self) -> list:
        out = self._native_adapters()
        for typeidx in self._adapter_types():
            ft = self.func_type_of_typeidx(typeidx)
            params = "".join(f", {llvm_type(t)} %p{i}" for i, t in enumerate(ft.params))
            ret = self.return_type(ft.results)
            nargs = max(1, len(ft.params))
            nres = max(1, len(ft.results))
            host = f"{self.vmctx_param(self.record_conv)} %host"
            lines = [f"define internal {self.record_conv} {ret} @wasmaot_host_t{typeidx}({host}{params}) "
                     f"#0 {{", "entry:",
                     f"  %args = alloca [{nargs * abi.VALUE_SIZE} x i8], align 16",
                     f"  %res = alloca [{nres * abi.VALUE_SIZE} x i8], align 16"]
            for i, t in enumerate(ft.params):
                lines.append(f"  %ap{i} = getelementptr inbounds i8, ptr %args, i64 "
                             f"{i * abi.VALUE_SIZE}")
                lines.append(f"  store {llvm_type(t)} %p{i}, ptr %ap{i}, align 8")
            lines.append("  notail call void @wasmaot_rt_host_call(ptr %host, ptr %args, ptr %res)")
            values = []
            for i, t in enumerate(ft.results):
                ty = llvm_type(t)
                lines.append(f"  %rp{i} = getelementptr inbounds i8, ptr %res, i64 "
                             f"{i * abi.VALUE_SIZE}")
                lines.append(f"  %r{i} = load {ty}, ptr %rp{i}, align 8")
                values.append((ty, f"%r{i}"))
            if not values:
                lines.append("  ret void")
            elif len(values) == 1:
                lines.append(f"  ret {values[0][0]} {values[0][1]}")
            else:
                agg = "undef"
                for i, (ty, v) in enumerate(values):
                    lines.append(f"  %agg{i} = insertvalue {ret} {agg}, {ty} {v}, {i}")
                    agg = f"%agg{i}"
                lines.append(f"  ret {ret} {agg}")
            lines.append("}")
            out.append("\n".join(lines))
        return out

    # --- the descriptor -----------------------------------------------------------

    def _string(self, text: str) -> str:
        name = self._strings.get(text)
        if name is None:
            name = f"@str{len(self._strings)}"
            self._strings[text] = name
            ty, init = _c_string(text)
            self.globals_text.append(f"{name} = private unnamed_addr constant {ty} {init}")
        return name

    def _array(self, name: str, elem_ty: str, items: list) -> str:
        if not items:
            return "null"
        body = ", ".join(f"{elem_ty} {v}" for v in items)
        self.globals_text.append(
            f"@{name} = private unnamed_addr constant [{len(items)} x {elem_ty}] [{body}]")
        return f"@{name}"

    def _i64_array(self, name: str, values) -> str:
        """An array of i64 (rows of i64 fields flattened) as one byte string: LLVM
        parses that at memcpy speed, where 100,000 `i64 N` items cost about a second
        of Python and LLVM.  Both targets are little-endian."""
        data = array("q", values)
        if sys.byteorder != "little":
            data.byteswap()
        return self._byte_table(name, data.tobytes())

    def _byte_table(self, name: str, raw: bytes) -> str:
        """A constant of bytes (rows of little-endian i64s), 8-aligned; null if empty."""
        if not raw:
            return "null"
        self.globals_text.append(f"@{name} = private unnamed_addr constant "
                                 f"[{len(raw)} x i8] {ir_bytes(raw)}, align 8")
        return f"@{name}"

    def _struct_array(self, name: str, rows: list) -> str:
        """An array of structs whose fields are all 8-byte (i64 or ptr)."""
        if not rows:
            return "null"
        row_ty = "{ " + ", ".join(t for t, _ in rows[0]) + " }"
        body = ", ".join(row_ty + " { " + ", ".join(f"{t} {v}" for t, v in row) + " }"
                         for row in rows)
        self.globals_text.append(
            f"@{name} = private unnamed_addr constant [{len(rows)} x {row_ty}] [{body}]")
        return f"@{name}"

    def _descriptor(self) -> None:
        m, ctx = self.module, self.ctx
        types = ctx.types
        ntypes = len(m.types)
        nfuncs = len(ctx.funcs)
        type_canon = self._i64_array("type_canon", [types.canon[i] for i in range(ntypes)])
        type_super = self._i64_array("type_super", [
            -1 if types.super_of[types.canon[i]] is None else types.super_of[types.canon[i]]
            for i in range(ntypes)])
        func_code = self._array("func_code", "ptr", [
            "null" if i < self.num_imported_funcs else self.func_ref(i)
            for i in range(nfuncs)])
        func_type = self._i64_array("func_type", self._func_typeidx)
        func_imports = [imp for imp in m.imports if imp.kind in ("func", "func_exact")]
        host_adapters = self._array("host_adapters", "ptr", [
            self._adapter_symbol(i, imp) for i, imp in enumerate(func_imports)])
        func_names = self._array("func_names", "ptr", [
            self._string(m.names.funcs[i]) if i in m.names.funcs else "null"
            for i in range(nfuncs)])
        mems = self._struct_array("memories", [
            self._memory_row(mt.limits) + [("i64", int(self.needs_explicit_checks(i))),
                                            ("i64", int(self.folds_adds(i)))]
            for i, mt in enumerate(ctx.mems)])
        tabs = self._struct_array("tables", [self._table_row(tt) for tt in ctx.tables])
        # Rows {i64 valtype, i64 mutable} per global, in the image (image.py).
        globs = self._image_at(self.image.global_descs_at) if ctx.globals else "null"
        # Filled in the instance by the initializer (image.py: `datas` rows).
        datas = "null"
        if m.datas:
            self.globals_text.append(f"@datas = internal global [{len(m.datas)} x {{ ptr, i64 }}] "
                                     f"zeroinitializer, align 8")
            datas = "@datas"
        elem_lengths = self._i64_array("elem_lengths", [len(e.init) for e in m.elems])
        thunks = self._thunked_types()
        entry_thunks = self._array("entry_thunks", "ptr", [thunks.get(i, "null")
                                                           for i in range(ntypes)])
        imports, counters = [], {}
        for imp in m.imports:
            kind = "func" if imp.kind == "func_exact" else imp.kind
            index = counters.get(kind, 0)
            counters[kind] = index + 1
            imports.append([("ptr", self._string(imp.module)), ("ptr", self._string(imp.name)),
                            ("i64", abi.EXTERN_KINDS[kind]), ("i64", index),
                            ("i64", int(imp.kind == "func_exact"))])
        imports_arr = self._struct_array("imports", imports)
        exports_arr = self._struct_array("exports", [
            [("ptr", self._string(e.name)), ("i64", abi.EXTERN_KINDS[e.kind]), ("i64", e.index)]
            for e in m.exports])
        n_imported = {k: sum(1 for imp in m.imports if imp.kind == k)
                      for k in ("memory", "table", "global", "tag")}
        fields = {
            "abi_version": abi.ABI_VERSION, "num_types": ntypes, "type_canon": type_canon,
            "type_super": type_super, "num_funcs": nfuncs,
            "num_imported_funcs": self.num_imported_funcs, "func_code": func_code,
            "func_type": func_type, "host_adapters": host_adapters, "func_names": func_names,
            "num_memories": len(ctx.mems), "num_imported_memories": n_imported["memory"],
            "memories": mems, "num_tables": len(ctx.tables),
            "num_imported_tables": n_imported["table"], "tables": tabs,
            "num_globals": len(ctx.globals), "num_imported_globals": n_imported["global"],
            "globals": globs, "num_datas": len(m.datas), "datas": datas,
            "num_elems": len(m.elems), "elem_lengths": elem_lengths, "init": "@wasmaot_init",
            "start": -1 if m.start is None else m.start, "entry_thunks": entry_thunks,
            "num_imports": len(m.imports), "imports": imports_arr,
            "num_exports": len(m.exports), "exports": exports_arr,
            "num_tags": len(ctx.tags), "num_imported_tags": n_imported["tag"],
            "tags": self._i64_array("tags", [  # rows {type_index, num_values}
                field for t in ctx.tags for field in (t, len(ctx.types.comp(t).params))]),
        }
        body = []
        for f in abi.MODULE_DESC.fields:
            ty = "ptr" if f.ctype.endswith("*") or f.ctype.endswith("_fn") or \
                f.ctype.endswith("const *") else "i64"
            body.append(f"{ty} {fields[f.name]}")
        ty = "{ " + ", ".join(b.split()[0] for b in body) + " }"
        self.globals_text.append(f"@{self.options.descriptor_symbol} = constant {ty} {{ {', '.join(body)} }}")

    @staticmethod
    def _memory_row(limits) -> list:
        mx = (1 << 64) - 1 if limits.max is None else limits.max
        return [("i64", limits.min), ("i64", _u64(mx)), ("i64", int(limits.is64)),
                ("i64", limits.page_size_log2), ("i64", int(limits.shared))]

    def _table_row(self, tt) -> list:
        limits = tt.limits
        mx = (1 << 64) - 1 if limits.max is None else limits.max
        return [("i64", _u64(limits.min)), ("i64", _u64(mx)), ("i64", int(limits.is64)),
                ("i64", self._valtype_code(tt.reftype))]

    def _valtype_code(self, t) -> int:
        return valtype_code(self.ctx, t)


# --- the initializer's loops over the module image (image.py) ----------------------
# Rows are read with 8-byte loads (the image is 16-aligned, its rows 8-aligned).
# A cell is 16 bytes and starts zeroed; storing the 8 low bytes of a value's bits
# sets an i32/i64/f32/f64/ref global on our little-endian targets.

_DATAS_LOOP = """define internal void @wasmaot_init_datas(ptr %ctx, ptr %rows, i64 %n) #0 {{
entry:
  %dp = getelementptr inbounds i8, ptr %ctx, i64 {datas}
  %datas = load ptr, ptr %dp, align 8
  br label %head
head:
  %k = phi i64 [ 0, %entry ], [ %k.next, %body ]
  %done = icmp eq i64 %k, %n
  br i1 %done, label %exit, label %body
body:
  %row = getelementptr inbounds [{row} x i8], ptr %rows, i64 %k
  %at = load i64, ptr %row, align 8
  %lenp = getelementptr inbounds i8, ptr %row, i64 8
  %len = load i64, ptr %lenp, align 8
  %bytes = getelementptr inbounds i8, ptr @{image}, i64 %at
  %seg = getelementptr inbounds [{segment} x i8], ptr %datas, i64 %k
  store ptr %bytes, ptr %seg, align 8
  %seglen = getelementptr inbounds i8, ptr %seg, i64 8
  store i64 %len, ptr %seglen, align 8
  %k.next = add i64 %k, 1
  br label %head
exit:
  ret void
}}"""

_GLOBALS_LOOP = """define internal void @wasmaot_init_globals(ptr %ctx, ptr %rows, i64 %n) #0 {{
entry:
  %gp = getelementptr inbounds i8, ptr %ctx, i64 {globals}
  %globals = load ptr, ptr %gp, align 8
  %fp = getelementptr inbounds i8, ptr %ctx, i64 {funcs}
  %funcs = load ptr, ptr %fp, align 8
  br label %head
head:
  %k = phi i64 [ 0, %entry ], [ %k.next, %body ]
  %done = icmp eq i64 %k, %n
  br i1 %done, label %exit, label %body
body:
  %row = getelementptr inbounds [{row} x i8], ptr %rows, i64 %k
  %index = load i64, ptr %row, align 8
  %kindp = getelementptr inbounds i8, ptr %row, i64 8
  %kind = load i64, ptr %kindp, align 8
  %valuep = getelementptr inbounds i8, ptr %row, i64 16
  %value = load i64, ptr %valuep, align 8
  %cellp = getelementptr inbounds ptr, ptr %globals, i64 %index
  %cell = load ptr, ptr %cellp, align 8
  %recoff = mul i64 %value, {funcref}
  %rec = getelementptr i8, ptr %funcs, i64 %recoff
  %recbits = ptrtoint ptr %rec to i64
  %isref = icmp ne i64 %kind, 0
  %bits = select i1 %isref, i64 %recbits, i64 %value
  store i64 %bits, ptr %cell, align 8
  %k.next = add i64 %k, 1
  br label %head
exit:
  ret void
}}"""

_ITEMS_LOOP = """define internal void @wasmaot_init_items(ptr %ctx, ptr %rows, i64 %n) #0 {{
entry:
  %ep = getelementptr inbounds i8, ptr %ctx, i64 {elems}
  %elems = load ptr, ptr %ep, align 8
  %fp = getelementptr inbounds i8, ptr %ctx, i64 {funcs}
  %funcs = load ptr, ptr %fp, align 8
  br label %head
head:
  %k = phi i64 [ 0, %entry ], [ %k.next, %row.end ]
  %done = icmp eq i64 %k, %n
  br i1 %done, label %exit, label %row
row:
  %rowp = getelementptr inbounds [{row} x i8], ptr %rows, i64 %k
  %seg = load i64, ptr %rowp, align 8
  %atp = getelementptr inbounds i8, ptr %rowp, i64 8
  %at = load i64, ptr %atp, align 8
  %countp = getelementptr inbounds i8, ptr %rowp, i64 16
  %count = load i64, ptr %countp, align 8
  %segp = getelementptr inbounds [{segment} x i8], ptr %elems, i64 %seg
  %items = load ptr, ptr %segp, align 8
  %src = getelementptr inbounds i8, ptr @{image}, i64 %at
  br label %item.head
item.head:
  %j = phi i64 [ 0, %row ], [ %j.next, %item ]
  %jdone = icmp eq i64 %j, %count
  br i1 %jdone, label %row.end, label %item
item:
  %ip = getelementptr inbounds i32, ptr %src, i64 %j
  %idx = load i32, ptr %ip, align 4
  %isnull = icmp eq i32 %idx, {null}
  %idx64 = zext i32 %idx to i64
  %recoff = mul i64 %idx64, {funcref}
  %rec = getelementptr i8, ptr %funcs, i64 %recoff
  %ref = select i1 %isnull, ptr null, ptr %rec
  %dst = getelementptr inbounds ptr, ptr %items, i64 %j
  store ptr %ref, ptr %dst, align 8
  %j.next = add i64 %j, 1
  br label %item.head
row.end:
  %k.next = add i64 %k, 1
  br label %head
exit:
  ret void
}}"""

_SEGMENTS_LOOP = """define internal void @wasmaot_init_segments(ptr %ctx, ptr %rows, i64 %n) #0 {{
entry:
  %gp = getelementptr inbounds i8, ptr %ctx, i64 {globals}
  %globals = load ptr, ptr %gp, align 8
  br label %head
head:
  %k = phi i64 [ 0, %entry ], [ %k.next, %next ]
  %done = icmp eq i64 %k, %n
  br i1 %done, label %exit, label %body
body:
  %row = getelementptr inbounds [{row} x i8], ptr %rows, i64 %k
  %kind = load i64, ptr %row, align 8
  %segp = getelementptr inbounds i8, ptr %row, i64 8
  %seg64 = load i64, ptr %segp, align 8
  %seg = trunc i64 %seg64 to i32
  %targetp = getelementptr inbounds i8, ptr %row, i64 16
  %target64 = load i64, ptr %targetp, align 8
  %target = trunc i64 %target64 to i32
  %modep = getelementptr inbounds i8, ptr %row, i64 24
  %mode = load i64, ptr %modep, align 8
  %valuep = getelementptr inbounds i8, ptr %row, i64 32
  %value = load i64, ptr %valuep, align 8
  %lenp = getelementptr inbounds i8, ptr %row, i64 40
  %len = load i64, ptr %lenp, align 8
  switch i64 %mode, label %const [ i64 {g32}, label %g32
                                   i64 {g64}, label %g64 ]
const:
  br label %offset
g32:
  %cellp32 = getelementptr inbounds ptr, ptr %globals, i64 %value
  %cell32 = load ptr, ptr %cellp32, align 8
  %v32 = load i32, ptr %cell32, align 8
  %z32 = zext i32 %v32 to i64
  br label %offset
g64:
  %cellp64 = getelementptr inbounds ptr, ptr %globals, i64 %value
  %cell64 = load ptr, ptr %cellp64, align 8
  %v64 = load i64, ptr %cell64, align 8
  br label %offset
offset:
  %off = phi i64 [ %value, %const ], [ %z32, %g32 ], [ %v64, %g64 ]
  switch i64 %kind, label %drop [ i64 {elem}, label %elem
                                  i64 {data}, label %data ]
elem:
  call void @wasmaot_rt_table_init(ptr %ctx, i32 %target, i32 %seg, i64 %off, i64 0, i64 %len)
  br label %drop
drop:
  call void @wasmaot_rt_elem_drop(ptr %ctx, i32 %seg)
  br label %next
data:
  call void @wasmaot_rt_memory_init(ptr %ctx, i32 %target, i32 %seg, i64 %off, i64 0, i64 %len)
  call void @wasmaot_rt_data_drop(ptr %ctx, i32 %seg)
  br label %next
next:
  %k.next = add i64 %k, 1
  br label %head
exit:
  ret void
}}"""


def _u64(value: int) -> int:
    """LLVM i64 literals are signed."""
    return value - (1 << 64) if value >= 1 << 63 else value


def lower_module(module: Module, ctx: ModuleContext, options: CodegenOptions) -> str:
    return ModuleEmitter(module, ctx, options).emit()


def lower_partition(module: Module, ctx: ModuleContext, options: CodegenOptions,
                    funcs: list[int], with_descriptor: bool, image: Image | None = None) -> str:
    """`image`: the module's image if the caller built it already (build_image)."""
    return ModuleEmitter(module, ctx, options).emit(funcs, with_descriptor=with_descriptor,
                                                    image=image)
