/* sandbox_open: the single entry point that resolves a guest path.
 *
 * ====================================================================================
 *  SANDBOX-CRITICAL.  Changes need a second reviewer.
 * ====================================================================================
 *
 * Fast path: openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, where the
 * kernel itself refuses every lookup that would leave `start` (EXDEV) --
 * `..` above it, absolute paths and absolute symlinks, relative symlinks that
 * climb out -- and every /proc-style magic link.  When openat2 is missing
 * (kernels before 5.6: ENOSYS) or filtered (seccomp: EPERM), or keeps racing
 * (EAGAIN), the manual resolver (manual.c) does the same walk in user space.
 * Both give the same answers on every escape vector; tests/wasi_c runs every
 * vector against both (WASMAOT_RT_SANDBOX_FORCE_FALLBACK).
 */
#include "sandbox.h"

#include <errno.h>
#include <string.h>

#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef RESOLVE_BENEATH
#define RESOLVE_BENEATH 0x08
#endif

/* openat2 retries on EAGAIN before the manual resolver takes over.  The
 * kernel returns EAGAIN when a rename or mount anywhere in the system raced
 * with a `..` lookup under RESOLVE_BENEATH; a busy system could make that
 * happen every time, so the retries are bounded (cap-std does the same). */
#define OPENAT2_EAGAIN_RETRIES 4

static struct sandbox_stats stats;

void sandbox_get_stats(struct sandbox_stats *out) { *out = stats; }

#ifndef WASMAOT_RT_SANDBOX_FORCE_FALLBACK
/* 0: not known yet or works; 1: the kernel has no openat2 (remembered). */
static int openat2_missing;

/* 1 and *result set if openat2 answered; 0 if the manual resolver must. */
static int try_openat2(int start, const char *path, int flags, mode_t mode, int *result) {
  if (openat2_missing) return 0;
  struct sandbox_open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(unsigned)(flags | O_CLOEXEC);
  /* openat2 rejects a mode without O_CREAT/O_TMPFILE (open(2) ignores it).
   * O_TMPFILE includes the O_DIRECTORY bit: test all of its bits. */
  int creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
  how.mode = creates ? (uint64_t)(mode & 07777) : 0;
  /* RESOLVE_BENEATH stops `..` above start, absolute paths and absolute or
   * escaping symlinks; RESOLVE_NO_MAGICLINKS stops /proc/self/fd/N-style
   * links, which jump to any open file regardless of the tree. */
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0; attempt < OPENAT2_EAGAIN_RETRIES; attempt++) {
    int r = openat2_unchecked(start, path, &how);
    switch (r) {
    case -EAGAIN:   /* raced with a rename/mount: try again, a bounded number of times */
      continue;
    case -ENOSYS:   /* no openat2 in this kernel: remember, never ask again */
      openat2_missing = 1;
      return 0;
    case -EPERM:    /* typically a seccomp filter that does not know openat2; a
                       genuine EPERM is reproduced by the manual resolver */
      return 0;
    case -EXDEV:    /* the kernel saw the path leave `start`: an escape attempt */
      *result = -SANDBOX_ENOTCAPABLE;
      return 1;
    default:        /* an fd, or the answer (ENOENT, ELOOP, EACCES, ...) */
      *result = r;
      return 1;
    }
  }
  return 0;
}
#endif

int sandbox_open(int start, const char *path, int flags, mode_t mode) {
  /* An empty path names nothing (open("") is ENOENT), never `start` itself. */
  if (path[0] == '\0') return -ENOENT;
  /* ATTACK: an absolute path ("/etc/passwd") would be resolved from the host's
   * root.  A guest path is always relative to the directory it came with. */
  if (path[0] == '/') return -SANDBOX_ENOTCAPABLE;
  if (strlen(path) > SANDBOX_PATH_MAX) return -ENAMETOOLONG;
  int r;
#ifndef WASMAOT_RT_SANDBOX_FORCE_FALLBACK
  if (try_openat2(start, path, flags, mode, &r)) {
    stats.openat2++;
    if (r >= 0) sandbox_paranoid_check(start, r, "openat2");
    return r;
  }
#endif
  stats.manual++;
  r = sandbox_open_manual(start, path, flags, mode);
  if (r >= 0) sandbox_paranoid_check(start, r, "manual resolution");
  return r;
}
