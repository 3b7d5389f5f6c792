/* The wasm stack limit: deep recursion traps "call stack exhausted", never segfaults.
 *
 * Generated code checks the limit at the head of every block that makes a call,
 * or once at the entry of a function with a loop or many calls
 * (codegen/function.py place_stack_checks): the frame address must be at or
 * above *vmctx->stack_limit.  All vmctxs point at one process-wide cell (made
 * by wasmaot_rt_stack_limit_cell), which the outermost activation on a thread
 * sets to
 *
 *     max(sp - max_wasm_stack, stack_bottom + WASMAOT_RT_STACK_MARGIN)
 *
 * where sp is the entering frame and stack_bottom the thread's real stack
 * bottom (pthread_getattr_np; for the main thread, the top minus
 * RLIMIT_STACK, since the main stack grows on demand and musl reports only
 * what is mapped so far).
 *
 * A failed check stores to the byte before the cell, in a page that is never
 * accessible (below); signals.c turns that fault, with the pc in wasm code,
 * into STACK_EXHAUSTED.  The failure path makes no call, so a path of wasm code
 * that calls nothing runs with no frame (LLVM shrink-wraps the prologue).
 *
 * What may lie below the limit, in the margin: the frame of a function called
 * from a frame that passed its check (its own frame is allocated before any
 * check of its own), and what that frame calls without a check: the trap
 * routine (for other traps), host callbacks and runtime functions called from
 * the deepest checked frame.  The trap for a failed check itself runs on the
 * signal stack.  A frame bigger than the margin can step past the stack bottom
 * before any check runs.  Code compiled with stack probes (which touch every
 * page of a big frame in order) then faults in the guard area just below the
 * stack bottom; signals.c asks wasmaot_rt_stack_is_overflow and traps
 * STACK_EXHAUSTED instead of crashing.
 *
 * Functions that call nothing have no check if their frame is small
 * (codegen/abi.py LEAF_FRAME_BYTES), and calls of them are not checked either:
 * one may run up to WASMAOT_LEAF_FRAME_BYTES below its caller's frame.  The
 * margin holds that several times over, so the trap path still has room below
 * the deepest leaf.
 *
 * Interruption (interrupt.c) reuses the cell: when a deadline passes, the cell
 * becomes UINTPTR_MAX, so the next check (or loop-header check, in code
 * compiled interruptible) traps; wasmaot_rt_trap_at then reports INTERRUPT.
 *
 * Outside activations the cell holds UINTPTR_MAX: wasm code entered without
 * wasmaot_invoke traps at its first check, and the trap (having no
 * activation) aborts with a message rather than running unbounded.
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <sys/mman.h>
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

static uint64_t max_wasm_stack = WASMAOT_RT_DEFAULT_MAX_WASM_STACK;

/* --- the cell and the page below it ------------------------------------------------- */

/* The cell starts a page; the page before it is PROT_NONE for the process's life.
 * A failed check stores to cell[-1 byte]: the fault there, with the pc in wasm
 * code, is STACK_EXHAUSTED (signals.c).  Nothing else is ever mapped there, and
 * nothing but a failed check writes below the cell, so the classification is
 * exact.  Made once (before any instance exists: instance.c, trap.c) and never
 * unmapped; `cell` is read by the signal handler, so it is published last. */
static uintptr_t *cell;
static uintptr_t guard_lo;
static size_t guard_size;
static pthread_once_t cell_once = PTHREAD_ONCE_INIT;

static void make_cell(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  char *p = mmap(NULL, 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) wasmaot_rt_fatal("mmap of the stack-limit cell");
  if (mprotect(p + page, page, PROT_READ | PROT_WRITE) != 0)
    wasmaot_rt_fatal("mprotect of the stack-limit cell");
  uintptr_t *c = (uintptr_t *)(p + page);
  *c = UINTPTR_MAX; /* no activation yet */
  guard_lo = (uintptr_t)p;
  guard_size = page;
  __atomic_store_n(&cell, c, __ATOMIC_RELEASE);
}

uintptr_t *wasmaot_rt_stack_limit_cell(void) {
  pthread_once(&cell_once, make_cell);
  return cell;
}

int wasmaot_rt_is_stack_check_fault(uintptr_t addr) {
  if (__atomic_load_n(&cell, __ATOMIC_ACQUIRE) == NULL) return 0;
  return addr >= guard_lo && addr - guard_lo < guard_size;
}

/* --- the limit ----------------------------------------------------------------------- */

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
  if (limit > sp) limit = sp; /* no room at all: the first check traps */
  /* Sequentially consistent with interrupt.c's watchdog (which sets the flag,
   * then the cell): either it sees our limit and overwrites it, or we see its
   * flag here.  A deadline that passed is never lost to a new activation. */
  uintptr_t *c = wasmaot_rt_stack_limit_cell();
  __atomic_store_n(c, limit, __ATOMIC_SEQ_CST);
  if (wasmaot_rt_interrupt_fired()) __atomic_store_n(c, UINTPTR_MAX, __ATOMIC_SEQ_CST);
}

void wasmaot_rt_stack_leave(void) {
  __atomic_store_n(wasmaot_rt_stack_limit_cell(), UINTPTR_MAX, __ATOMIC_RELAXED);
}

int wasmaot_rt_stack_is_overflow(const struct wasmaot_rt_thread *t, uintptr_t addr) {
  if (!t->stack_known) return 0;
  uintptr_t lowest = t->stack_lo > GUARD_SLACK ? t->stack_lo - GUARD_SLACK : 0;
  /* Below the limit, and within this thread's stack and the guard below it.
   * (addr < limit alone is not enough once a passed deadline has set the
   * limit to UINTPTR_MAX: every other fault would count as exhaustion.) */
  const uintptr_t *c = __atomic_load_n(&cell, __ATOMIC_ACQUIRE);
  return c != NULL && addr < __atomic_load_n(c, __ATOMIC_RELAXED) &&
         addr >= lowest && addr < t->stack_hi;
}
