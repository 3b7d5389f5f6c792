/* Reads stdin to the end; prints its size, line count and FNV-1a hash. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  unsigned char buf[1000];  /* odd size: reads straddle the pipe's chunks */
  unsigned long long bytes = 0, lines = 0;
  uint64_t h = 14695981039346656037ull;
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0)
    for (ssize_t i = 0; i < n; i++) {
      bytes++;
      lines += buf[i] == '\n';
      h = (h ^ buf[i]) * 1099511628211ull;
    }
  printf("bytes=%llu lines=%llu fnv=%016llx status=%s\n", bytes, lines, (unsigned long long)h,
         n == 0 ? "eof" : "error");
  return 0;
}
