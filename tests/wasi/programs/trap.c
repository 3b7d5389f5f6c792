/* Traps in the way argv[1] names, one per kind of WebAssembly trap:
 *   unreachable      the `unreachable` instruction
 *   oob              a load past the end of linear memory
 *   stack            unbounded recursion (call stack exhausted)
 *   div, div64       i32 / i64 integer division by zero
 *   rem              i32.rem_u by zero
 *   overflow         INT_MIN / -1 (i32.div_s integer overflow)
 *   convert-nan      i32.trunc_f64_s of NaN (invalid conversion to integer)
 *   convert-range    i64.trunc_f32_u of 1e30 (integer overflow in conversion)
 *   call-mismatch    call_indirect with the wrong signature
 *   call-null        call_indirect through a null table element
 *   call-oob         call_indirect past the end of the table
 * Prints a line first, which must reach stdout before the trap.  Operands are
 * volatile (or come from argc) so the compiler cannot fold the trap away. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int depth(volatile int n) {
  volatile char pad[256];
  if (n < 0) return 0;  /* never: n only grows, until the stack runs out */
  pad[n & 255] = (char)n;
  return depth(n + 1) + pad[0];
}

static int takes_nothing(void) { return 7; }

typedef int (*int_to_int)(int);
typedef int (*nothing_to_int)(void);

int main(int argc, char **argv) {
  const char *kind = argc > 1 ? argv[1] : "";
  volatile int zero = argc - 2;  /* argc is 2 */
  printf("about to trap: %s\n", kind);
  fflush(stdout);
  if (strcmp(kind, "unreachable") == 0) __builtin_trap();
  if (strcmp(kind, "oob") == 0) return *(volatile int *)(uintptr_t)0xfffffff0u;
  if (strcmp(kind, "stack") == 0) return depth(0);
  if (strcmp(kind, "div") == 0) return (argc * 1000) / zero;  /* i32.div_s */
  if (strcmp(kind, "div64") == 0) return (int)((long long)argc / (long long)zero);
  if (strcmp(kind, "rem") == 0) return (int)((unsigned)argc % (unsigned)zero);
  if (strcmp(kind, "overflow") == 0) {
    volatile int min = INT_MIN, minus_one = zero - 1;
    return min / minus_one;
  }
  if (strcmp(kind, "convert-nan") == 0) {
    volatile double nan = __builtin_nan("");
    return __builtin_wasm_trunc_s_i32_f64(nan);
  }
  if (strcmp(kind, "convert-range") == 0) {
    volatile float big = 1e30f;
    return (int)__builtin_wasm_trunc_u_i64_f32(big);
  }
  if (strcmp(kind, "call-mismatch") == 0) {
    volatile int_to_int f = (int_to_int)(void *)takes_nothing;
    return f(argc);
  }
  if (strcmp(kind, "call-null") == 0) {
    volatile nothing_to_int f = (nothing_to_int)(uintptr_t)zero;  /* table element 0 */
    return f();
  }
  if (strcmp(kind, "call-oob") == 0) {
    volatile nothing_to_int f = (nothing_to_int)(uintptr_t)(zero + 0x7ffffff0);
    return f();
  }
  printf("unknown kind\n");
  return 0;
}
