/* wasmaot runtime: the embedder's API and the functions generated code calls.
 *
 * Layouts shared with generated code (vmctx, memory, table, funcref, segment,
 * host function, module descriptor), trap codes and descriptor codes live in
 * `wasmaot_abi.h`, which is GENERATED from wasmaot/codegen/abi.py into the
 * build directory (never copied by hand).  This header adds what only C and
 * the embedder see: configuration, instances, imports, trap reports.
 *
 * Model.  A compiled module defines `wasmaot_module` (a descriptor).  The
 * embedder creates an instance from it (`wasmaot_instance_new`), runs its
 * initializers and start function (`wasmaot_instance_init`), then calls
 * functions through the module's entry thunks (`wasmaot_invoke`).  Every entry
 * into wasm code goes through an *activation*: a trap unwinds to the innermost
 * activation on the calling thread, which returns the trap code; the process
 * and the instance stay usable.
 *
 * Threads.  The stack limit generated code checks is one cell per process
 * (abi.py: vmctx.stack_limit), so wasm runs on one thread at a time: the
 * outermost activation on a thread holds a process-wide (recursive) lock until
 * it returns.  Host callbacks may call back into wasm on the same thread
 * (nested activations); a host callback that waits for *another* thread
 * running wasm deadlocks.
 *
 * Signals.  wasmaot_runtime_init installs handlers for SIGSEGV, SIGBUS, SIGFPE
 * and SIGILL that turn faults in wasm into traps and pass every other fault to
 * the handler installed before them.  A crash reporter installed AFTER the
 * runtime (e.g. Python's faulthandler.enable() called late) sees wasm faults
 * first and kills the process: install such reporters before loading the
 * runtime.  The runtime must be loaded once per process (one shared library).
 *
 * Lifetimes.  Memories, tables and globals are reference-counted and may
 * outlive the instance that created them.  A function reference borrows its
 * instance (and a host function record is borrowed): the embedder keeps an
 * instance alive while any table, global or other instance may hold its
 * functions, as wasmtime's Store does.
 *
 * Errors.  Embedder calls return NULL / -1 and write one line to `errbuf`;
 * calls into wasm return 0 or a WASMAOT_TRAP_* code and fill a
 * `wasmaot_trap_info`.  Host failures the runtime cannot recover from (mmap of
 * the signal stack, munmap) print a message and abort().
 */
#ifndef WASMAOT_RT_H
#define WASMAOT_RT_H

#include <stddef.h>
#include <stdint.h>

#include "wasmaot_abi.h"

#if UINTPTR_MAX != UINT64_MAX
#error "wasmaot's runtime needs a 64-bit host (the 8 GiB memory reservations)"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols the runtime exports (everything else is hidden). */
#define WASMAOT_RT_API __attribute__((visibility("default")))

/* --- build switches ---------------------------------------------------------
 * Each may be overridden with -D when the runtime is built.  None of them can
 * weaken the sandbox: sizes that bound memory accesses are not switches.      */

/* Default and largest-sensible wasm stack, in bytes.  Default 512 KiB, as
 * wasmtime's `max_wasm_stack`.  Overridden per process by
 * `wasmaot_config.max_wasm_stack` given to wasmaot_runtime_init. */
#ifndef WASMAOT_RT_DEFAULT_MAX_WASM_STACK
#define WASMAOT_RT_DEFAULT_MAX_WASM_STACK (512u * 1024u)
#endif

/* Bytes kept free between the stack limit and the thread's real stack bottom.
 * Default 256 KiB.  The trap path (wasmaot_rt_trap, the backtrace walk) and any
 * host callback called from the deepest wasm frame run in this margin, so it
 * must hold a Python callback's C frames.  On a thread whose stack is too
 * small for max_wasm_stack plus this margin, wasm gets what is left. */
#ifndef WASMAOT_RT_STACK_MARGIN
#define WASMAOT_RT_STACK_MARGIN (256u * 1024u)
#endif

/* Size of the per-thread alternate signal stack the fault handler runs on.
 * Default 64 KiB; an existing alternate stack at least this big is reused. */
#ifndef WASMAOT_RT_ALTSTACK_SIZE
#define WASMAOT_RT_ALTSTACK_SIZE (64u * 1024u)
#endif

/* Largest reservation for a memory that is bounds-checked in code (memory64,
 * --bounds-checks=explicit, one-byte pages) and has no smaller maximum.
 * Default 16 GiB of address space (not of RAM).  Such a memory can never
 * grow past its reservation, because its base never moves; growing beyond
 * fails as `memory.grow` may. */
#ifndef WASMAOT_RT_MAX_EXPLICIT_RESERVATION
#define WASMAOT_RT_MAX_EXPLICIT_RESERVATION (16ull << 30)
#endif

/* Default cap on a table's elements (`wasmaot_config.max_table_elements` = 0).
 * Default 10,000,000 (80 MB of element array). */
#ifndef WASMAOT_RT_DEFAULT_MAX_TABLE_ELEMENTS
#define WASMAOT_RT_DEFAULT_MAX_TABLE_ELEMENTS 10000000ull
#endif

/* Frames kept in a trap report (the innermost ones).  Part of the layout of
 * `struct wasmaot_trap_info`: wasmaot/_ffi.py declares the same number. */
#define WASMAOT_TRAP_MAX_FRAMES 64

/* Import kind for a host function (`wasmaot_extern.of.host`); the other
 * kinds are the descriptor's WASMAOT_EXTERN_* codes. */
#define WASMAOT_EXTERN_HOST_FUNC 16
/* Import kind for a function bound when the module was compiled (`wasmaot build`:
 * WASI and --link functions): the module's own adapter (desc->host_adapters[i])
 * calls a C function with the importing instance's vmctx.  `of` is unused. */
#define WASMAOT_EXTERN_NATIVE_FUNC 17

/* A host callback's return value: throw the exception given to
 * wasmaot_host_throw (0 is success, any other value a failure: trap HOST). */
#define WASMAOT_HOST_THROW 2

/* --- configuration -------------------------------------------------------- */

struct wasmaot_config {
  /* Largest size of any one memory, in bytes; 0: only the module's maximum.
   * Applies to memories created by wasmaot_instance_new / wasmaot_memory_new. */
  uint64_t max_memory_bytes;
  /* Wasm stack in bytes; 0: WASMAOT_RT_DEFAULT_MAX_WASM_STACK.  Process-wide
   * (there is one stack-limit cell): read only by wasmaot_runtime_init. */
  uint64_t max_wasm_stack;
  /* 1 if the module's code checks memory bounds itself (compiled with
   * --bounds-checks=explicit).  0: its 32-bit, 64 KiB-page memories rely on
   * the 8 GiB guard reservation, and instantiation refuses an imported memory
   * that lacks one.  Must match how the module was compiled: wasmaot_instance_new
   * refuses 1 for a module whose code relies on guard pages (its memory
   * descriptors say so), which would otherwise get memories without them. */
  uint64_t explicit_bounds_checks;
  /* Largest size of any one table, in elements; 0: the default above. */
  uint64_t max_table_elements;
};

/* --- traps ---------------------------------------------------------------- */

/* One wasm frame of a backtrace: the module and the function index in it
 * (its name: module->func_names[func_index], which may be NULL). */
struct wasmaot_frame {
  const struct wasmaot_module_desc *module;
  uint64_t func_index;
};

/* Filled by a call into wasm that trapped.  frames[0] is the innermost frame
 * (where the trap happened); frames stop at the activation's entry.
 * WASMAOT_TRAP_EXCEPTION is no trap: a wasm exception no handler caught left
 * the call; `exception` is it (frames: where it was thrown). */
struct wasmaot_trap_info {
  int32_t code;             /* enum wasmaot_trap; WASMAOT_TRAP_NONE if none */
  uint32_t nframes;         /* frames stored (<= WASMAOT_TRAP_MAX_FRAMES) */
  uint64_t total_frames;    /* wasm frames found; more than nframes if cut */
  const char *message;      /* wasmtime's text for `code` (static string) */
  /* code EXCEPTION: the exception, else NULL, pinned for the caller (see
   * wasmaot_exception_pin: release it with wasmaot_exception_unpin); read its
   * `tag` and wasmaot_exception_values, or throw it again with wasmaot_host_throw. */
  struct wasmaot_exception *exception;
  struct wasmaot_frame frames[WASMAOT_TRAP_MAX_FRAMES];
};

/* --- embedder objects -------------------------------------------------------- */

/* A global: generated code reads and writes `value` (vmctx->globals[i]
 * points at it).  Create with wasmaot_global_new or get an instance's. */
struct wasmaot_global {
  union wasmaot_value value; /* the cell (first: 16-byte aligned) */
  uint64_t valtype;          /* WASMAOT_VAL_* */
  uint64_t mutable;          /* 1 if mutable */
  uint64_t refcount;         /* private to the runtime */
};

/* One import, given in the order of the descriptor's `imports`. */
struct wasmaot_extern {
  uint64_t kind; /* WASMAOT_EXTERN_FUNC/TABLE/MEMORY/GLOBAL, or WASMAOT_EXTERN_HOST_FUNC */
  union {
    /* FUNC: another instance's function; the record is copied, its instance
     * must outlive this one.  Its type_id must match (or be a subtype of)
     * the import's type; for an exact import (import desc `exact`), be it. */
    const struct wasmaot_funcref *func;
    /* HOST_FUNC: called through the module's host adapter; borrowed, must
     * outlive the instance.  Its type is the import's (the embedder checks). */
    struct wasmaot_host_func *host;
    struct wasmaot_memory *memory; /* MEMORY: shared, retained by the instance */
    struct wasmaot_table *table;   /* TABLE: shared, retained */
    struct wasmaot_global *global; /* GLOBAL: shared, retained */
    /* TAG: another instance's (wasmaot_instance_tag) or a host-made tag
     * (wasmaot_tag_new); borrowed, must outlive the instance and every
     * exception of it.  Its type_id must be the import's type's. */
    struct wasmaot_tag *tag;
  } of;
};

/* --- the embedder API ---------------------------------------------------------- */

/* Installs the fault handlers (once per process; idempotent) and, if config
 * is not NULL, sets the process's max_wasm_stack.  Returns 0. */
WASMAOT_RT_API int wasmaot_runtime_init(const struct wasmaot_config *config);

/* wasmtime's message for a trap code ("unknown trap" if out of range). */
WASMAOT_RT_API const char *wasmaot_trap_message(int32_t code);

/* Registers canonical type `id` with declared supertype `super_id` (-1: none)
 * in the process-wide registry wasmaot_rt_func_type_matches reads.  Returns
 * 0, or -1 if `id` is already registered with another supertype, the chain
 * would be cyclic or deeper than 64, or `id` >= 2^24. */
WASMAOT_RT_API int wasmaot_rt_register_type(uint64_t id, int64_t super_id);

/* Reserves `n` fresh consecutive type ids for one embedder (an engine, or an
 * instance created without type_ids) so that independent users of the process
 * never give one id two meanings.  Returns the first, or -1 if exhausted. */
WASMAOT_RT_API int64_t wasmaot_rt_reserve_type_ids(uint64_t n);

/* Creates an instance: allocates the vmctx, links `imports` (desc->num_imports
 * entries, descriptor order), creates defined memories, tables and globals.
 * `type_ids`: per type index, its process-wide canonical id (registered by
 * the embedder), or NULL to use the descriptor's own canonical indices (and
 * register them: only for a process holding one module, e.g. an executable).
 * `config` may be NULL (defaults).  Nothing is initialized yet: call
 * wasmaot_instance_init.  Returns NULL with a message on a link error or an
 * unsatisfiable limit. */
WASMAOT_RT_API struct wasmaot_instance *wasmaot_instance_new(
    const struct wasmaot_module_desc *desc, const struct wasmaot_extern *imports,
    const uint64_t *type_ids, const struct wasmaot_config *config, char *errbuf,
    size_t errlen);

/* Runs desc->init (globals, tables, element items, active segments) and then
 * the start function, under an activation.  Returns 0 or the trap code (the
 * spec's partial effects of active segments stay visible). */
WASMAOT_RT_API int32_t wasmaot_instance_init(struct wasmaot_instance *inst,
                                             struct wasmaot_trap_info *trap);

/* Interruption.  After `timeout_ns` nanoseconds from now, wasm code running
 * (or entered later) traps WASMAOT_TRAP_INTERRUPT ("interrupt") at its next
 * function entry, and at its next loop header if it was compiled interruptible
 * (`wasmaot build --timeout`, the API's interruptible=True; without that a loop
 * that calls nothing is not stopped).  One deadline per process, measured on
 * CLOCK_MONOTONIC by a watchdog thread started on first use; a new call
 * replaces the deadline, 0 cancels it.  Call it outside wasm (not from a host
 * callback).  Returns 0, or -1 if the watchdog cannot be started. */
WASMAOT_RT_API int wasmaot_set_timeout(uint64_t timeout_ns);

/* Releases the instance's memories/tables/globals and frees it. */
WASMAOT_RT_API void wasmaot_instance_free(struct wasmaot_instance *inst);

/* Calls `func` through `thunk` (its type's desc->entry_thunks[typeidx]) with
 * args/results in cells, under an activation.  Returns 0, or the trap code
 * with `trap` filled (trap may be NULL).  Nested calls from host callbacks
 * are fine. */
WASMAOT_RT_API int32_t wasmaot_invoke(wasmaot_entry_fn thunk, const struct wasmaot_funcref *func,
                                      union wasmaot_value *args, union wasmaot_value *results,
                                      struct wasmaot_trap_info *trap);

/* Accessors by index in each index space (imports first); NULL if out of range. */
WASMAOT_RT_API struct wasmaot_vmctx *wasmaot_instance_vmctx(struct wasmaot_instance *inst);
WASMAOT_RT_API const struct wasmaot_module_desc *wasmaot_instance_module(
    struct wasmaot_instance *inst);
WASMAOT_RT_API struct wasmaot_memory *wasmaot_instance_memory(struct wasmaot_instance *inst,
                                                              uint64_t index);
WASMAOT_RT_API struct wasmaot_table *wasmaot_instance_table(struct wasmaot_instance *inst,
                                                            uint64_t index);
WASMAOT_RT_API struct wasmaot_global *wasmaot_instance_global(struct wasmaot_instance *inst,
                                                              uint64_t index);
WASMAOT_RT_API const struct wasmaot_funcref *wasmaot_instance_func(struct wasmaot_instance *inst,
                                                                   uint64_t index);

/* Host-made memories (refcount 1).  `config` may be NULL; its
 * explicit_bounds_checks = 1 makes a 32-bit memory without the guard
 * reservation (importable only by modules compiled with explicit checks).
 * A guarded memory whose minimum is at most WASMAOT_FOLD_MAX_PAGES also has the
 * low guard that address folding needs, and never grows past that many pages. */
WASMAOT_RT_API struct wasmaot_memory *wasmaot_memory_new(const struct wasmaot_memory_desc *type,
                                                         const struct wasmaot_config *config,
                                                         char *errbuf, size_t errlen);
/* memory.grow from the host: old size in pages, or -1. */
WASMAOT_RT_API int64_t wasmaot_memory_grow(struct wasmaot_memory *mem, uint64_t delta_pages);
/* 1 if the memory has the 8 GiB + guard reservation guard-page code needs. */
WASMAOT_RT_API int wasmaot_memory_is_guarded(const struct wasmaot_memory *mem);
WASMAOT_RT_API void wasmaot_memory_retain(struct wasmaot_memory *mem);
WASMAOT_RT_API void wasmaot_memory_release(struct wasmaot_memory *mem);

/* Host-made tables (refcount 1), every element `init`.  `config` may be NULL. */
WASMAOT_RT_API struct wasmaot_table *wasmaot_table_new(const struct wasmaot_table_desc *type,
                                                       void *init,
                                                       const struct wasmaot_config *config,
                                                       char *errbuf, size_t errlen);
/* table.grow from the host: old size, or -1. */
WASMAOT_RT_API int64_t wasmaot_table_grow(struct wasmaot_table *table, uint64_t delta,
                                          void *init);
WASMAOT_RT_API void wasmaot_table_retain(struct wasmaot_table *table);
WASMAOT_RT_API void wasmaot_table_release(struct wasmaot_table *table);

/* Host-made globals (refcount 1); `init` may be NULL (zero). */
WASMAOT_RT_API struct wasmaot_global *wasmaot_global_new(uint64_t valtype, uint64_t mutable_,
                                                         const union wasmaot_value *init);
WASMAOT_RT_API void wasmaot_global_retain(struct wasmaot_global *global);
WASMAOT_RT_API void wasmaot_global_release(struct wasmaot_global *global);

/* Tags and exceptions (runtime_c/exception.c).  A tag's identity is its
 * address; `struct wasmaot_tag` and `struct wasmaot_exception` are in
 * wasmaot_abi.h (read e->tag, e->num_values).  An instance's defined tags live
 * as long as it does, so, as with its functions, the embedder keeps an
 * instance alive while any exception of its tags may still be caught or read. */

/* Tag `index` (imports first) of an instance, or NULL if out of range. */
WASMAOT_RT_API struct wasmaot_tag *wasmaot_instance_tag(struct wasmaot_instance *inst,
                                                        uint64_t index);
/* A host-made tag: `type_id` is the canonical id of its function type (as
 * given to wasmaot_instance_new), `num_values` its parameter count.  NULL if
 * out of memory.  Free with wasmaot_tag_free once nothing uses it. */
WASMAOT_RT_API struct wasmaot_tag *wasmaot_tag_new(uint64_t type_id, uint64_t num_values);
WASMAOT_RT_API void wasmaot_tag_free(struct wasmaot_tag *tag);
/* Exceptions the embedder names are collected like wasm's (exception.c) once
 * nothing names them: the runtime sees wasm's stacks, globals, tables and
 * payloads, not the embedder's memory.  So every reference the embedder keeps
 * holds a *pin*, released with wasmaot_exception_unpin when it is dropped.
 * Pinned for the caller: wasmaot_exception_new's result, trap->exception, an
 * exnref result of wasmaot_invoke, what the load functions return.  An exnref
 * argument of a host callback is seen by the runtime until the callback
 * returns; pin it to keep it longer.  Pin before the place it was read from
 * may change (the load functions do it under the runtime's lock). */
WASMAOT_RT_API void wasmaot_exception_pin(struct wasmaot_exception *exn);
/* Releases one pin (NULL: nothing; never below zero). */
WASMAOT_RT_API void wasmaot_exception_unpin(struct wasmaot_exception *exn);
/* The exnref in `cell` (a global's value), pinned; NULL if null. */
WASMAOT_RT_API struct wasmaot_exception *wasmaot_exception_load(void *const *cell);
/* Element `index` of an exnref table, pinned; NULL if null or out of range. */
WASMAOT_RT_API struct wasmaot_exception *wasmaot_exception_load_element(
    struct wasmaot_table *table, uint64_t index);
/* A new exception of `tag` with `values` (tag->num_values cells; NULL: zeros),
 * for a host function to throw, pinned for the caller.  NULL if out of memory. */
WASMAOT_RT_API struct wasmaot_exception *wasmaot_exception_new(struct wasmaot_tag *tag,
                                                               const union wasmaot_value *values);
/* Its payload cells (exn->num_values of them). */
WASMAOT_RT_API union wasmaot_value *wasmaot_exception_values(struct wasmaot_exception *exn);
/* From a host callback: throw `exn` into the calling wasm code once the
 * callback returns WASMAOT_HOST_THROW.  0, or -1 if not called from a host
 * callback or exn is NULL. */
WASMAOT_RT_API int wasmaot_host_throw(struct wasmaot_exception *exn);
/* Exception objects allocated and not freed in this process (in flight, or
 * kept because an exnref or the embedder may name them). */
WASMAOT_RT_API uint64_t wasmaot_exceptions_live(void);

/* --- called by generated code (abi.RUNTIME_FUNCTIONS) -------------------------
 * All take the calling instance's vmctx first; indices are the instance's.
 * Addresses, lengths and table indices arrive zero-extended to 64 bits.  The
 * ones that check bounds trap before writing anything, as the spec says.     */

/* Records `code` and a backtrace, unwinds to the innermost activation. */
WASMAOT_RT_API __attribute__((noreturn, cold)) void wasmaot_rt_trap(struct wasmaot_vmctx *vmctx,
                                                                    int32_t code);
/* memory.grow: old size in pages, or -1. */
WASMAOT_RT_API int64_t wasmaot_rt_memory_grow(struct wasmaot_vmctx *vmctx, int32_t mem,
                                              int64_t delta_pages);
/* (memory.fill and memory.copy are lowered inline: codegen/memory.py.)
 * memory.init: memory `mem` (first), data segment `data`; d, s, n. */
WASMAOT_RT_API void wasmaot_rt_memory_init(struct wasmaot_vmctx *vmctx, int32_t mem, int32_t data,
                                           int64_t d, int64_t s, int64_t n);
WASMAOT_RT_API void wasmaot_rt_data_drop(struct wasmaot_vmctx *vmctx, int32_t data);
/* table.grow table: init, delta -> old size or -1. */
WASMAOT_RT_API int64_t wasmaot_rt_table_grow(struct wasmaot_vmctx *vmctx, int32_t table,
                                             void *init, int64_t delta);
/* table.fill table: i, ref, n. */
WASMAOT_RT_API void wasmaot_rt_table_fill(struct wasmaot_vmctx *vmctx, int32_t table, int64_t i,
                                          void *ref, int64_t n);
/* table.copy dst_table src_table: d, s, n. */
WASMAOT_RT_API void wasmaot_rt_table_copy(struct wasmaot_vmctx *vmctx, int32_t dst_table,
                                          int32_t src_table, int64_t d, int64_t s, int64_t n);
/* table.init: table `table` (first), element segment `elem`; d, s, n. */
WASMAOT_RT_API void wasmaot_rt_table_init(struct wasmaot_vmctx *vmctx, int32_t table,
                                          int32_t elem, int64_t d, int64_t s, int64_t n);
WASMAOT_RT_API void wasmaot_rt_elem_drop(struct wasmaot_vmctx *vmctx, int32_t elem);
/* 1 if canonical type `actual` is `expected` or a registered subtype of it. */
WASMAOT_RT_API int32_t wasmaot_rt_func_type_matches(struct wasmaot_vmctx *vmctx, int64_t actual,
                                                    int64_t expected);
/* Called by a host adapter: runs the record's callback; WASMAOT_HOST_THROW
 * (after wasmaot_host_throw) -> throws that exception, other nonzero -> trap HOST. */
WASMAOT_RT_API void wasmaot_rt_host_call(struct wasmaot_host_func *host, union wasmaot_value *args,
                                         union wasmaot_value *results);
/* Exceptions (exception.c): a new exception of tag index `tagidx`, cells
 * zeroed (may collect unreachable ones first); throw it (NULL: trap
 * NULL_REFERENCE); a catch without ref: free it if nothing else can name it;
 * an entry thunk's pad: it left the activation; an entry thunk's exnref
 * result: pin it for the embedder (NULL: nothing). */
WASMAOT_RT_API struct wasmaot_exception *wasmaot_rt_exception_new(struct wasmaot_vmctx *vmctx,
                                                                  int32_t tagidx);
WASMAOT_RT_API __attribute__((noreturn, cold)) void wasmaot_rt_throw(
    struct wasmaot_vmctx *vmctx, struct wasmaot_exception *exn);
WASMAOT_RT_API void wasmaot_rt_exception_free(struct wasmaot_vmctx *vmctx,
                                              struct wasmaot_exception *exn);
WASMAOT_RT_API __attribute__((noreturn, cold)) void wasmaot_rt_exception_escaped(
    struct wasmaot_vmctx *vmctx, struct wasmaot_exception *exn);
WASMAOT_RT_API void wasmaot_rt_exception_hand_out(struct wasmaot_vmctx *vmctx,
                                                  struct wasmaot_exception *exn);

#ifdef __cplusplus
}
#endif

#endif
