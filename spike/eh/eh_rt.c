/* Spike for issue 10 (NOT product code): wasm exceptions unwinding native frames
 * with LLVM's zero-cost EH and the libunwind zig links (-lunwind).
 *
 * A miniature of the wasmaot runtime, just enough to test the mechanism:
 *   - vmctx: [0] -> stack-limit cell, [1..3] tag instances, [4] a guard region;
 *   - activation: sigsetjmp at the host entry; traps (wasmaot_rt_trap, a
 *     guard-page SIGSEGV) siglongjmp to it, exactly like runtime_c/trap.c;
 *   - exceptions: wasmaot_rt_throw allocates an exception object that starts
 *     with a struct _Unwind_Exception and unwinds with _Unwind_ForcedUnwind
 *     (or, WASMAOT_EH_TWO_PHASE=1, _Unwind_RaiseException, for comparison);
 *   - wasmaot_personality: the personality routine of every generated function
 *     with a landing pad; it reads LLVM's LSDA (.gcc_except_table) call-site
 *     table and installs the landing pad covering the call, for wasmaot
 *     exceptions only.
 *
 * Landing pads of try_table regions are `cleanup` pads: the generated code,
 * not the personality, compares the exception's tag instance with the
 * catch clauses (a tag's identity is a runtime pointer, which the
 * personality cannot see: it has no vmctx) and either branches to the catch
 * label or continues the unwind with _Unwind_Resume.  The entry thunk (the
 * activation boundary) has the only `catch` pad: it catches every wasmaot
 * exception, so an exception never unwinds past the activation into host
 * frames, and an uncaught one is reported by the host, not by abort().
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unwind.h>

/* "WASMAOT\0" read as a big-endian u64: our exception class.  The
 * personality ignores every other class (a C++ exception must never cross
 * wasm frames: host code catches its own before returning to wasm). */
#define WASMAOT_EXN_CLASS 0x5741534d414f5400ull

enum { TRAP_NONE = 0, TRAP_UNREACHABLE = 1, TRAP_MEMORY_OOB = 2, TRAP_STACK = 10,
       RESULT_EXCEPTION = 100 };

struct tag { const char *name; };

/* The exception object.  Offsets are part of the generated code's ABI
 * (spike.py reads payload at EXN_VALUES). */
struct exn {
  struct _Unwind_Exception uw;
  const struct tag *tag;   /* identity: the tag *instance* */
  uint32_t nvalues;
  uint64_t values[2];      /* payload, 8 bytes a value (i32 widened, f64 bits) */
};
_Static_assert(offsetof(struct exn, tag) == 32, "EXN_TAG");
_Static_assert(offsetof(struct exn, values) == 48, "EXN_VALUES");

struct vmctx {
  uintptr_t *stack_limit;
  const struct tag *tags[3];
  uint8_t *guard;
};

struct activation {
  sigjmp_buf jmp;
  int32_t trap;
  struct exn *escaped;
};

static __thread struct activation *current;
static uintptr_t stack_limit_cell = UINTPTR_MAX;
static uint8_t *guard_region;
static size_t guard_size = 1 << 16;
static int two_phase;
static uintptr_t throw_sp; /* the sp of the last throw, to measure the unwinder's stack use */

/* --- traps: exactly the existing mechanism --------------------------------- */

__attribute__((noreturn)) void wasmaot_rt_trap(struct vmctx *ctx, int32_t code) {
  (void)ctx;
  current->trap = code;
  siglongjmp(current->jmp, 1);
}

static void on_segv(int sig, siginfo_t *info, void *uc) {
  (void)sig; (void)uc;
  uintptr_t a = (uintptr_t)info->si_addr, g = (uintptr_t)guard_region;
  if (current && a >= g && a < g + guard_size) wasmaot_rt_trap(NULL, TRAP_MEMORY_OOB);
  /* Everything else (stack overflow past the limit is caught by the prologue). */
  signal(SIGSEGV, SIG_DFL);
}

/* --- exceptions -------------------------------------------------------------- */

static void exn_cleanup(_Unwind_Reason_Code why, struct _Unwind_Exception *uw) {
  (void)why;
  free(uw);
}

void wasmaot_rt_exn_free(struct exn *e) { free(e); }

/* Forced unwinding never stops on its own: the entry thunk's landing pad
 * takes over.  Reaching the end of the stack means wasm ran without an entry
 * thunk: a runtime bug, not a guest's. */
static _Unwind_Reason_Code stop_fn(int version, _Unwind_Action actions, uint64_t cls,
                                   struct _Unwind_Exception *uw, struct _Unwind_Context *uc,
                                   void *param) {
  (void)version; (void)cls; (void)uw; (void)uc; (void)param;
  if (actions & _UA_END_OF_STACK) {
    fprintf(stderr, "wasmaot runtime: a wasm exception reached the end of the stack\n");
    abort();
  }
  return _URC_NO_REASON;
}

__attribute__((noreturn)) void wasmaot_rt_throw_ref(struct exn *e) {
  _Unwind_Reason_Code r;
  throw_sp = (uintptr_t)__builtin_frame_address(0);
  if (two_phase)
    r = _Unwind_RaiseException(&e->uw);
  else
    r = _Unwind_ForcedUnwind(&e->uw, stop_fn, NULL);
  fprintf(stderr, "wasmaot runtime: unwinding a wasm exception failed (%d)\n", (int)r);
  abort();
}

__attribute__((noreturn)) void wasmaot_rt_throw(struct vmctx *ctx, const struct tag *tag,
                                                int32_t i, double d) {
  (void)ctx;
  struct exn *e = malloc(sizeof *e);
  if (!e) abort();
  memset(&e->uw, 0, sizeof e->uw);
  e->uw.exception_class = WASMAOT_EXN_CLASS;
  e->uw.exception_cleanup = exn_cleanup;
  e->tag = tag;
  e->nvalues = 2;
  e->values[0] = (uint32_t)i;
  memcpy(&e->values[1], &d, sizeof d);
  wasmaot_rt_throw_ref(e);
}

/* Called by the entry thunk's landing pad. */
void wasmaot_rt_escaped(struct vmctx *ctx, struct exn *e) {
  (void)ctx;
  current->escaped = e;
}

/* --- the personality: LSDA call-site table ----------------------------------- */

enum { DW_EH_PE_omit = 0xff, DW_EH_PE_absptr = 0x00, DW_EH_PE_uleb128 = 0x01,
       DW_EH_PE_udata4 = 0x03, DW_EH_PE_udata8 = 0x04, DW_EH_PE_sdata4 = 0x0b,
       DW_EH_PE_pcrel = 0x10 };

static uint64_t read_uleb(const uint8_t **p) {
  uint64_t v = 0;
  unsigned shift = 0;
  uint8_t b;
  do {
    b = *(*p)++;
    if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  return v;
}

/* The encodings LLVM uses in an LSDA's header and call-site table; anything
 * else is a toolchain change we must notice, not guess at. */
static uintptr_t read_encoded(const uint8_t **p, uint8_t enc) {
  const uint8_t *start = *p;
  uintptr_t v;
  switch (enc & 0x0f) {
    case DW_EH_PE_absptr: memcpy(&v, *p, 8); *p += 8; break;
    case DW_EH_PE_udata8: memcpy(&v, *p, 8); *p += 8; break;
    case DW_EH_PE_uleb128: v = (uintptr_t)read_uleb(p); break;
    case DW_EH_PE_udata4: { uint32_t u; memcpy(&u, *p, 4); *p += 4; v = u; break; }
    case DW_EH_PE_sdata4: { int32_t s; memcpy(&s, *p, 4); *p += 4; v = (uintptr_t)(intptr_t)s; break; }
    default: fprintf(stderr, "wasmaot personality: LSDA encoding 0x%x\n", enc); abort();
  }
  if ((enc & 0x70) == DW_EH_PE_pcrel) v += (uintptr_t)start;
  return v;
}

_Unwind_Reason_Code wasmaot_personality(int version, _Unwind_Action actions, uint64_t cls,
                                        struct _Unwind_Exception *uw,
                                        struct _Unwind_Context *uc) {
  if (version != 1) return _URC_FATAL_PHASE1_ERROR;
  if (cls != WASMAOT_EXN_CLASS) return _URC_CONTINUE_UNWIND;
  const uint8_t *p = _Unwind_GetLanguageSpecificData(uc);
  if (p == NULL) return _URC_CONTINUE_UNWIND;
  int before = 0;
  uintptr_t ip = _Unwind_GetIPInfo(uc, &before);
  if (!before) ip--; /* a return address: look up the call instruction itself */
  uintptr_t func = _Unwind_GetRegionStart(uc);

  uint8_t lpstart_enc = *p++;
  uintptr_t lpstart = lpstart_enc == DW_EH_PE_omit ? func : read_encoded(&p, lpstart_enc);
  uint8_t ttype_enc = *p++;
  if (ttype_enc != DW_EH_PE_omit) (void)read_uleb(&p); /* type table: unused */
  uint8_t cs_enc = *p++;
  uint64_t cs_len = read_uleb(&p);
  const uint8_t *end = p + cs_len;
  while (p < end) {
    uintptr_t start = read_encoded(&p, cs_enc);
    uintptr_t len = read_encoded(&p, cs_enc);
    uintptr_t lp = read_encoded(&p, cs_enc);
    uint64_t action = read_uleb(&p);
    if (ip < func + start) break; /* sorted: no entry covers ip */
    if (ip >= func + start + len) continue;
    if (lp == 0) return _URC_CONTINUE_UNWIND; /* a call outside every try region */
    /* action 0: a cleanup pad (try_table); else the entry thunk's catch pad. */
    if (actions & _UA_SEARCH_PHASE) return action ? _URC_HANDLER_FOUND : _URC_CONTINUE_UNWIND;
    _Unwind_SetGR(uc, __builtin_eh_return_data_regno(0), (uintptr_t)uw);
    _Unwind_SetGR(uc, __builtin_eh_return_data_regno(1), 0);
    _Unwind_SetIP(uc, lpstart + lp);
    return _URC_INSTALL_CONTEXT;
  }
  return _URC_CONTINUE_UNWIND;
}

/* --- host side ------------------------------------------------------------ */

typedef void (*entry_fn)(struct vmctx *, int32_t *args, double d, int32_t *result);

static int32_t invoke(entry_fn f, struct vmctx *ctx, int32_t *args, double d, int32_t *result,
                      struct exn **escaped) {
  struct activation act;
  act.trap = TRAP_NONE;
  act.escaped = NULL;
  struct activation *prev = current;
  int32_t code = TRAP_NONE;
  if (sigsetjmp(act.jmp, 0) == 0) {
    current = &act;
    f(ctx, args, d, result);
    if (act.escaped) code = RESULT_EXCEPTION;
  } else {
    code = act.trap;
  }
  current = prev;
  *escaped = act.escaped;
  return code;
}

/* The entry thunks and benchmark functions of spike.py's IR. */
void entry_outer(struct vmctx *, int32_t *, double, int32_t *);
void entry_recurse(struct vmctx *, int32_t *, double, int32_t *);
void entry_limit(struct vmctx *, int32_t *, double, int32_t *);
void entry_host(struct vmctx *, int32_t *, double, int32_t *);
void entry_bench_throw(struct vmctx *, int32_t *, double, int32_t *);
void entry_bench_throw_mismatch(struct vmctx *, int32_t *, double, int32_t *);
void entry_bench_loop_try(struct vmctx *, int32_t *, double, int32_t *);
void entry_bench_loop_plain(struct vmctx *, int32_t *, double, int32_t *);

static const struct tag tag_a = {"a"}, tag_b = {"b"}, tag_c = {"c"};
static int failures;

static void check(const char *what, int cond) {
  printf("%s %s\n", cond ? "ok  " : "FAIL", what);
  if (!cond) failures++;
}

static int32_t run(entry_fn f, struct vmctx *ctx, int32_t a0, int32_t a1, double d,
                   int32_t *result, struct exn **escaped) {
  int32_t args[2] = {a0, a1};
  *result = -1;
  return invoke(f, ctx, args, d, result, escaped);
}

/* The host import of @host_try: wasm in a nested activation throws tag c,
 * which escapes to this host frame as a value; rethrowing it from here
 * unwinds the outer activation's wasm frames. */
void host_reenter(struct vmctx *ctx) {
  int32_t args[2] = {2, 46}, r;
  struct exn *e;
  if (invoke(entry_outer, ctx, args, 6.5, &r, &e) == RESULT_EXCEPTION) wasmaot_rt_throw_ref(e);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Paint/scan the stack below the caller, to measure how deep a throw goes. */
#define PAINT (1024 * 1024)
__attribute__((noinline)) static void paint(void) {
  volatile uint8_t buf[PAINT];
  for (size_t i = 0; i < PAINT; i++) buf[i] = 0xa5;
}
__attribute__((noinline)) static uintptr_t lowest_touched(void) {
  volatile uint8_t buf[PAINT];
  size_t i = 0;
  while (i < PAINT && buf[i] == 0xa5) i++;
  uintptr_t base = (uintptr_t)(const void *)buf;
  return base + i;
}

static void tests(struct vmctx *ctx) {
  int32_t r;
  struct exn *e;
  /* which: 0 tag a, 1 tag b, 2 tag c, 3 unreachable, 4 guard page, 5 return */
  check("no throw: value returns", run(entry_outer, ctx, 5, 7, 1.5, &r, &e) == 0 && r == 7 + 1);
  int32_t code = run(entry_outer, ctx, 0, 42, 2.5, &r, &e);
  printf("     tag a caught by the inner try_table: code %d result %d\n", code, r);
  check("tag a caught 3 frames up (no-handler frame, musttail, stack args), i32+f64 payload",
        code == 0 && r == 100000 + 42 * 10 + 25);
  code = run(entry_outer, ctx, 1, 43, 3.5, &r, &e);
  check("tag b: inner try_table does not match, unwinding resumes, outer catches",
        code == 0 && r == 200000 + 43 * 10 + 35);
  code = run(entry_outer, ctx, 0, 99, 4.5, &r, &e);
  check("catch_ref + throw_ref of tag a: rethrown, outer catches with the same payload",
        code == 0 && r == 300000 + 99 * 10 + 45);
  code = run(entry_outer, ctx, 2, 44, 5.5, &r, &e);
  check("tag c: uncaught, reported at the host entry with tag and payload",
        code == RESULT_EXCEPTION && e && e->tag == &tag_c && (int32_t)e->values[0] == 44);
  if (e) wasmaot_rt_exn_free(e);
  code = run(entry_outer, ctx, 3, 0, 0, &r, &e);
  check("unreachable inside two try_tables: a trap, not caught", code == TRAP_UNREACHABLE);
  code = run(entry_outer, ctx, 4, 0, 0, &r, &e);
  check("guard-page SIGSEGV inside two try_tables: a trap, not caught", code == TRAP_MEMORY_OOB);
  code = run(entry_outer, ctx, 0, 42, 2.5, &r, &e);
  check("and exceptions still work after traps", code == 0 && r == 100000 + 42 * 10 + 25);
  /* Recursion inside a try_table until the stack limit: a trap. */
  code = run(entry_recurse, ctx, -1, 0, 0, &r, &e);
  check("stack exhaustion inside a try_table: the prologue check traps, not caught",
        code == TRAP_STACK);
  code = run(entry_limit, ctx, 0, 0, 0, &r, &e);
  check("throw 2 KiB above the stack limit: the unwinder runs in the margin, caught",
        code == 0 && r == 7);
  code = run(entry_host, ctx, 0, 0, 0, &r, &e);
  check("uncaught in a nested activation, handed to the host import, rethrown, caught outside",
        code == 0 && r == 400000 + 46 * 10 + 65);
  /* Deep recursion, then a throw caught at the top: the unwinder near the limit. */
  int32_t depth = 10000;
  paint();
  double t0 = now();
  code = run(entry_recurse, ctx, depth, 0, 0, &r, &e);
  double t1 = now();
  uintptr_t low = lowest_touched();
  check("throw from 10000 frames deep, caught at the top", code == 0 && r == depth);
  printf("     (that throw took %.1f us; the unwinder used %lu bytes of stack below the throw)\n",
         (t1 - t0) * 1e6, (unsigned long)(throw_sp - low));
}

static void bench(struct vmctx *ctx) {
  int32_t r;
  struct exn *e;
  int depths[] = {1, 10, 100};
  for (size_t i = 0; i < 3; i++) {
    int n = depths[i], iters = n >= 100 ? 20000 : 100000;
    double best = 1e9;
    for (int rep = 0; rep < 5; rep++) {
      double t0 = now();
      run(entry_bench_throw, ctx, n, iters, 0, &r, &e);
      double dt = (now() - t0) / iters;
      if (dt < best) best = dt;
    }
    if (r != iters) printf("FAIL bench_throw result %d\n", r), failures++;
    printf("bench throw+catch across %3d frames: %.2f us\n", n, best * 1e6);
  }
  for (int n = 1; n <= 10; n += 9) {
    int iters = 50000;
    double best = 1e9;
    for (int rep = 0; rep < 5; rep++) {
      double t0 = now();
      run(entry_bench_throw_mismatch, ctx, n, iters, 0, &r, &e);
      double dt = (now() - t0) / iters;
      if (dt < best) best = dt;
    }
    if (r != iters) printf("FAIL bench_throw_mismatch result %d\n", r), failures++;
    printf("bench throw+catch across %3d frames each with a non-matching try_table: %.2f us\n",
           n, best * 1e6);
  }
  int iters = 200000000;
  double tt = 1e9, tp = 1e9;
  int32_t rt = 0, rp = 0;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now();
    run(entry_bench_loop_try, ctx, iters, 0, 0, &rt, &e);
    double t1 = now();
    run(entry_bench_loop_plain, ctx, iters, 0, 0, &rp, &e);
    double t2 = now();
    if (t1 - t0 < tt) tt = t1 - t0;
    if (t2 - t1 < tp) tp = t2 - t1;
  }
  if (rt != rp) printf("FAIL loop results differ\n"), failures++;
  printf("bench call in a loop: inside try_table %.3f ns/call, without %.3f ns/call (%+.1f%%)\n",
         tt / iters * 1e9, tp / iters * 1e9, (tt / tp - 1) * 100);
}

int main(int argc, char **argv) {
  two_phase = getenv("WASMAOT_EH_TWO_PHASE") != NULL;
  guard_region = mmap(NULL, guard_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  static uint8_t altstack[1 << 16];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  /* 1 MiB of wasm stack below here; the 8 MiB main stack leaves the margin. */
  stack_limit_cell = (uintptr_t)__builtin_frame_address(0) - (1u << 20);
  struct vmctx ctx = {&stack_limit_cell, {&tag_a, &tag_b, &tag_c}, guard_region};
  printf("mode: %s\n", two_phase ? "two-phase (_Unwind_RaiseException)"
                                 : "forced (_Unwind_ForcedUnwind)");
  tests(&ctx);
  if (argc > 1 && strcmp(argv[1], "bench") == 0) bench(&ctx);
  printf("%s\n", failures ? "FAILED" : "all ok");
  return failures != 0;
}
