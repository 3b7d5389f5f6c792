"""Lowering of one function body to LLVM IR text (structured control flow,
locals, calls), dispatching every other instruction to its family's module.

The wasm operand stack is simulated at compile time: it holds (llvm type, IR
value) pairs, so straight-line code becomes plain SSA.  Control constructs
become basic blocks; values flowing into a block end (or a loop header) are
merged with phi nodes, whose incoming edges are collected while the body is
lowered.  Locals live in allocas that LLVM's mem2reg promotes at -O1 and up.

Every `local.set`/`local.tee` stores to the local's alloca, but a `local.get`
loads only when the local's value is not known where it is read
(`FunctionEmitter.local_values`): after a set, tee or get of the same local
earlier in the basic block, the value is reused as it is.  That is exact
because a local is private to its function: nothing but this function's own
set/tee changes it, and every one of those updates the known value.  The known
values are forgotten where a block other paths may reach starts; a block whose
only predecessor is the current one (after a br_if, a trap check, an invoke)
keeps them, since they dominate it.  At -O0, where nothing promotes the
allocas, this halves the loads LLVM parses and fast-isel selects
(docs/notes/compile-speed.md).

Unreachable code (after `br`, `return`, `unreachable`, ...) is skipped: only
its block structure is tracked, so a dead `end` pops the right frame.
"""

from __future__ import annotations

from ..errors import UnsupportedFeature
from ..wasm.instructions import READERS_OF
from ..wasm.opcodes import PREFIXED, SINGLE
from ..wasm.reader import Reader
from ..wasm.types import BlockType, FuncType
from . import abi
from .exceptions import close_scope
from .memory import store_kind
from .types import llvm_type, zero_value

# Proposals this code generator does not lower yet (later issues).
UNSUPPORTED_PROPOSALS = {
    "gc": "GC", "custom_descriptors": "GC",
    "threads": "threads",
}

# Attributes of every generated function (attribute group #0; the module
# header explains them), and the group of a wasm function with a return_call*:
# the same plus `noinline` (FunctionEmitter.attribute_group says why).
FUNC_ATTRS = '"frame-pointer"="all" "probe-stack"="inline-asm"'
NOINLINE_GROUP = 1

# Callees that leave a function a leaf (FunctionEmitter.is_small_leaf): the trap
# routine never returns, and intrinsics (memcpy, frameaddress, ...) never reach
# wasm code.
_LEAF_CALLEES = ("@wasmaot_rt_trap(", "@llvm.")


class Frame:
    """A control frame: a block, loop, if/else or the function body."""

    __slots__ = ("kind", "params", "results", "height", "end_label", "head_label",
                 "else_label", "incoming", "head_incoming", "head_phis", "dead",
                 "entered_dead", "param_values", "scope", "scope_active", "delegate_to",
                 "entry_locals", "incoming_locals")

    def __init__(self, kind, params, results, height, end_label, *, dead=False):
        self.kind = kind
        self.params = params  # llvm types
        self.results = results
        self.height = height  # operand stack height below the params
        self.end_label = end_label
        self.head_label = None
        self.else_label = None
        self.incoming = []  # (pred label, values) reaching end_label
        self.incoming_locals = []  # per incoming edge: the locals' known values there
        self.head_incoming = []  # loops: (pred label, values) reaching head_label
        self.head_phis = []  # loops: (line index, phi name, type)
        self.dead = dead
        self.entered_dead = dead
        self.param_values = []
        # An if: the locals' known values where it branches, which its else arm
        # (that block's only predecessor) starts from.
        self.entry_locals = {}
        # try_table / legacy try (exceptions.py): the HandlerScope, whether calls here
        # unwind to it (a legacy try's handlers do not), and the frame a legacy
        # `delegate` passes exceptions to.
        self.scope = None
        self.scope_active = False
        self.delegate_to = None

    @property
    def label_types(self):
        return self.params if self.kind == "loop" else self.results


class FunctionEmitter:
    """Emits one wasm function (an `IRSink` for the lowering modules)."""

    def __init__(self, mod, funcidx: int, functype: FuncType, local_types: list):
        self.mod = mod  # the ModuleEmitter: declarations, types, names
        self.funcidx = funcidx
        self.functype = functype
        self.lines: list[str] = []
        self.stack: list[tuple] = []  # (llvm type, value)
        self.frames: list[Frame] = []
        self.n = 0
        self.cur = "entry"
        self.trap_labels: dict[str, str] = {}
        self.local_types = [llvm_type(t) for t in local_types]
        # Entry-block code: allocas, then loads of instance pointers that never
        # change (memory bases, array pointers), each emitted once per function.
        self.allocas: list[str] = []
        self.prelude: list[str] = []
        self.cached: dict = {}
        # For widemul.py: how i64 values were computed (value -> (op, a, b)).
        self.int_defs: dict = {}
        # Local index -> the value it holds here, as last stored or loaded in this
        # block or a block only it reaches (module doc; start_block forgets them).
        self.local_values: dict = {}
        # The locals some load reads, and where each local is stored (indices
        # into self.lines): a local never loaded needs no stores (drop_unread_locals).
        self.read_locals: set = set()
        self.local_stores: dict = {}
        self.result_types = [llvm_type(t) for t in functype.results]
        self.has_return_call = False  # set by the lowering of return_call*
        self.has_landing_pad = False  # an invoke or resume: needs the personality

    # --- IRSink ------------------------------------------------------------

    def tmp(self) -> str:
        self.n += 1
        return f"%t{self.n}"

    def label(self, hint: str) -> str:
        self.n += 1
        return f"{hint}{self.n}"

    def emit(self, line: str) -> None:
        self.lines.append("  " + line)

    def declare(self, decl: str) -> None:
        self.mod.declare(decl)

    def trap_if(self, cond: str, trap: str) -> None:
        target = self.trap_labels.get(trap)
        if target is None:
            target = self.trap_labels[trap] = f"trap_{trap.lower()}"
        cont = self.label("ok")
        self.emit(f"br i1 {cond}, label %{target}, label %{cont}, !prof !{self.mod.cold_branch}")
        self.continue_block(cont)

    def trap(self, trap: str) -> None:
        """Trap unconditionally; the code after it is dead."""
        self.emit(f"call void @wasmaot_rt_trap(ptr %ctx, i32 {abi.TRAP_CODES[trap]})")
        self.emit("unreachable")
        self.set_dead()

    # --- blocks -----------------------------------------------------------

    def start_block(self, label: str) -> None:
        self.lines.append(f"{label}:")
        self.cur = label
        if self.local_values:  # other paths may reach this block with other values
            self.local_values = {}

    def continue_block(self, label: str) -> None:
        """Start a block whose only predecessor is the current block (the
        continuation of a conditional branch or an invoke): the values known for
        the locals dominate it and still hold there, so they are kept."""
        self.lines.append(f"{label}:")
        self.cur = label

    def set_dead(self) -> None:
        """The rest of the current frame is unreachable (its stack is never read)."""
        self.frames[-1].dead = True

    @property
    def dead(self) -> bool:
        return self.frames[-1].dead

    # --- operand stack --------------------------------------------------------

    def pop(self) -> str:
        return self.stack.pop()[1]

    def pop_typed(self) -> tuple:
        return self.stack.pop()

    def popn(self, n: int) -> list:
        if n == 0:
            return []
        vals = self.stack[-n:]
        del self.stack[-n:]
        return vals

    def push(self, ty: str, value: str) -> None:
        self.stack.append((ty, value))

    # --- context access -------------------------------------------------------

    def invariant_load(self, key, ptr_expr_lines, ty: str = "ptr") -> str:
        """A value fixed for the instance's lifetime, loaded once in the entry
        block.  `ptr_expr_lines(tmp)` returns (lines, pointer) computing its address."""
        v = self.cached.get(key)
        if v is None:
            lines, ptr = ptr_expr_lines()
            v = self.tmp()
            self.prelude.extend("  " + line for line in lines)
            self.prelude.append(f"  {v} = load {ty}, ptr {ptr}, align 8, "
                                f"!invariant.load !{self.mod.empty_md}")
            self.cached[key] = v
        return v

    def load_field(self, struct_ptr: str, struct, name: str, ty: str) -> str:
        """Load field `name` of an abi.Struct at `struct_ptr` (a value that may
        change: sizes, table elements, funcref contents)."""
        p = self.field_address(struct_ptr, struct.offset(name))
        v = self.tmp()
        self.emit(f"{v} = load {ty}, ptr {p}, align 8")
        return v

    def field_address(self, struct_ptr: str, offset: int) -> str:
        """The address `offset` bytes into a struct: the struct's own at offset 0
        (no instruction for LLVM to parse and select)."""
        if offset == 0:
            return struct_ptr
        p = self.tmp()
        self.emit(f"{p} = getelementptr inbounds i8, ptr {struct_ptr}, i64 {offset}")
        return p

    def ctx_field(self, name: str) -> str:
        """A vmctx field (pointers fixed for the instance's lifetime)."""
        def address():
            offset = abi.VMCTX.offset(name)
            if offset == 0:
                return [], "%ctx"
            p = self.tmp()
            return [f"{p} = getelementptr inbounds i8, ptr %ctx, i64 {offset}"], p
        return self.invariant_load(("ctx", name), address)

    def ctx_array_item(self, field_name: str, index: int) -> str:
        """vmctx->field[index] for an array of pointers (memories, tables, globals)."""
        def address():
            arr = self.ctx_field(field_name)
            if index == 0:
                return [], arr
            p = self.tmp()
            return [f"{p} = getelementptr inbounds ptr, ptr {arr}, i64 {index}"], p
        return self.invariant_load((field_name, index), address)

    def global_cell(self, x: int) -> str:
        """The cell of global `x`.  Global 0's comes from the vmctx's copy
        (abi.py VMCTX.global0_cell): C compilers make it the shadow stack
        pointer, which every function with a stack frame reads and writes, and
        the copy is one load at entry where the array is two dependent ones."""
        if x == 0:
            return self.ctx_field("global0_cell")
        return self.ctx_array_item("globals", x)

    def funcref_record(self, funcidx: int) -> str:
        return self.field_address(self.ctx_field("funcs"), funcidx * abi.FUNCREF.size)

    # --- the body -------------------------------------------------------------

    def emit_function(self, r: Reader) -> str:
        ft = self.functype
        params = ", ".join(["ptr %ctx"] + [f"{llvm_type(t)} %p{i}"
                                              for i, t in enumerate(ft.params)])
        start = len(self.lines)
        check = self.prologue()
        self.note_local_stores(start)
        # What the prologue stored: the parameters, and zero in the other locals.
        nparams = len(ft.params)
        self.local_values = {i: f"%p{i}" if i < nparams else zero_value(ty)
                             for i, ty in enumerate(self.local_types)}
        frame = Frame("func", [], self.result_types, 0, "ret")
        self.frames.append(frame)
        self.lower_body(r)
        self.drop_unread_locals()
        if self.is_small_leaf():
            self.drop_stack_check(check)
        ret = self.mod.return_type(ft.results)
        personality = f" personality ptr @{abi.PERSONALITY}" if self.has_landing_pad else ""
        header = (f"define {self.mod.linkage} {self.mod.call_conv(self.funcidx)} {ret} "
                  f"@{self.mod.func_symbol(self.funcidx)}({params}) #{self.attribute_group()}"
                  f"{personality} {{")
        return "\n".join([header, "entry:", *self.allocas, *self.prelude,
                          *filter(None, self.lines), *self.trap_blocks(), "}"])

    def attribute_group(self) -> int:
        """A function with a return_call* is never inlined.  Its return_call
        is a `tail call tailcc`, which LLVM guarantees to reuse the frame.
        Inlined at a `notail` call site (an ordinary wasm `call`), LLVM's
        inliner keeps the inner call `tail` (it takes the weaker of the two
        kinds, and `tail` is weaker than `notail`), so the return_call would
        replace the *caller's* frame: `(func $a (return_call $b)) (func $b
        (call $a))` became a loop with no stack growth, and no stack check
        ever fired.  Without inlining, a `tail` call stays in the function
        whose wasm body has the return_call, so only wasm return_call* reuse
        frames; every other call stays `notail` (inlining keeps `notail`
        calls `notail`) and pushes a frame whose prologue checks the limit."""
        return NOINLINE_GROUP if self.has_return_call else 0

    # --- exceptions (exceptions.py) -------------------------------------------------

    def enclosing_scope(self, frame=None):
        """The innermost handler scope whose body is open at `frame` (default: here), or
        None.  A frame being ended is already off the stack: its scope is not counted."""
        frames = self.frames
        if frame is not None:
            frames = frames[:next(k for k in range(len(frames) - 1, -1, -1)
                                  if frames[k] is frame) + 1]
        for f in reversed(frames):
            if f.scope is not None and f.scope_active:
                return f.scope
        return None

    def unwind_label(self) -> str | None:
        """Where a call here unwinds to: the landing pad of the innermost handler scope
        (made on first use), or None outside every scope (the call is a plain `call`)."""
        scope = self.enclosing_scope()
        if scope is None:
            return None
        if scope.pad is None:
            scope.pad = self.label("pad")
        self.has_landing_pad = True
        return scope.pad

    def trap_blocks(self) -> list:
        """The shared blocks `trap_if` branches to, one per trap kind used."""
        out = []
        for trap, label in self.trap_labels.items():
            out += [f"{label}:",
                    f"  call void @wasmaot_rt_trap(ptr %ctx, i32 {abi.TRAP_CODES[trap]})",
                    "  unreachable"]
        return out

    def prologue(self) -> int:
        """The stack-limit check (abi: vmctx->stack_limit points at the limit
        cell), then the locals.  Returns where the check's lines start."""
        check = len(self.lines)
        fa = self.tmp()
        self.emit(f"{fa} = call ptr @llvm.frameaddress.p0(i32 0)")
        cell = self.ctx_field("stack_limit")
        lim = self.tmp()
        self.emit(f"{lim} = load i64, ptr {cell}, align 8")
        fai = self.tmp()
        self.emit(f"{fai} = ptrtoint ptr {fa} to i64")
        low = self.tmp()
        self.emit(f"{low} = icmp ult i64 {fai}, {lim}")
        self.trap_if(low, "STACK_EXHAUSTED")
        nparams = len(self.functype.params)
        for i, ty in enumerate(self.local_types):
            p = f"%l{i}"
            self.allocas.append(f"  {p} = alloca {ty}")
            init = f"%p{i}" if i < nparams else zero_value(ty)
            self.emit(f"store {ty} {init}, ptr {p}")
        return check

    def note_local_stores(self, start: int) -> None:
        """Record the prologue's stores to locals (lines from `start` on)."""
        for i in range(start, len(self.lines)):
            line = self.lines[i]
            if line.startswith("  store ") and ", ptr %l" in line:
                self.local_stores.setdefault(int(line.rsplit("%l", 1)[1]), []).append(i)

    def drop_unread_locals(self) -> None:
        """A local whose every local.get reused a known value is never loaded: its
        stores are dead, and so is its alloca (the only reads of a local are the
        loads _local_get emits).  The stores' lines become empty, so that the
        indices of the others stay valid; emit_function leaves them out."""
        unread = self.local_stores.keys() - self.read_locals
        if not unread:
            return
        for x in unread:
            for i in self.local_stores[x]:
                self.lines[i] = ""
        self.allocas = [a for a in self.allocas
                        if int(a.split(" = ", 1)[0][len("  %l"):]) not in unread]

    def is_small_leaf(self) -> bool:
        """True if the function calls nothing but the trap routine and LLVM
        intrinsics (read from the IR itself, so that no new kind of call can be
        forgotten) and its frame stays under abi.LEAF_FRAME_BYTES.  The frame
        bound: each IR line defines at most one value of at most 32 bytes, and
        at -O0 each may get a stack slot of its own; locals are 16 bytes at most."""
        values = len(self.lines) + len(self.prelude)
        if 32 * values + 16 * len(self.allocas) + 1024 > abi.LEAF_FRAME_BYTES:
            return False
        for line in self.lines:
            if ("call " in line or "invoke " in line) and not any(
                    callee in line for callee in _LEAF_CALLEES):
                return False
        return True

    def drop_stack_check(self, check: int) -> None:
        """Why a small leaf needs no stack-limit check: its caller passed its
        own check (wasm code is entered only through checked frames), and the
        leaf adds one bounded frame that the runtime's margin below the limit
        holds (runtime_c/stack.c).  Calling nothing, it cannot recurse; a
        deadline (the cell set to the maximum) is still seen by the next
        checked prologue, or by a loop header in interruptible code."""
        branch = self.lines[check + 4]
        assert branch.startswith("  br i1 ") and "trap_stack_exhausted" in branch
        cont = branch.rsplit("label %", 1)[1].split(",", 1)[0]
        self.lines[check:check + 5] = [f"  br label %{cont}"]
        del self.trap_labels["STACK_EXHAUSTED"]

    def interrupt_check(self) -> None:
        """At a loop header (and before a return_call*) of code compiled
        interruptible: read a byte of the interrupt page, which the runtime
        makes unreadable when a deadline passes; the fault becomes the trap
        INTERRUPT (runtime_c/interrupt.c).  Volatile, so that LLVM neither
        drops the unused value nor hoists the read out of the loop.  One load
        and no branch: a compare-and-branch here cost 4-8% on the examples,
        this costs under 1% (bench/README.md)."""
        page = self.ctx_field("interrupt_page")
        self.emit(f"{self.tmp()} = load volatile i8, ptr {page}, align 1")

    def lower_body(self, r: Reader) -> None:
        data = r.data
        handlers = self.mod.handlers
        frames = self.frames
        while frames:
            pos = r.pos
            b = data[pos]
            r.pos = pos + 1
            op = SINGLE[b]
            if op is None:
                op = PREFIXED[b][r.u32()]
            readers = READERS_OF[op]
            if not readers:
                imms = ()
            elif len(readers) == 1:  # most are: no generator for them
                imms = (readers[0](r),)
            else:
                imms = tuple(f(r) for f in readers)
            if frames[-1].dead and op.name not in _STRUCTURAL:
                continue
            handler = handlers.get(op.name)
            if handler is None:
                feature = UNSUPPORTED_PROPOSALS.get(op.proposal, op.proposal)
                raise UnsupportedFeature(f"{feature} is not supported yet ({op.name})",
                                         offset=pos)
            handler(self, op, imms)

    # --- control ----------------------------------------------------------------

    def blocktype(self, bt: BlockType) -> tuple:
        if bt.typeidx is not None:
            ft = self.mod.func_type_of_typeidx(bt.typeidx)
            return [llvm_type(t) for t in ft.params], [llvm_type(t) for t in ft.results]
        if bt.valtype is None:
            return [], []
        return [], [llvm_type(bt.valtype)]

    def push_frame(self, kind: str, bt: BlockType) -> Frame:
        params, results = self.blocktype(bt)
        dead = self.dead
        frame = Frame(kind, params, results, len(self.stack) - len(params),
                      self.label("end"), dead=dead)
        self.frames.append(frame)
        return frame

    def branch_target(self, frame: Frame, values: list) -> str:
        """Record an edge from the current block to `frame`'s label."""
        if frame.kind == "loop":
            frame.head_incoming.append((self.cur, values))
            return frame.head_label
        self.edge_to_end(frame, values)
        return frame.end_label

    def edge_to_end(self, frame: Frame, values: list) -> None:
        """Record an edge from the current block to `frame`'s end label."""
        frame.incoming.append((self.cur, values))
        frame.incoming_locals.append(dict(self.local_values))

    def top_values(self, n: int) -> list:
        return [v for _, v in self.stack[len(self.stack) - n:]] if n else []

    def label_values(self, frame: Frame) -> list:
        """The values a branch to `frame` carries: the top of the stack."""
        return self.top_values(len(frame.label_types))

    def end_frame(self) -> None:
        frame = self.frames.pop()
        if frame.entered_dead:
            return
        self.end_arm(frame)
        if frame.kind == "if":  # no else: the else branch passes the params through
            self.start_block(frame.else_label)
            self.local_values = frame.entry_locals
            self.edge_to_end(frame, frame.param_values)
            self.emit(f"br label %{frame.end_label}")
        if frame.scope is not None:
            close_scope(self, frame)
        if frame.kind == "loop":
            self.fill_loop_phis(frame)
        self.start_block(frame.end_label)
        self.local_values = _common_values(frame.incoming_locals)
        if frame.kind == "func":
            self.emit_return(frame)
            return
        if not frame.incoming:
            self.emit("unreachable")
            self.frames[-1].dead = True
            return
        for ty, value in zip(frame.results, self.merge(frame.incoming, frame.results)):
            self.push(ty, value)

    def end_arm(self, frame: Frame) -> None:
        """End one arm of `frame` (an if's then, a legacy try's body or handler): its
        results go to the end label, and the next arm starts from the frame's height."""
        if not frame.dead:
            values = [v for _, v in self.popn(len(frame.results))]
            self.edge_to_end(frame, values)
            self.emit(f"br label %{frame.end_label}")
        del self.stack[frame.height:]

    def merge(self, incoming: list, types: list) -> list:
        """Phi nodes for values arriving at the current block along `incoming`."""
        out = []
        for i, ty in enumerate(types):
            vals = [vs[i] for _, vs in incoming]
            if all(v == vals[0] for v in vals):
                out.append(vals[0])
                continue
            phi = self.tmp()
            arms = ", ".join(f"[ {v}, %{pred} ]" for (pred, _), v in zip(incoming, vals))
            self.emit(f"{phi} = phi {ty} {arms}")
            out.append(phi)
        return out

    def fill_loop_phis(self, frame: Frame) -> None:
        for i, (line_index, name, ty) in enumerate(frame.head_phis):
            arms = ", ".join(f"[ {vs[i]}, %{pred} ]" for pred, vs in frame.head_incoming)
            self.lines[line_index] = f"  {name} = phi {ty} {arms}"

    def emit_return(self, frame: Frame) -> None:
        if not frame.incoming:
            self.emit("unreachable")
            return
        values = self.merge(frame.incoming, frame.results)
        self.emit_ret(values)

    def emit_ret(self, values: list) -> None:
        types = self.result_types
        if not types:
            self.emit("ret void")
        elif len(types) == 1:
            self.emit(f"ret {types[0]} {values[0]}")
        else:
            st = self.mod.return_type(self.functype.results)
            agg = "undef"
            for i, (ty, v) in enumerate(zip(types, values)):
                nxt = self.tmp()
                self.emit(f"{nxt} = insertvalue {st} {agg}, {ty} {v}, {i}")
                agg = nxt
            self.emit(f"ret {st} {agg}")


def _common_values(known: list) -> dict:
    """The locals' values known at a block from those known on each edge into
    it: a local whose value is the same on every edge holds it there, and the
    value dominates the block (it dominates every predecessor)."""
    if not known:
        return {}
    first = min(known, key=len)
    if not first:
        return {}
    return {x: v for x, v in first.items() if all(k.get(x) == v for k in known)}


# Instructions that still matter in dead code: they open or close frames.
_STRUCTURAL = frozenset(("block", "loop", "if", "else", "end", "try", "try_table", "catch",
                         "catch_all", "delegate"))
# The frontend's refusal (module.REFUSALS) needs to know which instructions are looked at
# in dead code; the others are skipped there, so an unsupported one in dead code compiles.
LOWERED_WHEN_DEAD = _STRUCTURAL


def _block(fx: FunctionEmitter, op, imms) -> None:
    fx.push_frame("block", imms[0])


def _loop(fx: FunctionEmitter, op, imms) -> None:
    frame = fx.push_frame("loop", imms[0])
    if frame.dead:
        return
    frame.head_label = fx.label("loop")
    entry_values = [v for _, v in fx.popn(len(frame.params))]
    frame.head_incoming.append((fx.cur, entry_values))
    fx.emit(f"br label %{frame.head_label}")
    fx.start_block(frame.head_label)
    for ty in frame.params:
        name = fx.tmp()
        frame.head_phis.append((len(fx.lines), name, ty))
        fx.lines.append("")  # filled by fill_loop_phis
        fx.push(ty, name)
    if fx.mod.options.interruptible:
        fx.interrupt_check()


def _if(fx: FunctionEmitter, op, imms) -> None:
    dead = fx.dead
    cond = None if dead else fx.pop()
    frame = fx.push_frame("if", imms[0])
    if dead:
        return
    frame.else_label = fx.label("else")
    then_label = fx.label("then")
    frame.param_values = fx.top_values(len(frame.params))
    c = fx.tmp()
    fx.emit(f"{c} = icmp ne i32 {cond}, 0")
    fx.emit(f"br i1 {c}, label %{then_label}, label %{frame.else_label}")
    frame.entry_locals = dict(fx.local_values)  # the then arm changes fx.local_values
    fx.continue_block(then_label)


def _else(fx: FunctionEmitter, op, imms) -> None:
    frame = fx.frames[-1]
    if frame.entered_dead:
        return
    fx.end_arm(frame)
    for ty, v in zip(frame.params, frame.param_values):
        fx.push(ty, v)
    frame.kind = "else"
    frame.dead = False
    fx.start_block(frame.else_label)
    fx.local_values = frame.entry_locals


def _end(fx: FunctionEmitter, op, imms) -> None:
    fx.end_frame()


def _br(fx: FunctionEmitter, op, imms) -> None:
    frame = fx.frames[-1 - imms[0]]
    target = fx.branch_target(frame, fx.label_values(frame))
    fx.emit(f"br label %{target}")
    fx.set_dead()


def _br_if(fx: FunctionEmitter, op, imms) -> None:
    cond = fx.pop()
    frame = fx.frames[-1 - imms[0]]
    c = fx.tmp()
    fx.emit(f"{c} = icmp ne i32 {cond}, 0")
    target = fx.branch_target(frame, fx.label_values(frame))
    cont = fx.label("brif")
    fx.emit(f"br i1 {c}, label %{target}, label %{cont}")
    fx.continue_block(cont)


def _br_table(fx: FunctionEmitter, op, imms) -> None:
    (labels, default) = imms[0]
    index = fx.pop()
    # One landing block per distinct target, so each phi sees one edge per block.
    landing: dict[int, str] = {}
    for depth in (*labels, default):
        if depth not in landing:
            landing[depth] = fx.label("brt")
    cases = " ".join(f"i32 {i}, label %{landing[d]}" for i, d in enumerate(labels))
    fx.emit(f"switch i32 {index}, label %{landing[default]} [ {cases} ]")
    for depth, block in landing.items():
        fx.continue_block(block)  # its only predecessor is the switch
        frame = fx.frames[-1 - depth]
        target = fx.branch_target(frame, fx.label_values(frame))
        fx.emit(f"br label %{target}")
    fx.set_dead()


def _return(fx: FunctionEmitter, op, imms) -> None:
    _br(fx, op, (len(fx.frames) - 1,))


def _unreachable(fx: FunctionEmitter, op, imms) -> None:
    fx.trap("UNREACHABLE")


def _nop(fx: FunctionEmitter, op, imms) -> None:
    pass


def _drop(fx: FunctionEmitter, op, imms) -> None:
    fx.pop()


def _select(fx: FunctionEmitter, op, imms) -> None:
    cond = fx.pop()
    ty, b = fx.pop_typed()
    _, a = fx.pop_typed()
    c = fx.tmp()
    fx.emit(f"{c} = icmp ne i32 {cond}, 0")
    r = fx.tmp()
    fx.emit(f"{r} = select i1 {c}, {ty} {a}, {ty} {b}")
    fx.push(ty, r)


# --- variables --------------------------------------------------------------------

def _local_get(fx: FunctionEmitter, op, imms) -> None:
    x = imms[0]
    ty = fx.local_types[x]
    v = fx.local_values.get(x)
    if v is None:
        v = fx.tmp()
        fx.emit(f"{v} = load {ty}, ptr %l{x}")
        fx.read_locals.add(x)
        fx.local_values[x] = v  # a later local.get here reads the same value
    fx.push(ty, v)


def _local_set(fx: FunctionEmitter, op, imms) -> None:
    x = imms[0]
    _, v = fx.pop_typed()
    _store_local(fx, x, v)


def _local_tee(fx: FunctionEmitter, op, imms) -> None:
    x = imms[0]
    _, v = fx.stack[-1]
    _store_local(fx, x, v)


def _store_local(fx: FunctionEmitter, x: int, v: str) -> None:
    fx.local_stores.setdefault(x, []).append(len(fx.lines))
    fx.emit(f"store {fx.local_types[x]} {v}, ptr %l{x}")
    fx.local_values[x] = v


def _global_get(fx: FunctionEmitter, op, imms) -> None:
    x = imms[0]
    ty = fx.mod.global_llvm_type(x)
    cell = fx.global_cell(x)
    v = fx.tmp()
    if fx.mod.global_is_mutable(x):
        fx.emit(f"{v} = load {ty}, ptr {cell}, align 8")
    else:
        fx.emit(f"{v} = load {ty}, ptr {cell}, align 8, !invariant.load !{fx.mod.empty_md}")
    fx.push(ty, v)


def _global_set(fx: FunctionEmitter, op, imms) -> None:
    x = imms[0]
    _, v = fx.pop_typed()
    cell = fx.global_cell(x)
    fx.emit(f"{store_kind(fx)} {fx.mod.global_llvm_type(x)} {v}, ptr {cell}, align 8")


CONTROL_HANDLERS = {
    "block": _block, "loop": _loop, "if": _if, "else": _else, "end": _end,
    "br": _br, "br_if": _br_if, "br_table": _br_table, "return": _return,
    "unreachable": _unreachable, "nop": _nop, "drop": _drop, "select": _select,
    "select_t": _select, "local.get": _local_get, "local.set": _local_set,
    "local.tee": _local_tee, "global.get": _global_get, "global.set": _global_set,
}
