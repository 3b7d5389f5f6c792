/* Lists the directory argv[1]: the entry count, then every name sorted. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  DIR *d = argc == 2 ? opendir(argv[1]) : NULL;
  if (d == NULL) {
    printf("cannot open directory\n");
    return 1;
  }
  static char *names[100000];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < sizeof names / sizeof *names)
    names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, n, sizeof *names, by_name);
  printf("%zu entries\n", n);
  for (size_t i = 0; i < n; i++) printf("%s\n", names[i]);
  return 0;
}
