/* Private to runtime_c/: the runtime's own bookkeeping behind the ABI structs.
 *
 * Every shared object an embedder sees (memory, table) is an ABI struct that
 * is the FIRST member of a private struct here, so the runtime can go from
 * one to the other with a cast.
 */
#ifndef WASMAOT_RT_INTERNAL_H
#define WASMAOT_RT_INTERNAL_H

/* Before any system header: pthread_getattr_np, sigjmp_buf, REG_RIP, dl_iterate_phdr. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "wasmaot_rt.h"

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "wasmaot's runtime supports x86_64 and aarch64 hosts only"
#endif

#define WASMAOT_RT_HIDDEN __attribute__((visibility("hidden")))

/* --- shared objects --------------------------------------------------------------- */

struct wasmaot_rt_memory {
  struct wasmaot_memory abi;  /* first: what generated code reads */
  uint64_t refcount;
  uint64_t declared_max;      /* the type's maximum in pages (UINT64_MAX: none) */
  uint64_t shared;            /* the type's `shared` flag */
  uint64_t accessible;        /* bytes currently PROT_READ|PROT_WRITE (host-page multiple) */
  uint64_t low_guard;         /* PROT_NONE bytes reserved below abi.base (0 or FOLD_LOW_GUARD) */
  int guarded;                /* 1: reserved 8 GiB + guard for guard-page code */
  int fold_safe;              /* 1: the low guard and the FOLD_MAX_PAGES cap (abi.py) */
};

struct wasmaot_rt_table {
  struct wasmaot_table abi;   /* first: what generated code reads */
  uint64_t refcount;
  uint64_t limit;             /* effective maximum: declared, capped by config */
  uint64_t reftype;           /* WASMAOT_VAL_* of the elements */
};

static inline struct wasmaot_rt_memory *wasmaot_rt_memory_of(struct wasmaot_memory *m) {
  return (struct wasmaot_rt_memory *)m;
}
static inline struct wasmaot_rt_table *wasmaot_rt_table_of(struct wasmaot_table *t) {
  return (struct wasmaot_rt_table *)t;
}

/* The runtime's side of an instance; vmctx->runtime points here. */
struct wasmaot_instance {
  struct wasmaot_vmctx vmctx;
  const struct wasmaot_module_desc *desc;
  struct wasmaot_global **globals;     /* per global (imported ones retained) */
  int code_registered;                 /* desc's code is in the registry */
  struct wasmaot_tag *own_tags;        /* the defined tags (vmctx.tags points here) */
};

/* memory.c / table.c / global.c constructors used by instance.c; NULL + errbuf on failure. */
WASMAOT_RT_HIDDEN struct wasmaot_rt_memory *wasmaot_rt_memory_create(
    const struct wasmaot_memory_desc *type, const struct wasmaot_config *config, char *errbuf,
    size_t errlen);
WASMAOT_RT_HIDDEN struct wasmaot_rt_table *wasmaot_rt_table_create(
    const struct wasmaot_table_desc *type, void *init, const struct wasmaot_config *config,
    char *errbuf, size_t errlen);
/* The memory grow both wasm and the host use; caller holds the lock. */
WASMAOT_RT_HIDDEN int64_t wasmaot_rt_memory_grow_locked(struct wasmaot_rt_memory *mem,
                                                        uint64_t delta_pages);
WASMAOT_RT_HIDDEN int64_t wasmaot_rt_table_grow_locked(struct wasmaot_rt_table *table,
                                                       uint64_t delta, void *init);

/* --- the process lock (trap.c) -------------------------------------------------
 * Recursive.  Held by the outermost activation on a thread for its whole run,
 * and by every change to shared runtime state (registries, memory/table
 * sizes from the host).  So state the fault handler reads never changes
 * while wasm runs on another thread. */
WASMAOT_RT_HIDDEN void wasmaot_rt_lock(void);
WASMAOT_RT_HIDDEN void wasmaot_rt_unlock(void);

/* --- activations (trap.c) -------------------------------------------------------- */

/* Return addresses an unwinding exception records for a backtrace. */
#define WASMAOT_RT_THROW_PCS WASMAOT_TRAP_MAX_FRAMES

struct wasmaot_rt_activation {
  struct wasmaot_rt_activation *prev; /* next outer activation on this thread */
  sigjmp_buf jmp;                     /* where a trap resumes */
  struct wasmaot_trap_info *trap;     /* where a trap is reported */
  uintptr_t entry_fp;                 /* frame of the entering runtime function:
                                         backtraces stop here */
  int in_host;                        /* >0 while a host callback runs above us:
                                         faults then are the host's, not wasm's */
  struct wasmaot_exception *host_exception; /* wasmaot_host_throw's, until the
                                               callback returns */
  uint64_t throw_npcs;                /* frames the last throw passed (exception.c) */
  uintptr_t throw_cfa;                /* the CFA of the last one recorded */
  uintptr_t throw_pcs[WASMAOT_RT_THROW_PCS]; /* their return addresses, innermost first */
};

/* Per-thread state.  Initial-exec TLS: the fault handler reads it, and a
 * dlopen-style lazy TLS block could call malloc inside a signal handler. */
struct wasmaot_rt_thread {
  struct wasmaot_rt_activation *activation; /* innermost, or NULL */
  uintptr_t stack_lo;                       /* this thread's stack: lowest usable byte */
  uintptr_t stack_hi;                       /* and one past its highest */
  void *altstack;                           /* our sigaltstack mapping, or NULL */
  size_t altstack_size;                     /* its size, guard page included */
  int stack_known;                          /* stack_lo/hi computed */
  int altstack_ready;                       /* a usable sigaltstack is installed */
};
extern __thread struct wasmaot_rt_thread wasmaot_rt_thread_state
    __attribute__((tls_model("initial-exec"))) WASMAOT_RT_HIDDEN;

/* Runs fn(arg) in a new activation: 0, or the trap code with `trap` filled
 * (trap may be NULL). */
WASMAOT_RT_HIDDEN int32_t wasmaot_rt_activate(void (*fn)(void *), void *arg,
                                              struct wasmaot_trap_info *trap);

/* Records `code` with a backtrace starting at (pc, fp) and unwinds to the
 * innermost activation.  pc = 0: start from the return address in frame fp. */
WASMAOT_RT_HIDDEN __attribute__((noreturn)) void wasmaot_rt_trap_at(int32_t code, uintptr_t pc,
                                                                   uintptr_t fp);

/* --- signals.c ------------------------------------------------------------------- */

WASMAOT_RT_HIDDEN void wasmaot_rt_signals_install(void);
/* Makes sure this thread has an alternate signal stack. */
WASMAOT_RT_HIDDEN void wasmaot_rt_signals_thread_ready(struct wasmaot_rt_thread *t);

/* --- stack.c ----------------------------------------------------------------------- */

/* The cell vmctx->stack_limit points to (made on first use; the page before
 * it faults).  UINTPTR_MAX while no activation runs, so wasm code entered
 * without wasmaot_invoke traps at its first check. */
WASMAOT_RT_HIDDEN uintptr_t *wasmaot_rt_stack_limit_cell(void);
WASMAOT_RT_HIDDEN void wasmaot_rt_stack_set_max(uint64_t max_wasm_stack);
/* At the outermost activation: set the limit below `sp`. */
WASMAOT_RT_HIDDEN void wasmaot_rt_stack_enter(struct wasmaot_rt_thread *t, uintptr_t sp);
WASMAOT_RT_HIDDEN void wasmaot_rt_stack_leave(void);
/* `addr` is in the page before the cell: a failed stack-limit check. */
WASMAOT_RT_HIDDEN int wasmaot_rt_is_stack_check_fault(uintptr_t addr);
/* Fault address `addr` is a wasm stack overflow on this thread. */
WASMAOT_RT_HIDDEN int wasmaot_rt_stack_is_overflow(const struct wasmaot_rt_thread *t,
                                                    uintptr_t addr);

/* --- interrupt.c ---------------------------------------------------------------------- */

/* 1 once the deadline of wasmaot_set_timeout has passed (until the next call). */
WASMAOT_RT_HIDDEN int wasmaot_rt_interrupt_fired(void);
/* The page vmctx->interrupt_page points to (made on first use). */
WASMAOT_RT_HIDDEN const uint8_t *wasmaot_rt_interrupt_page(void);
/* `addr` is in the interrupt page: a loop header found the deadline passed. */
WASMAOT_RT_HIDDEN int wasmaot_rt_is_interrupt_page(uintptr_t addr);

/* --- registry.c: what the fault handler and backtraces consult ----------------------
 * Writers hold the process lock; readers are the thread running wasm (which
 * holds it), so no reader ever sees a half-made change. */

WASMAOT_RT_HIDDEN int wasmaot_rt_registry_add_memory(uintptr_t lo, uintptr_t hi);
WASMAOT_RT_HIDDEN void wasmaot_rt_registry_remove_memory(uintptr_t lo);
WASMAOT_RT_HIDDEN int wasmaot_rt_registry_in_memory(uintptr_t addr);
/* Per module descriptor, reference-counted by instances. */
WASMAOT_RT_HIDDEN int wasmaot_rt_registry_add_module(const struct wasmaot_module_desc *desc);
WASMAOT_RT_HIDDEN void wasmaot_rt_registry_remove_module(const struct wasmaot_module_desc *desc);
/* The wasm function containing `pc`: 1 and (*desc, *func) if found. */
WASMAOT_RT_HIDDEN int wasmaot_rt_registry_lookup_code(uintptr_t pc,
                                                      const struct wasmaot_module_desc **desc,
                                                      uint64_t *func);

/* --- roots.c: the globals and tables an exnref may be stored in --------------------
 * Recorded when made, forgotten when freed; the exception collector reads them. */

WASMAOT_RT_HIDDEN int wasmaot_rt_valtype_may_hold_exnref(uint64_t valtype);
WASMAOT_RT_HIDDEN void wasmaot_rt_roots_add_global(struct wasmaot_global *g);
WASMAOT_RT_HIDDEN void wasmaot_rt_roots_add_table(struct wasmaot_rt_table *t);
WASMAOT_RT_HIDDEN void wasmaot_rt_roots_remove(void *object);
/* Calls visit(word) for every word of every recorded cell; *words: how many.
 * -1 (and no calls) if the set is incomplete: then nothing may be collected.
 * Caller holds the process lock. */
WASMAOT_RT_HIDDEN int wasmaot_rt_roots_each_word(void (*visit)(uintptr_t word, void *ctx),
                                                 void *ctx, uint64_t *words);

/* --- types.c ------------------------------------------------------------------------ */

WASMAOT_RT_HIDDEN int wasmaot_rt_type_matches(uint64_t actual, uint64_t expected);

/* --- small helpers ----------------------------------------------------------------- */

/* One line into the embedder's error buffer. */
static inline void __attribute__((format(printf, 3, 4)))
wasmaot_rt_error(char *errbuf, size_t errlen, const char *fmt, ...) {
  if (errbuf == NULL || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errbuf, errlen, fmt, ap);
  va_end(ap);
}

/* A host failure the runtime cannot recover from: say what, then abort. */
WASMAOT_RT_HIDDEN __attribute__((noreturn, cold)) void wasmaot_rt_fatal(const char *what);

/* a + b, or 1 on overflow. */
static inline int wasmaot_rt_add_overflows(uint64_t a, uint64_t b, uint64_t *out) {
  return __builtin_add_overflow(a, b, out);
}

/* types.c: the block of type ids of a module instantiated without embedder ids. */
int64_t wasmaot_rt_module_type_base(const struct wasmaot_module_desc *desc);

#endif
