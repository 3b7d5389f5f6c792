/* random_get: two draws differ and neither is constant. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int constant(const unsigned char *p, size_t n) {
  for (size_t i = 1; i < n; i++)
    if (p[i] != p[0]) return 0;
  return 1;
}

int main(void) {
  unsigned char a[256], b[256];
  if (getentropy(a, sizeof a) != 0 || getentropy(b, sizeof b) != 0) {
    printf("getentropy failed\n");
    return 1;
  }
  printf("draws differ: %s\n", memcmp(a, b, sizeof a) != 0 ? "yes" : "no");
  printf("draws constant: %s\n", constant(a, sizeof a) || constant(b, sizeof b) ? "yes" : "no");
  return 0;
}
