/* Raw system calls on paths and files, each named *_unchecked.
 *
 * ====================================================================================
 *  SANDBOX-CRITICAL.  These calls do NOT confine anything: the kernel resolves
 *  their paths with the process's full authority.  Callers must pass a
 *  directory fd that is inside a grant and a path that is a single component
 *  that is not ".." (or an openat2 `how` with RESOLVE_BENEATH).  Changes need a
 *  second reviewer.
 * ====================================================================================
 *
 * Every function returns >= 0 or -errno, retrying EINTR where the call can be
 * interrupted, so callers never read `errno`.
 */
#include "sandbox.h"

#include <errno.h>
#include <stdio.h> /* renameat */
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437 /* the same number on x86_64 and aarch64 (asm-generic) */
#endif

int openat2_unchecked(int dirfd, const char *path, const struct sandbox_open_how *how) {
  long r;
  do {
    r = syscall(SYS_openat2, dirfd, path, how, sizeof *how);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : (int)r;
}

int openat_unchecked(int dirfd, const char *path, int flags, mode_t mode) {
  int r;
  do {
    r = openat(dirfd, path, flags | O_CLOEXEC, mode);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

int fstatat_unchecked(int dirfd, const char *path, struct stat *st, int flags) {
  return fstatat(dirfd, path, st, flags) < 0 ? -errno : 0;
}

long readlinkat_unchecked(int dirfd, const char *path, char *buf, size_t len) {
  ssize_t r = readlinkat(dirfd, path, buf, len);
  return r < 0 ? -errno : (long)r;
}

int mkdirat_unchecked(int dirfd, const char *path, mode_t mode) {
  return mkdirat(dirfd, path, mode) < 0 ? -errno : 0;
}

int unlinkat_unchecked(int dirfd, const char *path, int flags) {
  return unlinkat(dirfd, path, flags) < 0 ? -errno : 0;
}

int renameat_unchecked(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
  return renameat(olddirfd, oldpath, newdirfd, newpath) < 0 ? -errno : 0;
}

int linkat_unchecked(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                     int flags) {
  return linkat(olddirfd, oldpath, newdirfd, newpath, flags) < 0 ? -errno : 0;
}

int symlinkat_unchecked(const char *target, int dirfd, const char *path) {
  return symlinkat(target, dirfd, path) < 0 ? -errno : 0;
}

int utimensat_unchecked(int dirfd, const char *path, const struct timespec times[2], int flags) {
  return utimensat(dirfd, path, times, flags) < 0 ? -errno : 0;
}

int futimens_unchecked(int fd, const struct timespec times[2]) {
  return futimens(fd, times) < 0 ? -errno : 0;
}

int close_unchecked(int fd) {
  /* Linux closes the fd even when close() fails with EINTR: never retry. */
  return close(fd) < 0 ? -errno : 0;
}
