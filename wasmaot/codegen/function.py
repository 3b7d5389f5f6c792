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

Above -O0, an i32 local that the body uses only as an address (address_locals.py)
has an i64 alloca holding its zero extension, so that a pointer stepping through a
loop is an i64 phi that no access has to extend again.

Unreachable code (after `br`, `return`, `unreachable`, ...) is skipped: only
its block structure is tracked, so a dead `end` pops the right frame.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from ..errors import UnsupportedFeature
from ..wasm.instructions import validated_instructions
from ..wasm.reader import Reader
from ..wasm.types import BlockType, FuncType
from . import abi
from .address_locals import address_locals
from .exceptions import close_scope
from .memory import store_kind, to_i64, unwrapped_sum
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

# A br_table with at least this many labels, inside a loop, branches through a
# table of block addresses (_dispatch): an interpreter's dispatch.  Lua's has 82
# labels; tables of 16-30 labels got slower that way (docs/notes/hot-loops.md).
DISPATCH_MIN_TARGETS = 64
# A dispatch table has at least this many entries (_dispatch).
BYTE_INDEXES = 256

# Callees that leave a function a leaf (FunctionEmitter.makes_call): the trap
# routine never returns, and intrinsics (memcpy, frameaddress, ...) never reach
# wasm code.
_LEAF_CALLEES = ("@wasmaot_rt_trap(", "@llvm.")

# Opcodes that call wasm or host code (call, call_indirect, return_call,
# return_call_indirect, call_ref, return_call_ref): a body without them cannot
# be on a cycle of calls.
_CALL_OPCODES = frozenset(range(0x10, 0x16))
# A function that calls inside a loop, or from more blocks than this, checks the
# stack limit once, at its entry (place_stack_checks): checks in calling blocks inside
# a loop run at every iteration and take registers there, and in a big function
# they cost more than the frame at entry saves (measured: docs/notes/hot-loops.md).
MAX_CHECKED_BLOCKS = 4
# A phi's incoming edge from a block, `, %label ]`.
_PHI_EDGE = re.compile(r", %([A-Za-z0-9_.]+) \]")
_DIRECT_CALL = re.compile(r" @wasm_f(\d+)\(")


def calls_nothing(module, code) -> bool:
    """Whether a function body (a wasm.module Code) has no call instruction of
    any kind.  Most bodies have no byte 0x10-0x15 at all; the others are decoded."""
    body = module.data[code.body_offset:code.end]
    if not _CALL_OPCODES.intersection(body):
        return True
    r = Reader(module.data, code.body_offset, code.end)
    return not any(op.code in _CALL_OPCODES and op.prefix is None
                   for op, _, _ in validated_instructions(r))


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


def _lines_with(text: str, word: str) -> list[int]:
    """The line number of each occurrence of `word` in `text`, in order: found by
    str.find and counted newlines (searches in C; a regular expression tries every
    position in Python's engine)."""
    found = []
    line, pos = 0, 0
    i = text.find(word)
    while i >= 0:
        line += text.count("\n", pos, i)
        pos = i
        found.append(line)
        i = text.find(word, i + 1)
    return found


class FunctionEmitter:
    """Emits one wasm function (an `IRSink` for the lowering modules)."""

    def __init__(self, mod, funcidx: int, functype: FuncType, local_types: list):
        self.mod = mod  # the ModuleEmitter: declarations, types, names
        self.funcidx = funcidx
        self.functype = functype
        self.lines: list[str] = []
        self.heads: list[int] = []  # the index in self.lines of every block's label
        self.stack: list[tuple] = []  # (llvm type, value)
        self.frames: list[Frame] = []
        self.n = 0
        self.cur = "entry"
        self.open_loops = 0  # loop frames open at this point of the body
        self.loop_blocks: set[str] = set()  # blocks started inside a loop
        self.trap_labels: dict[str, str] = {}
        self.coded_traps: list[tuple[str, str]] = []  # (label, i32 trap code value)
        self.local_types = [llvm_type(t) for t in local_types]
        # The i32 locals that live zero-extended in i64 allocas (address_locals.py;
        # set by emit_function above -O0), and the i32 sums (value -> operands)
        # whose extension such a local's store computes in i64.
        self.wide_locals: set = set()
        self.sums: dict = {}
        # Entry-block code: allocas, then loads of instance pointers that never
        # change (memory bases, array pointers), each emitted once per function.
        self.allocas: list[str] = []
        self.prelude: list[str] = []
        self.cached: dict = {}
        # For widemul.py: how i64 values were computed (value -> (op, a, b)).
        self.int_defs: dict = {}
        # For memory.py's address folding: i32 sums with a small negative constant
        # (value -> (X, c)); an SSA value's definition holds wherever it is used.
        self.address_adds: dict = {}
        # Local index -> the value it holds here, as last stored or loaded in this
        # block or a block only it reaches (module doc; start_block forgets them).
        self.local_values: dict = {}
        # An i32 value -> its zero extension to i64 (memory.to_i64), known where
        # the locals' values are (forgotten by start_block): an address used
        # twice is extended once.
        self.widened: dict = {}
        # i32 values that indexed an access of a fold-safe memory on every path to
        # here, so that a small constant added to one cannot wrap (memory.py
        # effective_address, cannot_wrap); known where the locals' values are
        # (start_block forgets them).
        self.accessed: set = set()
        # A comparison's i32 result -> (its i1, the index of its zext line): see condition.
        self.bools: dict = {}
        # The locals some load reads, and where each local is stored (indices
        # into self.lines): a local never loaded needs no stores (drop_unread_locals).
        self.read_locals: set = set()
        self.local_stores: dict = {}
        # Local index -> the index of its last store in the current basic block: a
        # second store there makes the first one dead (_store_local).
        self.block_stores: dict = {}
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

    def emit_bool(self, r: str, cond: str) -> None:
        self.bools[r] = (cond, len(self.lines))
        self.lines.append(f"  {r} = zext i1 {cond} to i32")

    def condition(self, value: str) -> str:
        """An i1 that is true where the i32 `value` (just popped) is nonzero.  For a
        comparison's result (emit_bool) that is the comparison itself, which
        dominates wherever its extension does; and if the extension is the last
        line, nothing has read `value` (every reader emits a line; a value on the
        stack is there once, a local.tee stores it), so it is dropped."""
        known = self.bools.get(value)
        if known is not None:
            cond, at = known
            if at == len(self.lines) - 1:
                self.lines.pop()
            return cond
        c = self.tmp()
        self.emit(f"{c} = icmp ne i32 {value}, 0")
        return c

    def trap_if(self, cond: str, trap: str) -> None:
        target = self.trap_labels.get(trap)
        if target is None:
            target = self.trap_labels[trap] = f"trap_{trap.lower()}"
        self._branch_to_trap(cond, target)

    def trap_code_if(self, cond: str, code: str) -> None:
        """Like trap_if, with the trap's code an i32 value computed here (a block
        of its own per use: the value is this block's)."""
        target = self.label("trap_code")
        self.coded_traps.append((target, code))
        self._branch_to_trap(cond, target)

    def _branch_to_trap(self, cond: str, target: str) -> None:
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
        self.heads.append(len(self.lines))
        self.lines.append(f"{label}:")
        self.cur = label
        if self.open_loops:
            self.loop_blocks.add(label)
        if self.local_values:  # other paths may reach this block with other values
            self.local_values = {}
        if self.widened:  # extensions made in other blocks need not dominate this one
            self.widened = {}
        if self.accessed:
            self.accessed = set()
        if self.block_stores:
            self.block_stores = {}

    def continue_block(self, label: str) -> None:
        """Start a block whose only predecessor is the current block (the
        continuation of a conditional branch or an invoke): the values known for
        the locals dominate it and still hold there, so they are kept."""
        self.heads.append(len(self.lines))
        self.lines.append(f"{label}:")
        self.cur = label
        if self.open_loops:
            self.loop_blocks.add(label)
        if self.block_stores:  # the branch's other target (or the handler) may read them
            self.block_stores = {}

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
        key = ("ctx", name)
        v = self.cached.get(key)
        if v is not None:  # the usual case (every access reads memory 0's base)
            return v

        def address():
            offset = abi.VMCTX.offset(name)
            if offset == 0:
                return [], "%ctx"
            p = self.tmp()
            return [f"{p} = getelementptr inbounds i8, ptr %ctx, i64 {offset}"], p
        return self.invariant_load(key, address)

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
        conv = self.mod.call_conv(self.funcidx)
        params = ", ".join([f"{self.mod.vmctx_param(conv)} %ctx"]
                           + [f"{llvm_type(t)} %p{i}" for i, t in enumerate(ft.params)])
        body = validated_instructions(r)  # decoded once, for the scan and the lowering
        if self.mod.options.opt_level > 0:
            self.wide_locals = address_locals(body, self.local_types)
        self.prologue()
        frame = Frame("func", [], self.result_types, 0, "ret")
        self.frames.append(frame)
        self.lower_body(body)
        self.drop_unread_locals()  # first: it blanks lines by index, which the checks shift
        self.place_stack_checks()
        ret = self.mod.return_type(ft.results)
        personality = f" personality ptr @{abi.PERSONALITY}" if self.has_landing_pad else ""
        header = (f"define {self.mod.linkage} {self.mod.call_conv(self.funcidx)} {ret} "
                  f"@{self.mod.func_symbol(self.funcidx)}({params}) #{self.attribute_group()}"
                  f"{personality}{self.mod.function_prof} {{")
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
        """The shared blocks `trap_if` branches to, one per trap kind used, and
        those of trap_code_if."""
        blocks = [(label, abi.TRAP_CODES[trap]) for trap, label in self.trap_labels.items()]
        out = []
        for label, code in blocks + self.coded_traps:
            out += [f"{label}:", f"  call void @wasmaot_rt_trap(ptr %ctx, i32 {code})",
                    "  unreachable"]
        return out

    def prologue(self) -> None:
        """The locals: the parameters, and zero in the others, stored as
        local.set stores them (so their values are known and their stores
        dropped if never loaded).  (The stack-limit checks come once the body
        is known: place_stack_checks.)"""
        nparams = len(self.functype.params)
        for i, ty in enumerate(self.local_types):
            slot = "i64" if i in self.wide_locals else ty
            self.allocas.append(f"  %l{i} = alloca {slot}")
            _store_local(self, i, f"%p{i}" if i < nparams else zero_value(ty))

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

    def has_small_frame(self) -> bool:
        """True if the function's frame stays under abi.LEAF_FRAME_BYTES: each IR
        line defines at most one value of at most 32 bytes, and at -O0 each may
        get a stack slot of its own; locals are 16 bytes at most."""
        values = len(self.lines) + len(self.prelude)
        return 32 * values + 16 * len(self.allocas) + 1024 <= abi.LEAF_FRAME_BYTES

    def place_stack_checks(self) -> None:
        """The stack-limit check (abi: vmctx->stack_limit points at the limit
        cell; runtime_c/stack.c): at the head of every block that makes a call
        (other than of a function that calls nothing: calls_leaf), not at the
        entry, unless the function calls inside a loop or from many blocks (below).

        Why there: LLVM sets up a function's frame at the entry (no
        shrink-wrapping) as soon as the entry block reads the stack or frame
        pointer, and it needs a frame in any block that reaches a call, a read
        of sp/fp, or a path that never returns (the trap call, or `unreachable`),
        unless a block after it that needs the frame too post-dominates it.  A
        block that calls needs the frame anyway; its check reads the frame
        address, and its failure path (stack_check) rejoins the call, so the
        frame is needed only where calls are, and a path that calls nothing (a
        fast exit) saves no callee-saved register (it sets up the frame pointer
        when it reads the vmctx, a swiftself register: abi.vmctx_param).

        Sound because stack use is unbounded only through calls: every wasm
        frame is entered by a call from a block that checked its caller's frame
        address, or checks its own at its entry (or is entered from the runtime
        at an activation's entry, which is above the limit); the callee's frame may lie below the limit, as it did
        when the check compared the frame address after the prologue, and a
        frame bigger than the margin faults in the guard area first (stack
        probes), which signals.c reports as exhaustion.  A deadline (the cell
        set to the maximum) is seen at the next call, or at a loop header in
        interruptible code.

        A function with a calling block inside a loop (loop_blocks: started while
        a loop frame was open, a superset of the loop's blocks), or with more than
        MAX_CHECKED_BLOCKS calling blocks, or any calling block at -O0 (code not
        made for speed, where a check per block is only more IR to compile:
        lua's -O0 IR 2.5% smaller), checks once at its entry instead:
        mixing is sound, since every cycle of calls then passes either a checked
        call or the entry of a function that checks there.  Direct calls of
        functions that call nothing are not checked (calls_leaf).  A function
        that calls nothing needs no check if its frame is small (the margin holds
        it); a bigger one keeps a check at the entry, after its frame, so that
        the trap routine it may call has the margin to run in."""
        calling, phis = self.calling_blocks()
        if not calling:  # a leaf: calls (makes_call) are read from the IR itself
            if self.has_small_frame():
                return
            calling = [("entry", 0)]
        elif self.mod.options.opt_level == 0 or len(calling) > MAX_CHECKED_BLOCKS or any(
                label in self.loop_blocks for label, _ in calling):
            calling = [("entry", 0)]
        # A checked block's end moves to its second half, `label`.sc: so do the
        # phis' edges from it (renamed first, while `phis` are still their indices).
        renamed = {label: f"{label}.sc" for label, _ in calling}
        lines = self.lines
        for i in phis:
            lines[i] = _PHI_EDGE.sub(lambda m: f", %{renamed.get(m.group(1), m.group(1))} ]", lines[i])
        for label, at in reversed(calling):  # from the end: indices stay valid
            lines[at:at] = self.stack_check(label)

    def calling_blocks(self) -> tuple[list, list]:
        """(label, index of its first line after phis and landingpad) of each basic
        block of self.lines that makes a call other than a leaf's (makes_call), in
        order; and the indices of the phi lines.  The lines to read are found by
        searching the function's text (str.find, in C) rather than by a pass over
        every line in Python (lua: 11,000 blocks, 100,000 lines); the blocks are
        where start_block and continue_block began them (self.heads)."""
        lines, heads = self.lines, self.heads
        text = "\n".join(lines)
        if text.count("\n") != len(lines) - 1:  # the line numbers below would be wrong
            raise AssertionError(f"function {self.funcidx}: a lowered IR line holds a newline")
        found = _lines_with(text, "call ")
        if "invoke " in text:
            found = sorted(found + _lines_with(text, "invoke "))
        calling = []
        known = -1  # the block last found calling
        for line in found:
            k = bisect_right(heads, line)  # heads[k - 1] is this block's label (k = 0: entry)
            if k == known or not self.makes_call(lines[line]):
                continue
            known = k
            head = heads[k - 1] if k else -1
            at = head + 1
            while " = phi " in lines[at] or " = landingpad " in lines[at]:
                at += 1
            calling.append(("entry" if head < 0 else lines[head][:-1], at))
        return calling, _lines_with(text, " = phi ")

    def makes_call(self, line: str) -> bool:
        """Whether IR `line` calls something a stack check must precede: anything
        but the trap routine, LLVM intrinsics and functions that call nothing.
        Read from the IR itself, so that no new kind of call can be forgotten."""
        return (("call " in line or "invoke " in line)
                and not any(callee in line for callee in _LEAF_CALLEES)
                and not self.calls_leaf(line))

    def calls_leaf(self, line: str) -> bool:
        """Whether `line` is a direct call of a defined function that calls
        nothing.  No cycle of calls passes through it, so the call needs no check
        for recursion to trap; and the callee checks its own frame where it needs
        to (its runtime calls; its entry, if it is big).  (Leaves were checked
        by nothing before either.)"""
        m = _DIRECT_CALL.search(line)
        if m is None:
            return False
        funcidx = int(m.group(1))
        known = self.mod.call_free.get(funcidx)
        if known is None:
            mod = self.mod
            calling = mod.ctx.calling  # from validation; None if the bodies were not validated
            if mod.is_imported_func(funcidx):
                known = False
            elif calling is not None:
                known = funcidx not in calling
            else:
                known = calls_nothing(mod.module, mod.module.codes[funcidx - mod.num_imported_funcs])
            mod.call_free[funcidx] = known
        return known

    def stack_check(self, label: str) -> list:
        """Lines that split block `label`: its head compares this frame's
        address with the limit; below it, the failure path stores to the byte
        before the limit cell, which lies in a page the runtime keeps PROT_NONE
        (runtime_c/stack.c), and signals.c makes the fault STACK_EXHAUSTED (or
        INTERRUPT, when a deadline poisoned the limit); the rest of the block
        follows in `label`.sc.  The failure path makes no call and branches on to
        the rest (which it never reaches), so that LLVM can shrink-wrap: a path
        that ends in a call or `unreachable` would need the frame, and then the
        frame would be set up before the block that branches to it.  A volatile
        store: LLVM may assume a load returns, never a volatile store."""
        fail, cont = f"{label}.sf", f"{label}.sc"
        fa, cell, lim, fai, low, below = (self.tmp() for _ in range(6))
        offset = abi.VMCTX.offset("stack_limit")
        address = []
        cellp = "%ctx"
        if offset:  # field 0 is the vmctx's own address (no instruction to parse)
            cellp = self.tmp()
            address = [f"  {cellp} = getelementptr inbounds i8, ptr %ctx, i64 {offset}"]
        return [f"  {fa} = call ptr @llvm.frameaddress.p0(i32 0)",
                *address,
                f"  {cell} = load ptr, ptr {cellp}, align 8",
                f"  {lim} = load i64, ptr {cell}, align 8",
                f"  {fai} = ptrtoint ptr {fa} to i64",
                f"  {low} = icmp ult i64 {fai}, {lim}",
                f"  br i1 {low}, label %{fail}, label %{cont}, !prof !{self.mod.cold_branch}",
                f"{fail}:",
                f"  {below} = getelementptr i8, ptr {cell}, i64 -1",
                f"  store volatile i8 0, ptr {below}, align 1",
                f"  br label %{cont}",
                f"{cont}:"]

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

    def lower_body(self, instrs) -> None:
        """Lowers the body's instructions, (opcode, immediates, offset) each
        (`validated_instructions`, listed once by emit_function)."""
        handlers = self.mod.handlers
        frames = self.frames
        for op, imms, pos in instrs:
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
        if kind == "loop":
            self.open_loops += 1
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
        if frame.kind == "loop":
            self.open_loops -= 1
        if frame.entered_dead:
            return
        if not frame.incoming and not frame.dead and frame.kind in _FALL_THROUGH_KINDS \
                and frame.scope is None:
            self.fall_through(frame)
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

    def fall_through(self, frame: Frame) -> None:
        """End a block, loop or function body that no branch targets: only the
        code before its end reaches it, so that code's basic block goes on there
        (no branch, no label; the results and the locals' known values are the
        ones at hand).  950 of lua's 15,000 blocks (and 430 of 640 `ret:` blocks)."""
        if frame.kind == "loop":
            self.fill_loop_phis(frame)
        values = self.popn(len(frame.results))
        if frame.kind == "func":
            self.emit_ret([v for _, v in values])
            return
        self.stack.extend(values)

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
    common = set(known[0].items())  # (local, value) pairs: intersected in C, not per local
    for k in known[1:]:
        if not common:
            break
        common.intersection_update(k.items())
    return dict(common)


# Frames whose end may be where the code before it simply goes on (fall_through):
# not an if (its else edge) nor a try (its handlers).
_FALL_THROUGH_KINDS = frozenset(("block", "loop", "func"))

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
    c = fx.condition(cond)
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
    c = fx.condition(cond)
    target = fx.branch_target(frame, fx.label_values(frame))
    cont = fx.label("brif")
    fx.emit(f"br i1 {c}, label %{target}, label %{cont}")
    fx.continue_block(cont)


def _br_table(fx: FunctionEmitter, op, imms) -> None:
    (labels, default) = imms[0]
    index = fx.pop()
    # A target that takes values gets a landing block of its own, so that each of
    # its phis sees one edge per block; one that takes none is branched to directly
    # (the switch's block is the edge, and no phi cares how many cases take it).
    targets: dict[int, str] = {}
    landing: dict[int, str] = {}
    for depth in (*labels, default):
        if depth in targets:
            continue
        frame = fx.frames[-1 - depth]
        if frame.label_types:
            targets[depth] = landing[depth] = fx.label("brt")
        else:
            targets[depth] = fx.branch_target(frame, [])
    if len(labels) >= DISPATCH_MIN_TARGETS and any(f.kind == "loop" for f in fx.frames):
        _dispatch(fx, index, [targets[d] for d in labels], targets[default])
    else:
        cases = " ".join(f"i32 {i}, label %{targets[d]}" for i, d in enumerate(labels))
        fx.emit(f"switch i32 {index}, label %{targets[default]} [ {cases} ]")
    for depth, block in landing.items():
        fx.continue_block(block)  # its only predecessor is the switch
        frame = fx.frames[-1 - depth]
        target = fx.branch_target(frame, fx.label_values(frame))
        fx.emit(f"br label %{target}")
    fx.set_dead()


def _dispatch(fx: FunctionEmitter, index: str, cases: list, default: str) -> None:
    """br_table as an indirect branch through a constant table of block addresses,
    the index clamped to the table (entries n and up are the default, at least up
    to 255: then LLVM drops the clamp of an index it knows is a byte, such as an
    opcode loaded by load8_u).  Exact: index < n takes cases[index], any other
    index the default.  What it buys:
    LLVM's switch keeps its range check as a block of its own, so the block that
    dispatches stays shared by every handler that branches back to it; a block
    ending in `indirectbr` is small and branch-free, and the code generator
    copies it into each predecessor (tail duplication), so every handler of an
    interpreter loop dispatches on its own, as native computed-goto code does
    (docs/notes/hot-loops.md).  It costs inlining (LLVM never inlines a function
    with an indirectbr), hence only for big tables inside loops."""
    n = len(cases)
    size = max(n + 1, BYTE_INDEXES)
    table = f"@dispatch.f{fx.funcidx}.{fx.label('t')}"
    func = f"@{fx.mod.func_symbol(fx.funcidx)}"
    targets = (*cases, *[default] * (size - n))
    items = ", ".join(f"ptr blockaddress({func}, %{b})" for b in targets)
    fx.declare(f"{table} = private unnamed_addr constant [{size} x ptr] [{items}]")
    inside, i, w, slot, address = (fx.tmp() for _ in range(5))
    fx.emit(f"{inside} = icmp ult i32 {index}, {size}")
    fx.emit(f"{i} = select i1 {inside}, i32 {index}, i32 {size - 1}")
    fx.emit(f"{w} = zext i32 {i} to i64")
    fx.emit(f"{slot} = getelementptr inbounds [{size} x ptr], ptr {table}, i64 0, i64 {w}")
    fx.emit(f"{address} = load ptr, ptr {slot}, align 8")
    dests = ", ".join(f"label %{b}" for b in dict.fromkeys((*cases, default)))
    fx.emit(f"indirectbr ptr {address}, [{dests}]")


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
    c = fx.condition(cond)
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
        if x in fx.wide_locals:
            w = fx.tmp()
            fx.emit(f"{w} = load i64, ptr %l{x}")
            fx.emit(f"{v} = trunc i64 {w} to i32")
            fx.widened[v] = w  # an access uses the extension as it is
        else:
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


def _extension(fx: FunctionEmitter, v: str) -> str | None:
    """The zero extension of i32 `v` if one is at hand: a literal's, or one
    made earlier (FunctionEmitter.widened)."""
    if v.lstrip("-").isdigit():
        return str(int(v) & 0xFFFFFFFF)
    return fx.widened.get(v)


def _wide_value(fx: FunctionEmitter, v: str) -> str:
    """The zero extension of i32 `v` for an address local's i64 alloca: for a
    sum of values whose extensions are at hand, the sum of those, masked, so
    that a stepping pointer's phi is an i64 (address_locals.py)."""
    operands = fx.sums.get(v)
    if operands is not None and v not in fx.widened:
        # Past an access at the pointer, its step cannot wrap: no mask, so that the
        # loop's pointer is an induction variable LLVM folds into its addresses (an
        # i32 `add nuw` instead would let LLVM keep both widths of values that
        # comparisons read too: docs/notes/address-folding.md).
        stepped = unwrapped_sum(fx, v)
        if stepped is not None:
            return stepped
        a, b = (_extension(fx, o) for o in operands)
        if a is not None and b is not None:
            s, m = fx.tmp(), fx.tmp()
            fx.emit(f"{s} = add i64 {a}, {b}")
            fx.emit(f"{m} = and i64 {s}, 4294967295")
            fx.widened[v] = m
            return m
    return to_i64(fx, "i32", v)


def _store_local(fx: FunctionEmitter, x: int, v: str) -> None:
    wide = _wide_value(fx, v) if x in fx.wide_locals else None
    at = len(fx.lines)
    overwritten = fx.block_stores.get(x)
    if overwritten is not None:
        # Dead: nothing read the local since that store (in this basic block its
        # value is known, so local.get loaded nothing, and no other block ran).
        fx.lines[overwritten] = ""
    fx.block_stores[x] = at
    fx.local_stores.setdefault(x, []).append(at)
    if wide is not None:
        fx.emit(f"store i64 {wide}, ptr %l{x}")
    else:
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
