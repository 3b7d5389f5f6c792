/* wc: counts lines, words and bytes of every regular file under the
 * directory trees named on the command line, walking them with
 * opendir/readdir. Files are printed in sorted path order, then a total. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char **paths;
static size_t npaths, cap;

static void add_path(const char *p) {
  if (npaths == cap) {
    cap = cap ? cap * 2 : 64;
    paths = realloc(paths, cap * sizeof *paths);
    if (paths == NULL) { perror("wc"); exit(1); }
  }
  paths[npaths++] = strdup(p);
}

/* Appends every regular file under dir to paths; returns 0 or 1 on error. */
static int walk(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    fprintf(stderr, "wc: %s: %s\n", dir, strerror(errno));
    return 1;
  }
  int status = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) != 0) {
      fprintf(stderr, "wc: %s: %s\n", path, strerror(errno));
      status = 1;
    } else if (S_ISDIR(st.st_mode)) {
      status |= walk(path);
    } else if (S_ISREG(st.st_mode)) {
      add_path(path);
    }
  }
  closedir(d);
  return status;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Counts one file into c[0..2] (lines, words, bytes); returns 0 or 1. */
static int count(const char *path, unsigned long long c[3]) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "wc: %s: %s\n", path, strerror(errno));
    return 1;
  }
  int ch, in_word = 0;
  c[0] = c[1] = c[2] = 0;
  while ((ch = getc(f)) != EOF) {
    c[2]++;
    if (ch == '\n') c[0]++;
    if (isspace(ch)) {
      in_word = 0;
    } else if (!in_word) {
      in_word = 1;
      c[1]++;
    }
  }
  fclose(f);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: wc DIR...\n");
    return 2;
  }
  int status = 0;
  for (int i = 1; i < argc; i++) status |= walk(argv[i]);
  qsort(paths, npaths, sizeof *paths, by_name);
  unsigned long long total[3] = {0, 0, 0};
  for (size_t i = 0; i < npaths; i++) {
    unsigned long long c[3];
    if (count(paths[i], c) != 0) {
      status = 1;
      continue;
    }
    printf("%8llu %8llu %8llu %s\n", c[0], c[1], c[2], paths[i]);
    for (int k = 0; k < 3; k++) total[k] += c[k];
  }
  printf("%8llu %8llu %8llu total\n", total[0], total[1], total[2]);
  return status;
}
