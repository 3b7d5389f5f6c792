/* Interruption: a deadline after which running wasm traps "interrupt".
 *
 * A watchdog thread (started on the first wasmaot_set_timeout) sleeps until
 * the deadline on CLOCK_MONOTONIC.  When it passes, the watchdog
 *
 *   1. sets `fired`;
 *   2. stores UINTPTR_MAX in the stack-limit cell (stack.c).  Wasm code
 *      compares its frame with that cell before every call, so the next call
 *      traps (a store below the cell, stack.c), at no cost to code never
 *      interrupted;
 *      wasmaot_rt_trap_at reports that stack trap as INTERRUPT while `fired`
 *      is set, and stack.c re-poisons the cell for an activation that starts
 *      after the deadline, so a passed deadline is never lost;
 *   3. makes the interrupt page unreadable.  Code compiled interruptible reads
 *      a byte of it at every loop header and before every return_call*
 *      (codegen/function.py): one load, no branch.  The fault there is
 *      classified INTERRUPT by signals.c and unwinds as any wasm fault does.
 *
 * The wasm thread is never signalled or unwound from outside: it traps itself,
 * before a call or at a loop header, through the usual paths.
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static int watchdog_started;    /* under lock */
static int armed;               /* under lock: a deadline is pending */
static struct timespec deadline; /* under lock: CLOCK_MONOTONIC */
static int fired;               /* atomic: the deadline passed */

int wasmaot_rt_interrupt_fired(void) { return __atomic_load_n(&fired, __ATOMIC_SEQ_CST); }

/* --- the interrupt page ------------------------------------------------------------ */

static uint8_t *page;
static size_t page_size;
static pthread_once_t page_once = PTHREAD_ONCE_INIT;

static void make_page(void) {
  page_size = (size_t)sysconf(_SC_PAGESIZE);
  void *p = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) wasmaot_rt_fatal("mmap of the interrupt page");
  page = p;
}

const uint8_t *wasmaot_rt_interrupt_page(void) {
  pthread_once(&page_once, make_page);
  return page;
}

int wasmaot_rt_is_interrupt_page(uintptr_t addr) {
  uintptr_t lo = (uintptr_t)__atomic_load_n(&page, __ATOMIC_RELAXED);
  return lo != 0 && addr >= lo && addr - lo < page_size;
}

/* Under `lock`.  PROT_NONE: the next loop-header read faults. */
static void protect_page(int prot) {
  wasmaot_rt_interrupt_page();
  if (mprotect(page, page_size, prot) != 0) wasmaot_rt_fatal("mprotect of the interrupt page");
}

static int passed(const struct timespec *now, const struct timespec *when) {
  return now->tv_sec > when->tv_sec ||
         (now->tv_sec == when->tv_sec && now->tv_nsec >= when->tv_nsec);
}

static void *watchdog(void *unused) {
  (void)unused;
  pthread_mutex_lock(&lock);
  for (;;) {
    while (!armed) pthread_cond_wait(&wake, &lock);
    struct timespec when = deadline, now;
    pthread_cond_timedwait(&wake, &lock, &when);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (armed && passed(&now, &deadline)) {
      armed = 0;
      /* Flag first, then the cell: see stack.c's wasmaot_rt_stack_enter. */
      __atomic_store_n(&fired, 1, __ATOMIC_SEQ_CST);
      __atomic_store_n(wasmaot_rt_stack_limit_cell(), UINTPTR_MAX, __ATOMIC_SEQ_CST);
      protect_page(PROT_NONE);
    }
  }
  return NULL;
}

static int start_watchdog(void) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&wake, &attr);
  pthread_condattr_destroy(&attr);
  pthread_attr_t tattr;
  pthread_attr_init(&tattr);
  pthread_attr_setdetachstate(&tattr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&tattr, 64 * 1024); /* it only sleeps */
  /* Created with every signal blocked (it inherits the mask), so process
   * signals (SIGINT, the embedder's SIGALRM, ...) go to the threads that
   * expect them, never to the watchdog. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t th;
  int rc = pthread_create(&th, &tattr, watchdog, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&tattr);
  return rc == 0 ? 0 : -1;
}

int wasmaot_set_timeout(uint64_t timeout_ns) {
  pthread_mutex_lock(&lock);
  if (!watchdog_started) {
    if (start_watchdog() != 0) {
      pthread_mutex_unlock(&lock);
      return -1;
    }
    watchdog_started = 1;
  }
  if (__atomic_load_n(&fired, __ATOMIC_SEQ_CST)) {
    protect_page(PROT_READ);
    __atomic_store_n(&fired, 0, __ATOMIC_SEQ_CST);
  }
  armed = timeout_ns != 0;
  if (armed) {
    /* timeout_ns / 1e9 < 2^35 seconds: the sum cannot overflow a 64-bit time_t. */
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(timeout_ns / 1000000000u);
    deadline.tv_nsec += (long)(timeout_ns % 1000000000u);
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
  }
  pthread_cond_signal(&wake);
  pthread_mutex_unlock(&lock);
  return 0;
}
