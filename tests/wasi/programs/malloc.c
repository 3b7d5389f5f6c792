/* Allocates 1 MiB blocks until malloc fails (built with a 64 MiB memory
 * maximum), touching each, then frees them and allocates again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *blocks[4096];

int main(void) {
  size_t n = 0;
  while (n < sizeof blocks / sizeof *blocks && (blocks[n] = malloc(1 << 20)) != NULL) {
    memset(blocks[n], (int)n, 1 << 20);
    n++;
  }
  printf("allocated %zu MiB before malloc returned NULL\n", n);
  for (size_t i = 0; i < n; i++)
    if (((unsigned char *)blocks[i])[12345] != (unsigned char)i) {
      printf("block %zu corrupted\n", i);
      return 1;
    }
  for (size_t i = 0; i < n; i++) free(blocks[i]);
  void *again = malloc(16 << 20);
  printf("16 MiB after freeing everything: %s\n", again != NULL ? "ok" : "NULL");
  return 0;
}
