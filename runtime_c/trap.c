/* Activations and traps: how a trap in wasm code gets back to the embedder.
 *
 * ====================================================================================
 *  SANDBOX-CRITICAL.  This file decides where execution resumes after a trap and
 *  which frames a trap may discard.  Changes need a second reviewer.
 * ====================================================================================
 *
 * Every call into wasm (wasmaot_invoke, wasmaot_instance_init) runs inside an
 * *activation*: a record on the calling C frame holding a sigjmp_buf, pushed on
 * a thread-local chain.  A trap -- wasmaot_rt_trap called by code, or a fault
 * that signals.c recognises -- records its code and a backtrace in the
 * innermost activation's trap_info and siglongjmps to it; the call returns the
 * trap code.  Nested calls (host -> wasm -> host -> wasm) push nested
 * activations, so a trap unwinds only to the innermost one, and only over
 * wasm frames and runtime frames: while a host callback runs, its activation
 * is marked `in_host`, and a trap then would have to unwind host frames, so
 * it aborts instead (it means wasm was entered without wasmaot_invoke).
 *
 * Unwinding by siglongjmp is sound because wasm frames own nothing: no locks,
 * no heap memory, no C++ destructors.  The runtime functions wasm calls trap
 * only before they change anything.
 *
 * The outermost activation on a thread also takes the process lock (one
 * stack-limit cell per process, see stack.c) and sets the stack limit.
 *
 * Backtraces walk the frame-pointer chain (generated code keeps frame
 * pointers): each frame holds [saved fp, return address].  Walking starts at
 * the trap site and stops at the activation's entry frame; every return
 * address is mapped to (module, function) by registry.c, and addresses that are
 * not in wasm functions (thunks, adapters, the runtime) are skipped.
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */
#include <errno.h>
#include <pthread.h>
#include <string.h>

__thread struct wasmaot_rt_thread wasmaot_rt_thread_state
    __attribute__((tls_model("initial-exec")));

/* --- the process lock ------------------------------------------------------------------- */

static pthread_mutex_t process_lock;
static pthread_once_t process_lock_once = PTHREAD_ONCE_INIT;

static void make_process_lock(void) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  if (pthread_mutex_init(&process_lock, &attr) != 0) wasmaot_rt_fatal("pthread_mutex_init");
  pthread_mutexattr_destroy(&attr);
}

void wasmaot_rt_lock(void) {
  pthread_once(&process_lock_once, make_process_lock);
  if (pthread_mutex_lock(&process_lock) != 0) wasmaot_rt_fatal("pthread_mutex_lock");
}

void wasmaot_rt_unlock(void) {
  if (pthread_mutex_unlock(&process_lock) != 0) wasmaot_rt_fatal("pthread_mutex_unlock");
}

/* --- process setup and messages ---------------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

int wasmaot_runtime_init(const struct wasmaot_config *config) {
  pthread_once(&init_once, wasmaot_rt_signals_install);
  if (config != NULL) {
    wasmaot_rt_lock();
    wasmaot_rt_stack_set_max(config->max_wasm_stack);
    wasmaot_rt_unlock();
  }
  return 0;
}

static const char *const trap_messages[] = WASMAOT_TRAP_MESSAGES;

const char *wasmaot_trap_message(int32_t code) {
  if (code < 0 || (size_t)code >= sizeof trap_messages / sizeof trap_messages[0] ||
      trap_messages[code] == NULL)
    return "unknown trap";
  return trap_messages[code];
}

void wasmaot_rt_fatal(const char *what) {
  fprintf(stderr, "wasmaot runtime: %s failed: %s\n", what, strerror(errno));
  abort();
}

/* --- backtraces ----------------------------------------------------------------------------- */

static void add_frame(struct wasmaot_trap_info *ti, uintptr_t pc) {
  const struct wasmaot_module_desc *desc;
  uint64_t func;
  if (!wasmaot_rt_registry_lookup_code(pc, &desc, &func)) return; /* not wasm */
  if (ti->nframes < WASMAOT_TRAP_MAX_FRAMES)
    ti->frames[ti->nframes++] = (struct wasmaot_frame){desc, func};
  ti->total_frames++;
}

/* pc: the trap site if known (a fault), else 0.  fp: the innermost frame to
 * walk.  Frames are only followed upwards, within this thread's stack and
 * below the activation's entry, so a broken chain ends the walk, never a read
 * of a wild address. */
static void record_backtrace(struct wasmaot_trap_info *ti, const struct wasmaot_rt_thread *t,
                             uintptr_t pc, uintptr_t fp, uintptr_t entry_fp) {
  ti->nframes = 0;
  ti->total_frames = 0;
  if (pc != 0) add_frame(ti, pc);
  uintptr_t lo = t->stack_known ? t->stack_lo : 0;
  while (fp >= lo && fp % sizeof(uintptr_t) == 0 && fp < entry_fp &&
         entry_fp - fp >= 2 * sizeof(uintptr_t)) {
    const uintptr_t *frame = (const uintptr_t *)fp;
    uintptr_t next = frame[0], ret = frame[1];
    /* ret - 1: inside the call instruction, not after it (the call may be the
     * last instruction of its function). */
    if (ret != 0) add_frame(ti, ret - 1);
    if (next <= fp) break;
    fp = next;
  }
}

/* --- traps ----------------------------------------------------------------------------- */

void wasmaot_rt_trap_at(int32_t code, uintptr_t pc, uintptr_t fp) {
  struct wasmaot_rt_thread *t = &wasmaot_rt_thread_state;
  struct wasmaot_rt_activation *act = t->activation;
  if (act == NULL || act->in_host) {
    /* Unwinding now would skip host frames (or there is nowhere to go):
     * wasm code was entered without wasmaot_invoke. */
    fprintf(stderr, "wasmaot runtime: wasm trap (%s) outside wasmaot_invoke\n",
            wasmaot_trap_message(code));
    abort();
  }
  /* A deadline that passed poisons the stack limit (interrupt.c): a stack
   * check (before a call) is then the interruption point. */
  if (code == WASMAOT_TRAP_STACK_EXHAUSTED && wasmaot_rt_interrupt_fired())
    code = WASMAOT_TRAP_INTERRUPT;
  struct wasmaot_trap_info *ti = act->trap;
  ti->code = code;
  ti->message = wasmaot_trap_message(code);
  record_backtrace(ti, t, pc, fp, act->entry_fp);
  siglongjmp(act->jmp, 1);
}

void wasmaot_rt_trap(struct wasmaot_vmctx *vmctx, int32_t code) {
  (void)vmctx;
  wasmaot_rt_trap_at(code, 0, (uintptr_t)__builtin_frame_address(0));
}

/* --- activations ------------------------------------------------------------------------ */

/* Runs fn(arg) in a new activation.  Returns 0 or the trap code. */
int32_t wasmaot_rt_activate(void (*fn)(void *), void *arg, struct wasmaot_trap_info *trap) {
  struct wasmaot_rt_thread *t = &wasmaot_rt_thread_state;
  struct wasmaot_trap_info scratch;
  struct wasmaot_rt_activation act;
  uintptr_t entry_fp = (uintptr_t)__builtin_frame_address(0);

  if (trap == NULL) trap = &scratch;
  trap->code = WASMAOT_TRAP_NONE;
  trap->message = NULL;
  trap->nframes = 0;
  trap->total_frames = 0;
  trap->exception = NULL;

  if (t->activation == NULL) {
    /* Outermost on this thread: signal stack, process lock, stack limit. */
    wasmaot_rt_signals_thread_ready(t);
    wasmaot_rt_lock();
    wasmaot_rt_stack_enter(t, entry_fp);
  }
  act.prev = t->activation;
  act.trap = trap;
  act.entry_fp = entry_fp;
  act.in_host = 0;
  act.host_exception = NULL;
  act.throw_npcs = 0;
  act.throw_cfa = 0;

  int32_t result = WASMAOT_TRAP_NONE;
  if (sigsetjmp(act.jmp, 0) == 0) {
    /* Publish only once complete: the fault handler may read it at any time. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->activation = &act;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    fn(arg);
  } else {
    /* A trap unwound to here, or an exception that left the activation
     * (exception.c: WASMAOT_TRAP_EXCEPTION, trap->exception set). */
    result = act.trap->code;
  }
  /* sigsetjmp(..., 0) saves no signal mask: signals.c installs its handler
   * with SA_NODEFER, so leaving it by siglongjmp leaves no signal blocked. */
  t->activation = act.prev;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (act.prev == NULL) {
    wasmaot_rt_stack_leave();
    wasmaot_rt_unlock();
  }
  return result;
}

struct invocation {
  wasmaot_entry_fn thunk;
  const struct wasmaot_funcref *func;
  union wasmaot_value *args, *results;
};

static void run_invocation(void *p) {
  struct invocation *inv = p;
  inv->thunk(inv->func->code, inv->func->vmctx, inv->args, inv->results);
}

int32_t wasmaot_invoke(wasmaot_entry_fn thunk, const struct wasmaot_funcref *func,
                       union wasmaot_value *args, union wasmaot_value *results,
                       struct wasmaot_trap_info *trap) {
  struct invocation inv = {thunk, func, args, results};
  return wasmaot_rt_activate(run_invocation, &inv, trap);
}
