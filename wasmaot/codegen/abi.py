"""The contract between generated code and the C runtime, defined once.

Generated code and `runtime_c/` must agree on struct layouts, trap codes and
function signatures.  This module is the only place they are written down:
codegen reads the offsets from here, and `c_header()` renders the same
definitions as `wasmaot_abi.h`, which the runtime includes (the driver writes
it next to the runtime's objects at build time; `tests/runtime/test_contract.py`
compiles `_Static_assert`s generated from here against the runtime's view).

Conventions of generated code:

* Every wasm function that a funcref record can reach (and every one, in a module
  with a return_call*) is `tailcc`; the others, reached only by a direct call of
  their own module, are `fastcc` (codegen/module.py call_conv).  In an executable
  (its module alone in the process) without return_call*, every function and every
  call through a record is `fastcc` (module.py record_conv).  All take the
  instance's `wasmaot_vmctx*` first (`ptr swiftself` in `fastcc` ones: vmctx_param),
  then their wasm parameters; each returns
  `void`, its one result, or an LLVM struct of its results.  Value types: i32, i64, f32 (`float`), f64
  (`double`), references as pointers (funcref: `wasmaot_funcref*`, externref:
  an opaque non-null pointer), v128 as `<2 x i64>`.
* A function reference is a pointer to a `wasmaot_funcref` record
  (code, vmctx, type id); `ref.func` of function x is `&vmctx->funcs[x]`.
* Memories never move: `wasmaot_memory.base` is invariant for an instance's
  lifetime (the runtime reserves the whole address range up front).
* Traps from code call `wasmaot_rt_trap(vmctx, code)`, which does not return;
  memory faults in guard regions become traps in the runtime's signal handler,
  and so does a failed stack-limit check (a store to the byte before the limit
  cell, in a page that is never accessible).
"""

from __future__ import annotations

from dataclasses import dataclass

# Bumped when generated code and the runtime stop fitting together (2: memory.fill
# and memory.copy became inline, no longer runtime calls; 3: import descriptors
# carry `exact`, vmctx.interrupt_page; 4: tags and exceptions; 5: exception objects
# are collected: `pins`, the in-flight bit of `referenced`, results pinned by thunks;
# 6: vmctx.memory0_base and global0_cell; 7: a failed stack-limit check stores to
# the byte before the limit cell instead of calling wasmaot_rt_trap; 8: memory
# descriptors carry `folds_adds`, guarded memories a low guard and a page cap;
# 9: the vmctx parameter of fastcc functions and adapters is `swiftself`).
ABI_VERSION = 9


def vmctx_param(conv: str) -> str:
    """How a wasm function (or an adapter a record points to) of calling convention
    `conv` takes the vmctx, and every call of it passes it.  `fastcc`: `ptr
    swiftself`, a register of its own that callees preserve (x86-64 r13, aarch64
    x20), so it stays put across calls (no move into the first argument register
    before each, no spill to keep it) and every argument register is left to wasm
    parameters.  `tailcc`: a plain `ptr` (the first argument register): a tail call
    restores the callee-saved registers before it jumps, which would give the callee
    the caller's vmctx back (LLVM does so for swiftself outside the swift
    conventions).  C never calls these functions (only the IR entry thunks do)."""
    return "ptr swiftself" if conv == "fastcc" else "ptr"


@dataclass(frozen=True)
class Field:
    name: str
    ctype: str  # C declaration type
    size: int
    comment: str


@dataclass(frozen=True)
class Struct:
    name: str
    fields: tuple
    comment: str

    def offset(self, name: str) -> int:
        off = 0
        for f in self.fields:
            if f.name == name:
                return off
            off += f.size
        raise KeyError(name)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.fields)

    def index(self, name: str) -> int:
        return [f.name for f in self.fields].index(name)

    def c_definition(self) -> list[str]:
        """The C declaration of this layout, one field a line, then a blank line."""
        out = [f"/* {self.comment} */", f"struct {self.name} {{"]
        for f in self.fields:
            decl = f.ctype + ("" if f.ctype.endswith("*") else " ") + f.name
            out.append(f"  {decl};{' ' * max(1, 44 - len(decl))}/* {f.comment} */")
        return out + ["};", ""]

    def static_asserts(self) -> list[str]:
        """C lines that fail to compile unless the C compiler lays it out as here."""
        lines = [f'_Static_assert(sizeof(struct {self.name}) == {self.size}, "{self.name} size");']
        for f in self.fields:
            lines.append(f"_Static_assert(offsetof(struct {self.name}, {f.name}) == "
                         f'{self.offset(f.name)}, "{self.name}.{f.name}");')
        return lines


def _f(name: str, ctype: str, comment: str, size: int = 8) -> Field:
    return Field(name, ctype, size, comment)


# All fields are 8 bytes (or explicitly sized), so offsets need no padding rules.

MEMORY = Struct("wasmaot_memory", (
    _f("base", "uint8_t *", "start of the reservation; never moves (invariant)"),
    _f("size", "uint64_t", "current size in bytes (accessible part)"),
    _f("pages", "uint64_t", "current size in pages"),
    _f("max_pages", "uint64_t", "maximum pages: the module's, capped by the embedder's limit"),
    _f("reserved", "uint64_t", "bytes reserved (accessible + guard), for the fault handler"),
    _f("page_size_log2", "uint64_t", "16, or 0 for one-byte pages (custom-page-sizes)"),
    _f("is64", "uint64_t", "1 for an i64-addressed memory"),
), "A linear memory.  Shared between instances that import it.")

TAG = Struct("wasmaot_tag", (
    _f("type_id", "uint64_t", "canonical id of the tag's function type (import matching)"),
    _f("num_values", "uint64_t", "payload values: the type's parameters"),
), "A tag instance.  Its identity is its address: an instance that imports a tag holds "
   "the exporter's pointer, so a catch clause matches by pointer equality.")

# An exception in flight or held as an exnref.  The first four fields are the
# unwinder's `struct _Unwind_Exception` (32 bytes on both targets; the runtime
# static-asserts it); the payload follows as 16-byte cells, one per tag parameter.
# Generated code stores the payload between wasmaot_rt_exception_new and
# wasmaot_rt_throw, and a landing pad reads `tag` and the cells.
EXCEPTION = Struct("wasmaot_exception", (
    _f("exception_class", "uint64_t", "_Unwind_Exception: WASMAOT_EXCEPTION_CLASS"),
    _f("exception_cleanup", "void *", "_Unwind_Exception: frees it if a foreign runtime must"),
    _f("private_1", "uintptr_t", "_Unwind_Exception: the unwinder's"),
    _f("private_2", "uintptr_t", "_Unwind_Exception: the unwinder's"),
    _f("tag", "struct wasmaot_tag *", "the thrown tag instance"),
    _f("num_values", "uint64_t", "payload cells that follow"),
    _f("referenced", "uint64_t", "bit 0: handed out as an exnref (catch_ref, catch_all_ref, "
       "a legacy catch, the embedder), so `catch` must not free it; bit 1: in flight (set by "
       "the throw; generated code's store of 1 when a handler takes it clears it)"),
    _f("next", "struct wasmaot_exception *", "the runtime's list of live exceptions"),
    _f("pins", "uint64_t", "the embedder's holds (wasmaot_exception_pin): never collected "
       "while nonzero"),
    _f("reserved", "uint64_t", "zero; keeps the payload cells 16-byte aligned"),
), "A wasm exception (exnref points here); its payload cells follow it.")
EXCEPTION_VALUES = EXCEPTION.size  # offset of the first payload cell (16-byte aligned)

TABLE = Struct("wasmaot_table", (
    _f("elems", "void **", "element array (may move when the table grows)"),
    _f("size", "uint64_t", "current number of elements"),
    _f("max", "uint64_t", "maximum elements (UINT64_MAX: none)"),
    _f("capacity", "uint64_t", "allocated elements"),
    _f("is64", "uint64_t", "1 for an i64-indexed table"),
), "A table of references (wasmaot_funcref* or externref pointers; NULL is null).")

FUNCREF = Struct("wasmaot_funcref", (
    _f("code", "void *", "the function's code (vmctx first; tailcc, or fastcc in an "
                         "executable: codegen/module.py record_conv)"),
    _f("vmctx", "struct wasmaot_vmctx *", "the instance the code runs in (or a host record)"),
    _f("type_id", "uint64_t", "canonical id of the function's type, for call_indirect"),
), "A function reference: what `ref.func`, tables and imports hold.")

SEGMENT = Struct("wasmaot_segment", (
    _f("data", "const void *", "bytes (data segment) or wasmaot_ref items (element segment)"),
    _f("len", "uint64_t", "length in bytes or items; 0 once dropped"),
), "A passive data or element segment.")

VALUE_SIZE = 16  # one global cell: i32/i64/f32/f64/ref/v128

# Guard-page memories (32-bit index, 64 KiB pages, no explicit checks): the runtime
# reserves GUARDED_RESERVATION bytes per memory and maps only the first `size` of
# them, so code may touch any byte below base + GUARDED_RESERVATION unchecked and an
# out-of-bounds one faults.  codegen/memory.py relies on it only where
# index + offset + width provably stays below it; runtime_c/memory.c reserves it.
GUARD_BYTES = 64 * 1024
GUARDED_RESERVATION = (1 << 33) + GUARD_BYTES

# Address folding (design A, docs/notes/address-folding.md): for an access with memarg
# offset 0 whose address is `i32.add X, c` with -FOLD_MAX_CONSTANT <= c < 0, code
# computes base + zext(X) + c, which is below the base exactly when X + c wraps.  That
# is sound when the memory has FOLD_LOW_GUARD >= FOLD_MAX_CONSTANT bytes of PROT_NONE
# below its base (the access then faults, "out of bounds memory access", as wasm's
# wrapped address ~2^32 - k traps) and never grows past FOLD_MAX_PAGES pages (so
# size <= 2^32 - FOLD_MAX_CONSTANT: every wrapped address is out of bounds forever).
# runtime_c/memory.c gives both to every guarded memory whose minimum allows the cap
# ("fold-safe"); codegen/memory.py folds only for those (MEMORY_DESC.folds_adds).
FOLD_MAX_CONSTANT = 64 * 1024
FOLD_LOW_GUARD = FOLD_MAX_CONSTANT
FOLD_MAX_PAGES = ((1 << 32) - FOLD_MAX_CONSTANT) >> 16

# Small leaf functions (no calls but to the trap routine and LLVM intrinsics) have no
# stack-limit check (codegen/function.py, FunctionEmitter.place_stack_checks): their
# frame, at most LEAF_FRAME_BYTES, may lie below the limit, inside the margin the
# runtime keeps between the limit and the real stack bottom (runtime_c/stack.c
# asserts the margin holds it several times over).
LEAF_FRAME_BYTES = 32 * 1024

VMCTX = Struct("wasmaot_vmctx", (
    _f("stack_limit", "uintptr_t *", "-> the lowest frame address wasm code may reach "
       "(one cell per process, set by the outermost wasmaot_invoke); the cell starts a "
       "page and the page before it is never accessible: a failed check stores to "
       "stack_limit[-1 byte] and the fault is the trap STACK_EXHAUSTED"),
    _f("memories", "struct wasmaot_memory **", "memories, imports first"),
    _f("tables", "struct wasmaot_table **", "tables, imports first"),
    _f("globals", "union wasmaot_value **", "global cells, imports first"),
    _f("funcs", "struct wasmaot_funcref *", "one record per function, imports first"),
    _f("type_ids", "uint64_t *", "canonical id of each module type index"),
    _f("datas", "struct wasmaot_segment *", "data segments"),
    _f("elems", "struct wasmaot_segment *", "element segments"),
    _f("runtime", "struct wasmaot_instance *", "the runtime's bookkeeping for this instance"),
    _f("interrupt_page", "const volatile uint8_t *", "-> a page, readable until a timeout's "
       "deadline passes (one per process); loop headers of interruptible code read a byte "
       "of it, and the fault is the trap INTERRUPT (runtime_c/interrupt.c)"),
    _f("tags", "struct wasmaot_tag **", "tag instances, imports first (an import: the "
       "exporter's)"),
    _f("memory0_base", "uint8_t *", "a copy of memories[0]->base (NULL without memories), "
       "set before any code of the instance runs: one load at a function's entry instead "
       "of three dependent ones (valid because a memory's base never moves)"),
    _f("global0_cell", "union wasmaot_value *", "a copy of globals[0] (NULL without "
       "globals), set before any code of the instance runs: the cell of global 0, which "
       "C compilers make the shadow stack pointer, in one load (cells never move)"),
), "The instance context: the first argument of every wasm function.")

HOST_FUNC = Struct("wasmaot_host_func", (
    _f("callback", "wasmaot_host_callback", "called with (data, args, results); nonzero: failed"),
    _f("data", "void *", "the embedder's pointer (e.g. a Python callable's handle)"),
), "A host (embedder) function.  A funcref to it has code = the importing module's "
   "host adapter for the import's type and vmctx = this record.")

# --- the module descriptor: what generated code tells the runtime -------------------

MEMORY_DESC = Struct("wasmaot_memory_desc", (
    _f("min", "uint64_t", "initial pages"),
    _f("max", "uint64_t", "maximum pages, UINT64_MAX if none"),
    _f("is64", "uint64_t", "1 for i64 addresses"),
    _f("page_size_log2", "uint64_t", "16 or 0"),
    _f("shared", "uint64_t", "1 if shared (threads)"),
    _f("explicit_checks", "uint64_t", "1 if the module's code checks this memory's bounds "
       "itself; 0: it relies on the 8 GiB guard reservation (SANDBOX: the runtime must then "
       "give it a guarded memory)"),
    _f("folds_adds", "uint64_t", "1 if the module's code folds `i32.add X, c` "
       "(-WASMAOT_FOLD_MAX_CONSTANT <= c < 0) into this memory's addresses (SANDBOX: the "
       "memory must then be fold-safe: a low guard and at most WASMAOT_FOLD_MAX_PAGES pages)"),
), "A memory type (imported or defined), and how the module's code accesses it.")

TABLE_DESC = Struct("wasmaot_table_desc", (
    _f("min", "uint64_t", "initial elements"),
    _f("max", "uint64_t", "maximum elements, UINT64_MAX if none"),
    _f("is64", "uint64_t", "1 for i64 indices"),
    _f("reftype", "uint64_t", "WASMAOT_VAL_* of the element type (funcref, externref, ...)"),
), "A table type (imported or defined).")

GLOBAL_DESC = Struct("wasmaot_global_desc", (
    _f("valtype", "uint64_t", "WASMAOT_VAL_* code"),
    _f("mutable", "uint64_t", "1 if mutable"),
), "A global type (imported or defined).")

TAG_DESC = Struct("wasmaot_tag_desc", (
    _f("type_index", "uint64_t", "the tag's function type (a type index of the module)"),
    _f("num_values", "uint64_t", "its parameters: the payload values"),
), "A tag type (imported or defined).")

IMPORT_DESC = Struct("wasmaot_import_desc", (
    _f("module", "const char *", "module name (UTF-8, NUL-terminated)"),
    _f("name", "const char *", "field name"),
    _f("kind", "uint64_t", "WASMAOT_EXTERN_*"),
    _f("index", "uint64_t", "index in its kind's index space"),
    _f("exact", "uint64_t", "1 for an exact function import (custom descriptors, kind 0x20): "
       "the function's type must be the import's type itself, not a strict subtype"),
), "One import, in module order.")

EXPORT_DESC = Struct("wasmaot_export_desc", (
    _f("name", "const char *", "export name"),
    _f("kind", "uint64_t", "WASMAOT_EXTERN_*"),
    _f("index", "uint64_t", "index in its kind's index space"),
), "One export.")

MODULE_DESC = Struct("wasmaot_module_desc", (
    _f("abi_version", "uint64_t", "WASMAOT_ABI_VERSION"),
    _f("num_types", "uint64_t", "type indices"),
    _f("type_canon", "const uint64_t *", "per type: index of its canonical representative"),
    _f("type_super", "const int64_t *", "per type: declared supertype's representative, or -1"),
    _f("num_funcs", "uint64_t", "functions, imports included"),
    _f("num_imported_funcs", "uint64_t", "imported functions (the first ones)"),
    _f("func_code", "void *const *", "per function: code (NULL for imports)"),
    _f("func_type", "const uint64_t *", "per function: type index"),
    _f("host_adapters", "void *const *", "per imported function: adapter calling a host record"),
    _f("func_names", "const char *const *", "per function: name for backtraces, or NULL"),
    _f("num_memories", "uint64_t", "memories, imports included"),
    _f("num_imported_memories", "uint64_t", ""),
    _f("memories", "const struct wasmaot_memory_desc *", "per memory"),
    _f("num_tables", "uint64_t", "tables, imports included"),
    _f("num_imported_tables", "uint64_t", ""),
    _f("tables", "const struct wasmaot_table_desc *", "per table"),
    _f("num_globals", "uint64_t", "globals, imports included"),
    _f("num_imported_globals", "uint64_t", ""),
    _f("globals", "const struct wasmaot_global_desc *", "per global"),
    _f("num_datas", "uint64_t", "data segments"),
    _f("datas", "const struct wasmaot_segment *", "per data segment: its bytes (wasmaot "
       "fills the instance's copy from its module image in `init`: this table is zeroed)"),
    _f("num_elems", "uint64_t", "element segments"),
    _f("elem_lengths", "const uint64_t *", "per element segment: number of items"),
    _f("init", "wasmaot_init_fn", "evaluates globals, table and element initializers, then "
       "applies active segments, in spec order (may trap)"),
    _f("start", "int64_t", "start function index, or -1"),
    _f("entry_thunks", "wasmaot_entry_fn const *", "per type index: C-callable thunk (NULL for "
       "types no function has; types of one signature share a thunk)"),
    _f("num_imports", "uint64_t", ""),
    _f("imports", "const struct wasmaot_import_desc *", ""),
    _f("num_exports", "uint64_t", ""),
    _f("exports", "const struct wasmaot_export_desc *", ""),
    _f("num_tags", "uint64_t", "tags, imports included"),
    _f("num_imported_tags", "uint64_t", ""),
    _f("tags", "const struct wasmaot_tag_desc *", "per tag"),
), "Everything the runtime needs to instantiate a compiled module.  Generated code "
   "defines one, named `wasmaot_module`.")

STRUCTS = (MEMORY, TAG, EXCEPTION, TABLE, FUNCREF, SEGMENT, VMCTX, HOST_FUNC, MEMORY_DESC, TABLE_DESC,
           GLOBAL_DESC, TAG_DESC, IMPORT_DESC, EXPORT_DESC, MODULE_DESC)

# Codes used in descriptors.
EXTERN_KINDS = {"func": 0, "table": 1, "memory": 2, "global": 3, "tag": 4}
VALTYPE_CODES = {"i32": 0x7F, "i64": 0x7E, "f32": 0x7D, "f64": 0x7C, "v128": 0x7B,
                 "funcref": 0x70, "externref": 0x6F, "anyref": 0x6E, "exnref": 0x69}

# --- traps ----------------------------------------------------------------------
# Code, C name, message: wasmtime's texts, which users see.  (The spec
# testsuite words a few differently, e.g. "null function reference" for a
# null `call_ref`; the wast runner accepts those as aliases, as wasmtime's does.)

TRAPS = (
    (1, "UNREACHABLE", "wasm `unreachable` instruction executed"),
    (2, "MEMORY_OOB", "out of bounds memory access"),
    (3, "INT_DIV_ZERO", "integer divide by zero"),
    (4, "INT_OVERFLOW", "integer overflow"),
    (5, "BAD_CONVERSION", "invalid conversion to integer"),
    (6, "INDIRECT_CALL_TYPE", "indirect call type mismatch"),
    (7, "TABLE_OOB", "undefined element: out of bounds table access"),
    (8, "UNINITIALIZED_ELEMENT", "uninitialized element"),
    (9, "NULL_REFERENCE", "null reference"),
    (10, "STACK_EXHAUSTED", "call stack exhausted"),
    (11, "HOST", "host function failed"),
    (12, "MISALIGNED", "misaligned memory access"),
    # The deadline of --timeout / the API's timeout passed (runtime_c/interrupt.c).
    (13, "INTERRUPT", "interrupt"),
    # Not a trap: an exception that no handler caught left the activation (the API
    # raises it with its tag and payload; an executable exits 1, as wasmtime does).
    (14, "EXCEPTION", "thrown Wasm exception"),
)
TRAP_CODES = {name: code for code, name, _ in TRAPS}
TRAP_MESSAGES = {code: message for code, _, message in TRAPS}

# --- runtime functions called by generated code -----------------------------------
# name -> (LLVM return type, LLVM parameter types, attributes)

RUNTIME_FUNCTIONS = {
    "wasmaot_rt_trap": ("void", ("ptr", "i32"), "noreturn cold nounwind"),
    "wasmaot_rt_memory_grow": ("i64", ("ptr", "i32", "i64"), "nounwind"),
    "wasmaot_rt_memory_init": ("void", ("ptr", "i32", "i32", "i64", "i64", "i64"), "nounwind"),
    "wasmaot_rt_data_drop": ("void", ("ptr", "i32"), "nounwind"),
    "wasmaot_rt_table_grow": ("i64", ("ptr", "i32", "ptr", "i64"), "nounwind"),
    "wasmaot_rt_table_fill": ("void", ("ptr", "i32", "i64", "ptr", "i64"), "nounwind"),
    "wasmaot_rt_table_copy": ("void", ("ptr", "i32", "i32", "i64", "i64", "i64"), "nounwind"),
    "wasmaot_rt_table_init": ("void", ("ptr", "i32", "i32", "i64", "i64", "i64"), "nounwind"),
    "wasmaot_rt_elem_drop": ("void", ("ptr", "i32"), "nounwind"),
    "wasmaot_rt_func_type_matches": ("i32", ("ptr", "i64", "i64"), "nounwind readonly"),
    "wasmaot_rt_host_call": ("void", ("ptr", "ptr", "ptr"), ""),
    # Exceptions (docs/RATIONALE.md, "Exceptions").  A new exception of tag index i of the
    # calling instance, its cells uninitialized; throwing it (or an exnref: throw_ref)
    # unwinds to the innermost landing pad; a `catch`/`catch_all` frees what no exnref
    # can name any more (`referenced` == 0); an entry thunk's pad hands an exception
    # that escaped the activation to the runtime (which ends it with EXCEPTION); an
    # entry thunk pins each exnref result it hands to the embedder (NULL: nothing).
    # A referenced object is freed by the runtime's collector (runtime_c/exception.c).
    "wasmaot_rt_exception_new": ("ptr", ("ptr", "i32"), "nounwind"),
    "wasmaot_rt_throw": ("void", ("ptr", "ptr"), "noreturn cold"),
    "wasmaot_rt_exception_free": ("void", ("ptr", "ptr"), "nounwind"),
    "wasmaot_rt_exception_escaped": ("void", ("ptr", "ptr"), "noreturn cold nounwind"),
    "wasmaot_rt_exception_hand_out": ("void", ("ptr", "ptr"), "nounwind"),
}

# The personality routine of every function with a landing pad (runtime_c): it installs
# the pad of the call site whatever the exception's tag (the pad's code tests tags
# against the vmctx) and skips exceptions of other classes.
PERSONALITY = "wasmaot_personality"
# _Unwind_Exception.exception_class of wasm exceptions: "WASM\0AOT" as the unwinder
# reads 8 bytes (vendor "WASMAOT", language 0).
EXCEPTION_CLASS = int.from_bytes(b"WASMAOT\0", "big")


def c_header() -> str:
    """`wasmaot_abi.h`: the layouts and trap codes above, for the C runtime."""
    out = [
        "/* Generated by wasmaot/codegen/abi.py: do not edit. */",
        "#ifndef WASMAOT_ABI_H",
        "#define WASMAOT_ABI_H",
        "#include <stdint.h>",
        "",
        f"#define WASMAOT_ABI_VERSION {ABI_VERSION}",
        "",
        "/* One global cell. */",
        "union wasmaot_value {",
        "  int32_t i32; int64_t i64; float f32; double f64; void *ref; uint8_t v128[16];",
        "};",
        "",
        "struct wasmaot_instance;",
        "struct wasmaot_vmctx;",
        "",
        "/* A host function: returns 0, or nonzero if it failed (the call then unwinds).*/",
        "typedef int (*wasmaot_host_callback)(void *data, union wasmaot_value *args,",
        "                                     union wasmaot_value *results);",
        "/* The module's initializer: globals, tables, elements, active segments. */",
        "typedef void (*wasmaot_init_fn)(struct wasmaot_vmctx *vmctx);",
        "/* Calls `code` (a wasm function of one type) with args/results in cells. */",
        "typedef void (*wasmaot_entry_fn)(void *code, struct wasmaot_vmctx *vmctx,",
        "                                 union wasmaot_value *args, union wasmaot_value *results);",
        "",
    ]
    for s in STRUCTS:
        out += s.c_definition()
    out.append("/* Trap codes; the message of each is wasmtime's. */")
    out.append("enum wasmaot_trap {")
    out.append("  WASMAOT_TRAP_NONE = 0,")
    for code, name, message in TRAPS:
        out.append(f"  WASMAOT_TRAP_{name} = {code},{' ' * max(1, 28 - len(name))}/* {message} */")
    out.append("};")
    out.append("")
    out.append(f"#define WASMAOT_EXCEPTION_CLASS {EXCEPTION_CLASS:#x}ull")
    out.append("/* The payload cells of an exception, right after it. */")
    out.append("#define WASMAOT_EXCEPTION_VALUES(e) ((union wasmaot_value *)((struct wasmaot_exception *)(e) + 1))")
    out.append(f"#define WASMAOT_PERSONALITY {PERSONALITY}")
    out.append("")
    out.append("/* Bytes reserved for a guard-page memory (see abi.py). */")
    out.append(f"#define WASMAOT_GUARD_BYTES {GUARD_BYTES}ull")
    out.append(f"#define WASMAOT_GUARDED_RESERVATION {GUARDED_RESERVATION}ull")
    out.append("/* Address folding: the largest folded constant, the guard below a fold-safe")
    out.append(" * memory's base, and its page cap (see abi.py). */")
    out.append(f"#define WASMAOT_FOLD_MAX_CONSTANT {FOLD_MAX_CONSTANT}ull")
    out.append(f"#define WASMAOT_FOLD_LOW_GUARD {FOLD_LOW_GUARD}ull")
    out.append(f"#define WASMAOT_FOLD_MAX_PAGES {FOLD_MAX_PAGES}ull")
    out.append("/* The largest frame of a function compiled with no stack-limit check. */")
    out.append(f"#define WASMAOT_LEAF_FRAME_BYTES {LEAF_FRAME_BYTES}ull")
    for kind, code in EXTERN_KINDS.items():
        out.append(f"#define WASMAOT_EXTERN_{kind.upper()} {code}")
    for name, code in VALTYPE_CODES.items():
        out.append(f"#define WASMAOT_VAL_{name.upper()} {code:#x}")
    out.append("")
    out.append("#define WASMAOT_TRAP_MESSAGES { \\")
    out.append('  [0] = "no trap", \\')
    for code, name, message in TRAPS:
        out.append(f'  [WASMAOT_TRAP_{name}] = "{message}", \\')
    out.append("}")
    out.append("")
    out.append("#endif")
    return "\n".join(out) + "\n"


def static_asserts() -> str:
    """C lines checking the runtime's compiler agrees with every offset above."""
    lines = ["#include <stddef.h>", '#include "wasmaot_abi.h"']
    for s in STRUCTS:
        lines += s.static_asserts()
    lines.append(f"_Static_assert(sizeof(union wasmaot_value) == {VALUE_SIZE}, \"value size\");")
    lines.append(f"_Static_assert(WASMAOT_GUARDED_RESERVATION == {GUARDED_RESERVATION}ull, "
                 "\"guard reservation\");")
    for name, value in (("FOLD_MAX_CONSTANT", FOLD_MAX_CONSTANT), ("FOLD_LOW_GUARD", FOLD_LOW_GUARD),
                        ("FOLD_MAX_PAGES", FOLD_MAX_PAGES)):
        lines.append(f"_Static_assert(WASMAOT_{name} == {value}ull, \"{name.lower()}\");")
    lines.append(f"_Static_assert(WASMAOT_LEAF_FRAME_BYTES == {LEAF_FRAME_BYTES}ull, "
                 "\"leaf frame bound\");")
    return "\n".join(lines) + "\n"
