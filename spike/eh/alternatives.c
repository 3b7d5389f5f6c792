/* Issue 10 spike: the no-throw cost of the alternatives to zero-cost EH, as C
 * stand-ins for what generated code would do around one call that may throw:
 *   plain     the call alone (what zero-cost EH leaves on the no-throw path);
 *   setjmp    (B) a setjmp at every try entry, here one try per call, as C++
 *             code has in every function with a destructor (wasm2c's way);
 *   flag      (C) a pending-exception flag tested after every call.
 * The callee is noinline and clobbers memory (as a wasm call may), so the
 * flag is reloaded after every call. */
#define _POSIX_C_SOURCE 199309L
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct vmctx { int32_t pending; };

__attribute__((noinline)) int32_t small(struct vmctx *ctx, int32_t x) {
  (void)ctx;
  __asm__ volatile("" ::: "memory");
  return x * 3 + 1;
}

__attribute__((noinline)) int32_t loop_plain(struct vmctx *ctx, int32_t n) {
  int32_t acc = 0;
  for (int32_t i = 0; i < n; i++) acc += small(ctx, i);
  return acc;
}

static jmp_buf *volatile handler;

__attribute__((noinline)) int32_t loop_setjmp(struct vmctx *ctx, int32_t n) {
  volatile int32_t acc = 0; /* live across setjmp: must be in memory */
  for (int32_t i = 0; i < n; i++) {
    jmp_buf jb;
    jmp_buf *prev = handler;
    if (setjmp(jb) == 0) {
      handler = &jb;
      acc += small(ctx, i);
    }
    handler = prev;
  }
  return acc;
}

__attribute__((noinline)) int32_t loop_flag(struct vmctx *ctx, int32_t n) {
  int32_t acc = 0;
  for (int32_t i = 0; i < n; i++) {
    int32_t x = small(ctx, i);
    if (__builtin_expect(ctx->pending, 0)) return -1; /* to the handler */
    acc += x;
  }
  return acc;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void) {
  struct vmctx ctx = {0};
  const int32_t n = 100000000;
  struct { const char *name; int32_t (*f)(struct vmctx *, int32_t); double best; } v[] = {
      {"plain (zero-cost EH)", loop_plain, 1e9},
      {"(B) setjmp per try", loop_setjmp, 1e9},
      {"(C) flag after call", loop_flag, 1e9}};
  int32_t expect = loop_plain(&ctx, n);
  for (int rep = 0; rep < 5; rep++)
    for (int k = 0; k < 3; k++) {
      double t0 = now();
      int32_t r = v[k].f(&ctx, n);
      double dt = now() - t0;
      if (r != expect) printf("FAIL %s\n", v[k].name);
      if (dt < v[k].best) v[k].best = dt;
    }
  for (int k = 0; k < 3; k++)
    printf("alternatives: %-22s %.3f ns/call\n", v[k].name, v[k].best / n * 1e9);
  return 0;
}
