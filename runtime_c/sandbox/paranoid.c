/* The paranoid cross-check (build switch WASMAOT_RT_PARANOID, see sandbox.h).
 *
 * ====================================================================================
 *  SANDBOX-CRITICAL.  Changes need a second reviewer.
 * ====================================================================================
 *
 * Independently of how a path was resolved, ask the kernel where the opened fd
 * really is (/proc/self/fd/N) and compare with where the start directory is.
 * A resolver bug that lets `..`, a symlink or a race carry an open outside the
 * start directory is then caught at the first such open, in tests, instead of
 * silently granting access.  Both paths are read after the open, so a rename
 * of the start directory in between can only cause a false alarm, never hide
 * an escape that /proc shows.
 */
#include "sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The real path of `fd` into buf; 0, or -1 if /proc is unavailable. */
static int fd_path(int fd, char *buf, size_t len) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  /* Reading the magic link is safe: it only reports the kernel's path. */
  ssize_t n = readlink(proc, buf, len - 1);
  if (n < 0 || (size_t)n >= len - 1) return -1;
  buf[n] = '\0';
  return 0;
}

int sandbox_fd_is_beneath(int start, int fd) {
  char sp[SANDBOX_PATH_MAX + 64], fp[SANDBOX_PATH_MAX + 64];
  if (fd_path(start, sp, sizeof sp) < 0 || fd_path(fd, fp, sizeof fp) < 0) return -1;
  size_t n = strlen(sp);
  if (n == 1 && sp[0] == '/') return 1; /* the start is the root: everything is beneath */
  /* Beneath means: the same path, or the start's path plus '/' and more --
   * never a sibling that merely shares a prefix ("/grant" vs "/grant2"). */
  return strncmp(sp, fp, n) == 0 && (fp[n] == '\0' || fp[n] == '/');
}

void sandbox_paranoid_check(int start, int fd, const char *what) {
#ifdef WASMAOT_RT_PARANOID
  int r = sandbox_fd_is_beneath(start, fd);
  if (r == 1) return;
  char sp[SANDBOX_PATH_MAX + 64] = "?", fp[SANDBOX_PATH_MAX + 64] = "?";
  fd_path(start, sp, sizeof sp);
  fd_path(fd, fp, sizeof fp);
  fprintf(stderr, "wasmaot sandbox (paranoid): %s: %s %s is not beneath %s\n", what,
          r < 0 ? "cannot read /proc/self/fd for" : "opened", fp, sp);
  abort();
#else
  (void)start;
  (void)fd;
  (void)what;
#endif
}
