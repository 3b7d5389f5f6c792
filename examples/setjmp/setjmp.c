/* setjmp [ROUNDS]: setjmp/longjmp the way C programs use them, printing what
 * happened and a checksum over everything (default 20000 rounds):
 *   calc      a recursive-descent calculator whose errors (division by zero,
 *             syntax, overflow, nesting too deep) longjmp from deep inside the
 *             recursion back to the loop that reads the expressions: error
 *             recovery from nested calls, across many frames;
 *   pcall     protected calls as interpreters (Lua) write them: a stack of
 *             jmp_bufs, the innermost handler catches, may re-raise to the one
 *             outside it, and handlers nest several levels deep;
 *   loop      ROUNDS iterations that each setjmp and then longjmp back from a
 *             chain of 0-6 calls: a longjmp into the same loop many times;
 *   rules     the C rules: longjmp(buf, 0) makes setjmp return 1, and a
 *             volatile local keeps what it was set to after the setjmp.
 *
 * Built for WASI, setjmp/longjmp are WebAssembly exceptions: clang turns each
 * setjmp into a call to __wasm_setjmp and each function that calls it into a
 * try_table that catches the tag __c_longjmp, and longjmp throws that tag.
 * See README.md (the tag is defined below because zig's wasi-libc does not).
 *
 * Build and run (as tests/wasi/test_exception_examples.py does):
 *   python -m ziglang cc -target wasm32-wasi -O2 -mexception-handling \
 *     -mllvm -wasm-enable-sjlj -mllvm -wasm-use-legacy-eh=false \
 *     examples/setjmp/setjmp.c -o setjmp.wasm
 *   wasmaot build setjmp.wasm -o setjmp && ./setjmp
 * and compare with `wasmtime -W exceptions=y setjmp.wasm`: the same bytes.
 * Built natively (zig cc -target x86_64-linux-musl) it prints the same. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__wasm__)
/* The exception tag that longjmp throws (its payload: a pointer to the
 * jmp_buf's argument block).  wasi-libc's setjmp runtime (rt.c) and the code
 * clang generates refer to it, but zig 0.17's wasi-libc does not define it, so
 * the link fails with "undefined symbol: __c_longjmp" without this. */
__asm__(".globl __c_longjmp\n"
        ".tagtype __c_longjmp i32\n"
        "__c_longjmp:\n");
#endif

static uint32_t checksum = 2166136261u; /* FNV-1a over every reported value */

static void mix(uint32_t v) {
  for (int i = 0; i < 4; i++) {
    checksum ^= (v >> (8 * i)) & 0xff;
    checksum *= 16777619u;
  }
}

/* --- calc: errors longjmp out of the recursion ---------------------------- */

enum calc_error { E_NONE, E_DIV0, E_SYNTAX, E_OVERFLOW, E_DEPTH };
static const char *const calc_error_names[] = {"", "division by zero", "syntax error",
                                               "overflow", "nesting too deep"};

struct parser {
  const char *p;
  int depth;
  jmp_buf fail; /* where every error goes: the loop in run_calc */
};

static _Noreturn void calc_fail(struct parser *ps, enum calc_error e) { longjmp(ps->fail, e); }

static int64_t checked(struct parser *ps, int64_t v) {
  if (v > INT32_MAX || v < INT32_MIN) calc_fail(ps, E_OVERFLOW);
  return v;
}

static void skip_spaces(struct parser *ps) {
  while (*ps->p == ' ') ps->p++;
}

static int64_t expr(struct parser *ps);

static int64_t primary(struct parser *ps) {
  skip_spaces(ps);
  if (*ps->p == '(') {
    if (++ps->depth > 40) calc_fail(ps, E_DEPTH);
    ps->p++;
    int64_t v = expr(ps);
    skip_spaces(ps);
    if (*ps->p++ != ')') calc_fail(ps, E_SYNTAX);
    ps->depth--;
    return v;
  }
  if (*ps->p == '-') {
    ps->p++;
    return checked(ps, -primary(ps));
  }
  if (*ps->p < '0' || *ps->p > '9') calc_fail(ps, E_SYNTAX);
  int64_t v = 0;
  while (*ps->p >= '0' && *ps->p <= '9') v = checked(ps, v * 10 + (*ps->p++ - '0'));
  return v;
}

static int64_t term(struct parser *ps) {
  int64_t v = primary(ps);
  for (;;) {
    skip_spaces(ps);
    char op = *ps->p;
    if (op != '*' && op != '/' && op != '%') return v;
    ps->p++;
    int64_t r = primary(ps);
    if (op == '*') {
      v = checked(ps, v * r);
    } else {
      if (r == 0) calc_fail(ps, E_DIV0);
      v = checked(ps, op == '/' ? v / r : v % r);
    }
  }
}

static int64_t expr(struct parser *ps) {
  int64_t v = term(ps);
  for (;;) {
    skip_spaces(ps);
    char op = *ps->p;
    if (op != '+' && op != '-') return v;
    ps->p++;
    int64_t r = term(ps);
    v = checked(ps, op == '+' ? v + r : v - r);
  }
}

static void run_calc(void) {
  static const char *const inputs[] = {
      "1 + 2 * 3",
      "(1 + 2) * 3",
      "100 / (5 - 5)",
      "((((((((7))))))))",
      "2 * (3 + 4) * (5 - (6 / (7 - 7)))",
      "12 % 5 + -3",
      "65536 * 65536",
      "(1 + 2",
      "((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))))",
      "2147483647 + 0",
      "2147483647 + 1",
      "9 9",
      "-(-(-(4 * 25)))",
  };
  int ok = 0, failed = 0;
  for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
    /* static: it changes between the setjmp and the longjmp, and an automatic
     * variable that does (and is not volatile) is indeterminate after it. */
    static struct parser ps;
    ps.p = inputs[i];
    ps.depth = 0;
    int e = setjmp(ps.fail);
    if (e == 0) {
      int64_t v = expr(&ps);
      skip_spaces(&ps);
      if (*ps.p != '\0') calc_fail(&ps, E_SYNTAX);
      printf("calc %-22.22s = %lld\n", inputs[i], (long long)v);
      mix((uint32_t)v);
      ok++;
    } else {
      /* The longjmp left the recursion at any depth: where it stopped tells
       * how far it had got. */
      printf("calc %-22.22s : %s at offset %d, depth %d\n", inputs[i], calc_error_names[e],
             (int)(ps.p - inputs[i]), ps.depth);
      mix(0x80000000u | (uint32_t)e << 16 | (uint32_t)(ps.p - inputs[i]));
      failed++;
    }
  }
  printf("calc: %d evaluated, %d errors\n", ok, failed);
}

/* --- pcall: a stack of handlers -------------------------------------------- */

struct handler {
  jmp_buf buf;
  struct handler *outer;
};

static struct handler *innermost; /* the handler an error goes to */
static char trace[512];
static size_t trace_len;

static void note(const char *what) {
  size_t n = strlen(what);
  if (trace_len + n + 2 < sizeof trace) {
    if (trace_len > 0) trace[trace_len++] = ' ';
    memcpy(trace + trace_len, what, n);
    trace_len += n;
    trace[trace_len] = '\0';
  }
}

static _Noreturn void raise_error(int code) {
  if (innermost == NULL) {
    printf("unprotected error %d\n", code);
    exit(3);
  }
  longjmp(innermost->buf, code);
}

/* Runs f(arg) with a handler: returns 0, or the error code f raised. */
static int pcall(void (*f)(int), int arg) {
  struct handler h;
  h.outer = innermost;
  innermost = &h;
  int code = setjmp(h.buf);
  if (code == 0) f(arg);
  innermost = h.outer; /* on both paths: the handler is gone */
  return code;
}

static void leaf(int n) {
  note("leaf");
  if (n % 2) raise_error(10 + n);
}

static void middle(int n) {
  note("middle");
  int code = pcall(leaf, n);
  if (code != 0) {
    char buf[32];
    snprintf(buf, sizeof buf, "caught%d", code);
    note(buf);
    if (n >= 3) raise_error(code * 2); /* re-raise to the next handler out */
  }
  note("middle-done");
}

static void outer(int n) {
  note("outer");
  int code = pcall(middle, n);
  if (code != 0) {
    char buf[32];
    snprintf(buf, sizeof buf, "outer-caught%d", code);
    note(buf);
    if (n == 5) raise_error(code + 1000);
  }
}

static void run_pcall(void) {
  for (int n = 0; n <= 5; n++) {
    trace_len = 0;
    trace[0] = '\0';
    int code = pcall(outer, n);
    printf("pcall %d -> %d: %s\n", n, code, trace);
    mix((uint32_t)code);
    for (size_t i = 0; i < trace_len; i++) mix((uint8_t)trace[i]);
  }
  printf("pcall: handler stack %s\n", innermost == NULL ? "empty" : "LEFT BEHIND");
}

/* --- loop: many longjmps into the same loop -------------------------------- */

static jmp_buf loop_buf;
static volatile uint32_t depth_reached;

static void descend(uint32_t i, uint32_t depth) {
  depth_reached = depth;
  if (depth == 0) longjmp(loop_buf, (int)(i % 1000) + 1);
  descend(i, depth - 1);
}

static void run_loop(uint32_t rounds) {
  uint64_t sum = 0;
  uint32_t jumps = 0, normal = 0;
  for (volatile uint32_t i = 0; i < rounds; i++) {
    int v = setjmp(loop_buf);
    if (v == 0) {
      if (i % 5 == 4) { /* every fifth round returns normally */
        normal++;
        sum += i;
        continue;
      }
      descend(i, i % 7);
    }
    /* Back here from a longjmp: v is what it passed. */
    jumps++;
    sum = sum * 31 + (uint32_t)v + depth_reached;
  }
  printf("loop: %u rounds, %u longjmps, %u normal, sum %llu\n", rounds, jumps, normal,
         (unsigned long long)sum);
  mix(jumps);
  mix((uint32_t)sum);
  mix((uint32_t)(sum >> 32));
}

/* --- rules: longjmp(buf, 0) and volatile locals ---------------------------- */

static jmp_buf rules_buf;

static void jump_zero(void) { longjmp(rules_buf, 0); }

static void run_rules(void) {
  volatile int counter = 0;
  int v = setjmp(rules_buf);
  counter++;
  if (v == 0) jump_zero();
  printf("rules: longjmp(buf, 0) made setjmp return %d; volatile counter %d\n", v, counter);
  mix((uint32_t)v);
  mix((uint32_t)counter);
}

int main(int argc, char **argv) {
  char *end = NULL;
  long rounds = argc > 1 ? strtol(argv[1], &end, 10) : 20000;
  if (argc > 2 || (argc > 1 && (*end != '\0' || rounds < 0 || rounds > 100000000))) {
    fprintf(stderr, "usage: setjmp [ROUNDS]  (0 to 100000000)\n");
    return 2;
  }
  run_calc();
  run_pcall();
  run_loop((uint32_t)rounds);
  run_rules();
  printf("checksum %08x\n", checksum);
  return 0;
}
