/* Traps in the way argv[1] names: unreachable, oob (a wild pointer past the
 * end of linear memory), stack (unbounded recursion), div (integer division
 * by zero). Prints a line first, which must reach stdout before the trap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int depth(volatile int n) {
  volatile char pad[256];
  if (n < 0) return 0;  /* never: n only grows, until the stack runs out */
  pad[n & 255] = (char)n;
  return depth(n + 1) + pad[0];
}

int main(int argc, char **argv) {
  const char *kind = argc > 1 ? argv[1] : "";
  printf("about to trap: %s\n", kind);
  fflush(stdout);
  if (strcmp(kind, "unreachable") == 0) __builtin_trap();
  if (strcmp(kind, "oob") == 0) return *(volatile int *)(uintptr_t)0xfffffff0u;
  if (strcmp(kind, "stack") == 0) return depth(0);
  if (strcmp(kind, "div") == 0) {
    volatile int zero = argc - 2;  /* argc is 2 */
    return (argc * 1000) / zero;   /* i32.div_s by zero */
  }
  return 0;
}
