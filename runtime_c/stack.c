/* The wasm stack limit: deep recursion traps "call stack exhausted", never segfaults.
 *
 * Every wasm function's prologue compares its frame address with
 * *vmctx->stack_limit and traps STACK_EXHAUSTED below it.  All vmctxs point at
 * one process-wide cell, wasmaot_rt_stack_limit_cell, which the outermost
 * activation on a thread sets to
 *
 *     max(sp - max_wasm_stack, stack_bottom + WASMAOT_RT_STACK_MARGIN)
 *
 * where sp is the entering frame and stack_bottom the thread's real stack
 * bottom (pthread_getattr_np; for the main thread, the top minus
 * RLIMIT_STACK, since the main stack grows on demand and musl reports only
 * what is mapped so far).  The margin is where the trap path and host
 * callbacks called from the deepest wasm frame run.
 *
 * A frame bigger than the margin can step past the stack bottom before its
 * prologue check runs.  Code compiled with stack probes (which touch every page
 * of a big frame in order) then faults in the guard area just below the stack
 * bottom; signals.c asks wasmaot_rt_stack_is_overflow and traps
 * STACK_EXHAUSTED instead of crashing.
 *
 * Small leaf functions have no check (codegen/abi.py LEAF_FRAME_BYTES): called
 * by a frame that passed its check, one may run up to WASMAOT_LEAF_FRAME_BYTES
 * below the limit.  The margin holds that several times over, so the trap path
 * still has room below the deepest leaf.
 *
 * Interruption (interrupt.c) reuses the cell: when a deadline passes, the cell
 * becomes UINTPTR_MAX, so the next prologue (or loop-header check, in code
 * compiled interruptible) traps; wasmaot_rt_trap_at then reports INTERRUPT.
 *
 * Outside activations the cell holds UINTPTR_MAX: wasm code entered without
 * wasmaot_invoke traps in its first prologue, and the trap (having no
 * activation) aborts with a message rather than running unbounded.
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How far below the stack bottom a fault still counts as stack exhaustion:
 * the kernel's guard gap below a growing main stack (256 pages of 4 KiB), also
 * covering a pthread guard page.  Probing code faults within a page of it. */
#define GUARD_SLACK (1024u * 1024u)

/* A leaf without a check must not eat the margin the trap path runs in. */
_Static_assert(WASMAOT_RT_STACK_MARGIN >= 4 * WASMAOT_LEAF_FRAME_BYTES,
               "the stack margin must hold a leaf frame below the limit with room to spare");

uintptr_t wasmaot_rt_stack_limit_cell = UINTPTR_MAX;
static uint64_t max_wasm_stack = WASMAOT_RT_DEFAULT_MAX_WASM_STACK;

void wasmaot_rt_stack_set_max(uint64_t bytes) {
  max_wasm_stack = bytes ? bytes : WASMAOT_RT_DEFAULT_MAX_WASM_STACK;
}

static void find_thread_stack(struct wasmaot_rt_thread *t) {
  pthread_attr_t attr;
  void *addr;
  size_t size;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) wasmaot_rt_fatal("pthread_getattr_np");
  if (pthread_attr_getstack(&attr, &addr, &size) != 0) wasmaot_rt_fatal("pthread_attr_getstack");
  pthread_attr_destroy(&attr);
  t->stack_lo = (uintptr_t)addr;
  t->stack_hi = (uintptr_t)addr + size;
  if (getpid() == (pid_t)syscall(SYS_gettid)) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < t->stack_hi)
      t->stack_lo = t->stack_hi - rl.rlim_cur;
  }
  t->stack_known = 1;
}

void wasmaot_rt_stack_enter(struct wasmaot_rt_thread *t, uintptr_t sp) {
  if (!t->stack_known) find_thread_stack(t);
  uintptr_t floor = t->stack_lo + WASMAOT_RT_STACK_MARGIN;
  uintptr_t limit = sp > max_wasm_stack ? sp - max_wasm_stack : 0;
  if (limit < floor) limit = floor;
  if (limit > sp) limit = sp; /* no room at all: the first prologue traps */
  /* Sequentially consistent with interrupt.c's watchdog (which sets the flag,
   * then the cell): either it sees our limit and overwrites it, or we see its
   * flag here.  A deadline that passed is never lost to a new activation. */
  __atomic_store_n(&wasmaot_rt_stack_limit_cell, limit, __ATOMIC_SEQ_CST);
  if (wasmaot_rt_interrupt_fired())
    __atomic_store_n(&wasmaot_rt_stack_limit_cell, UINTPTR_MAX, __ATOMIC_SEQ_CST);
}

void wasmaot_rt_stack_leave(void) {
  __atomic_store_n(&wasmaot_rt_stack_limit_cell, UINTPTR_MAX, __ATOMIC_RELAXED);
}

int wasmaot_rt_stack_is_overflow(const struct wasmaot_rt_thread *t, uintptr_t addr) {
  if (!t->stack_known) return 0;
  uintptr_t lowest = t->stack_lo > GUARD_SLACK ? t->stack_lo - GUARD_SLACK : 0;
  /* Below the limit, and within this thread's stack and the guard below it.
   * (addr < limit alone is not enough once a passed deadline has set the
   * limit to UINTPTR_MAX: every other fault would count as exhaustion.) */
  return addr < __atomic_load_n(&wasmaot_rt_stack_limit_cell, __ATOMIC_RELAXED) &&
         addr >= lowest && addr < t->stack_hi;
}
