/* Prints the whole environment, sorted, then getenv of each argument. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int by_string(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  size_t n = 0;
  while (environ[n] != NULL) n++;
  qsort(environ, n, sizeof *environ, by_string);
  printf("%zu variables\n", n);
  for (size_t i = 0; i < n; i++) printf("%s\n", environ[i]);
  for (int i = 1; i < argc; i++) {
    const char *v = getenv(argv[i]);
    printf("getenv(%s) = %s\n", argv[i], v ? v : "(null)");
  }
  return 0;
}
