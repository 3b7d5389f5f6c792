/* The fault handler: hardware faults in wasm code become traps; anything else still crashes.
 *
 * ====================================================================================
 *  SANDBOX-CRITICAL.  A fault turned into a trap by mistake hides a real bug and
 *  resumes the process in an unknown state; a guest fault missed kills the
 *  embedder.  Changes need a second reviewer.
 * ====================================================================================
 *
 * SIGSEGV, SIGBUS, SIGFPE and SIGILL are handled on a per-thread alternate
 * stack.  A fault becomes a trap only if ALL of these hold:
 *   - the kernel raised it (si_code > 0), not kill() or raise();
 *   - this thread has an activation (trap.c) and is not inside a host
 *     callback (faults there are the host's own bugs);
 *   - it is one we recognise:
 *       SIGSEGV/SIGBUS at an address inside a registered memory reservation
 *         -> MEMORY_OOB (memory.c: out-of-bounds guest accesses land there);
 *       SIGSEGV/SIGBUS in the interrupt page (made unreadable when a
 *         timeout's deadline passes) -> INTERRUPT (interrupt.c);
 *       SIGSEGV/SIGBUS in the page below the stack-limit cell with the pc in
 *         registered wasm code -> STACK_EXHAUSTED: a failed stack-limit check
 *         (stack.c; a passed deadline makes it INTERRUPT in wasmaot_rt_trap_at);
 *       SIGSEGV/SIGBUS below the stack limit, within the thread's stack or
 *         just below its bottom -> STACK_EXHAUSTED (stack.c);
 *       SIGFPE with the pc in registered wasm code -> INT_DIV_ZERO, or
 *         INT_OVERFLOW for FPE_INTOVF (a safety net: code checks divisors);
 *       SIGILL with the pc in registered wasm code -> UNREACHABLE (llvm.trap).
 * The one exception to "has an activation": a failed stack-limit check in wasm
 * code entered without wasmaot_invoke (or run while a host callback is active)
 * goes to wasmaot_rt_trap_at, which aborts with a message, as it did when the
 * check called wasmaot_rt_trap.
 * Everything else goes to the handler that was installed before ours, so a
 * runtime or embedder bug still crashes (with the embedder's own crash
 * reporting, e.g. Python's faulthandler).
 *
 * The handler touches only async-signal-safe state: its thread's TLS (initial-
 * exec, never lazily allocated), the registries (not being changed: the thread
 * running wasm holds the process lock that writers take), and the trap record.
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static const int handled_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#define NUM_HANDLED (sizeof handled_signals / sizeof handled_signals[0])
static struct sigaction previous[NUM_HANDLED];

static void context_pc_fp(void *ctx, uintptr_t *pc, uintptr_t *fp) {
  ucontext_t *uc = ctx;
#if defined(__x86_64__)
  *pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  *fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
#elif defined(__aarch64__)
  *pc = (uintptr_t)uc->uc_mcontext.pc;
  *fp = (uintptr_t)uc->uc_mcontext.regs[29];
#endif
}

static int pc_in_wasm(uintptr_t pc) {
  const struct wasmaot_module_desc *desc;
  uint64_t func;
  return wasmaot_rt_registry_lookup_code(pc, &desc, &func);
}

static int32_t classify(int sig, const siginfo_t *info, uintptr_t pc,
                        const struct wasmaot_rt_thread *t) {
  uintptr_t addr = (uintptr_t)info->si_addr;
  switch (sig) {
    case SIGSEGV:
    case SIGBUS:
      if (wasmaot_rt_registry_in_memory(addr)) return WASMAOT_TRAP_MEMORY_OOB;
      /* Only generated code stores there; from anywhere else it is a bug. */
      if (wasmaot_rt_is_stack_check_fault(addr))
        return pc_in_wasm(pc) ? WASMAOT_TRAP_STACK_EXHAUSTED : WASMAOT_TRAP_NONE;
      /* A loop header of interruptible code after a timeout's deadline. */
      if (wasmaot_rt_is_interrupt_page(addr)) return WASMAOT_TRAP_INTERRUPT;
      if (wasmaot_rt_stack_is_overflow(t, addr)) return WASMAOT_TRAP_STACK_EXHAUSTED;
      return WASMAOT_TRAP_NONE;
    case SIGFPE:
      if (!pc_in_wasm(pc)) return WASMAOT_TRAP_NONE;
      return info->si_code == FPE_INTOVF ? WASMAOT_TRAP_INT_OVERFLOW : WASMAOT_TRAP_INT_DIV_ZERO;
    case SIGILL:
      return pc_in_wasm(pc) ? WASMAOT_TRAP_UNREACHABLE : WASMAOT_TRAP_NONE;
    default:
      return WASMAOT_TRAP_NONE;
  }
}

static void chain(int sig, siginfo_t *info, void *ctx) {
  size_t i = 0;
  while (i < NUM_HANDLED && handled_signals[i] != sig) i++;
  const struct sigaction *prev = &previous[i];
  if (prev->sa_flags & SA_SIGINFO) {
    prev->sa_sigaction(sig, info, ctx);
  } else if (prev->sa_handler == SIG_DFL || prev->sa_handler == SIG_IGN) {
    /* Put the old disposition back and return: the faulting instruction runs
     * again and the default action (a core dump) happens where it should.
     * For an ignored synchronous fault the kernel forces the default. */
    sigaction(sig, prev, NULL);
  } else {
    prev->sa_handler(sig);
  }
}

/* A failed stack-limit check in wasm code with no activation to unwind to. */
static int stray_stack_check(int sig, const siginfo_t *info, uintptr_t pc) {
  return (sig == SIGSEGV || sig == SIGBUS) &&
         wasmaot_rt_is_stack_check_fault((uintptr_t)info->si_addr) && pc_in_wasm(pc);
}

static void on_fault(int sig, siginfo_t *info, void *ctx) {
  struct wasmaot_rt_thread *t = &wasmaot_rt_thread_state;
  struct wasmaot_rt_activation *act = t->activation;
  if (info->si_code > 0) {
    uintptr_t pc, fp;
    context_pc_fp(ctx, &pc, &fp);
    if (act != NULL && act->in_host == 0) {
      int32_t code = classify(sig, info, pc, t);
      if (code != WASMAOT_TRAP_NONE) wasmaot_rt_trap_at(code, pc, fp); /* does not return */
    } else if (stray_stack_check(sig, info, pc)) {
      /* Aborts with "wasm trap (...) outside wasmaot_invoke": never unwinds. */
      wasmaot_rt_trap_at(WASMAOT_TRAP_STACK_EXHAUSTED, pc, fp);
    }
  }
  chain(sig, info, ctx);
}

void wasmaot_rt_signals_install(void) {
  for (size_t i = 0; i < NUM_HANDLED; i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    /* Block nothing extra while the handler runs. */
    sigemptyset(&sa.sa_mask);
    sa.sa_flags =
        /* SA_SIGINFO: three-argument handler, for the fault address (si_addr)
         * and the interrupted registers (pc, frame pointer) in the ucontext. */
        SA_SIGINFO |
        /* SA_ONSTACK: run on the thread's alternate stack; after a stack
         * overflow the normal stack has no room for the handler. */
        SA_ONSTACK |
        /* SA_NODEFER: do not block this signal during the handler.  We leave
         * the handler by siglongjmp to a sigsetjmp(env, 0) that restores no
         * mask, so a blocked SIGSEGV would stay blocked and the next fault on
         * this thread would kill the process. */
        SA_NODEFER;
    /* Not SA_RESTART (faults interrupt no system call) nor SA_RESETHAND (the
     * handler must stay installed for the next trap). */
    if (sigaction(handled_signals[i], &sa, &previous[i]) != 0) wasmaot_rt_fatal("sigaction");
  }
}

/* --- per-thread alternate signal stacks ------------------------------------------------ */

static pthread_key_t altstack_key;
static pthread_once_t altstack_key_once = PTHREAD_ONCE_INIT;

/* At thread exit: stop using our alternate stack, then unmap it. */
static void free_altstack(void *p) {
  struct wasmaot_rt_thread *t = p;
  if (t->altstack == NULL) return;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  stack_t current;
  if (sigaltstack(NULL, &current) == 0 && current.ss_sp == (char *)t->altstack + page) {
    stack_t off = {.ss_flags = SS_DISABLE};
    if (sigaltstack(&off, NULL) != 0) wasmaot_rt_fatal("sigaltstack (disable)");
  }
  if (munmap(t->altstack, t->altstack_size) != 0) wasmaot_rt_fatal("munmap of a signal stack");
  t->altstack = NULL;
  t->altstack_ready = 0;
}

static void make_altstack_key(void) {
  if (pthread_key_create(&altstack_key, free_altstack) != 0) wasmaot_rt_fatal("pthread_key_create");
}

void wasmaot_rt_signals_thread_ready(struct wasmaot_rt_thread *t) {
  if (t->altstack_ready) return;
  stack_t old;
  if (sigaltstack(NULL, &old) != 0) wasmaot_rt_fatal("sigaltstack (query)");
  if (!(old.ss_flags & SS_DISABLE) && old.ss_size >= WASMAOT_RT_ALTSTACK_SIZE) {
    t->altstack_ready = 1; /* someone else's (e.g. Python's faulthandler): big enough */
    return;
  }
  /* One PROT_NONE guard page below the stack, so overflowing it faults. */
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t size = page + WASMAOT_RT_ALTSTACK_SIZE;
  char *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) wasmaot_rt_fatal("mmap of a signal stack");
  if (mprotect(p + page, WASMAOT_RT_ALTSTACK_SIZE, PROT_READ | PROT_WRITE) != 0)
    wasmaot_rt_fatal("mprotect of a signal stack");
  stack_t ss = {.ss_sp = p + page, .ss_size = WASMAOT_RT_ALTSTACK_SIZE, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) wasmaot_rt_fatal("sigaltstack");
  t->altstack = p;
  t->altstack_size = size;
  t->altstack_ready = 1;
  pthread_once(&altstack_key_once, make_altstack_key);
  if (pthread_setspecific(altstack_key, t) != 0) wasmaot_rt_fatal("pthread_setspecific");
}
