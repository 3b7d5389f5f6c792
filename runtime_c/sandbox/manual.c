/* The manual resolver: sandbox_open without openat2.
 *
 * ====================================================================================
 *  SANDBOX-CRITICAL.  Changes need a second reviewer.
 * ====================================================================================
 *
 * The path is walked one component at a time.  Each component is opened with
 * O_NOFOLLOW relative to the directory handle reached so far, so the kernel
 * never resolves more than one name and never follows a symlink on its own:
 *
 *   - a directory is pushed on a stack of open handles;
 *   - `..` pops a handle (the kernel never sees `..`, which it would resolve
 *     against the real tree, above `start`); popping past `start` is an escape;
 *   - `.` and empty components (`a//b`) stay where they are;
 *   - a symlink's target is read from the link's own O_PATH handle and spliced
 *     in front of the rest of the path, to be walked the same way -- so a link
 *     can reach nothing its text could not reach if typed by the guest.  An
 *     absolute target is an escape, and more than
 *     WASMAOT_RT_SANDBOX_MAX_SYMLINKS expansions in one resolution is ELOOP
 *     (chains and loops);
 *   - the last component is opened with the caller's flags plus O_NOFOLLOW; if
 *     that refuses a symlink (ELOOP) and the caller wants it followed, it is
 *     expanded like any other.  So O_CREAT and O_TRUNC only ever act on the
 *     final name inside the directory reached, never through a link.
 *
 * A trailing `/` ("a/") makes `a` an intermediate component (it must be a
 * directory, and a symlink there is followed, as POSIX says), after which the
 * directory itself is opened as ".".
 *
 * Races.  Every step is relative to a handle we hold, so renaming directories
 * around the walk cannot move it outside: a handle stays inside even if its
 * directory is moved (where it then is, is what a `..` pop returns to -- it is
 * the directory we entered, not a path re-resolved later).
 */
#include "sandbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Deepest directory stack; deeper: ENAMETOOLONG.  (A SANDBOX_PATH_MAX path has
 * at most 2048 components, and symlink expansion is bounded by the hop limit.) */
#define WALK_MAX_DEPTH 1024

struct walk {
  int start;                   /* the capability: never closed, never popped */
  int depth;                   /* handles on the stack */
  int stack[WALK_MAX_DEPTH];   /* owned directory handles below start */
  int hops;                    /* symlinks expanded so far */
  char *rest;                  /* what is left of the path */
  char *spare;                 /* the other buffer, for splicing */
  char buf_a[2 * SANDBOX_PATH_MAX + 2];
  char buf_b[2 * SANDBOX_PATH_MAX + 2];
};

static int walk_cur(const struct walk *w) {
  return w->depth ? w->stack[w->depth - 1] : w->start;
}

static void walk_pop(struct walk *w) {
  close_unchecked(w->stack[--w->depth]);
}

static void walk_free(struct walk *w) {
  while (w->depth) walk_pop(w);
}

/* Replaces the consumed symlink with `target`, in front of `next` (the rest of
 * the path after the link's component: "" or starting with '/'). */
static int splice_symlink(struct walk *w, const char *target, size_t tlen, const char *next) {
  /* ATTACK: a symlink chain or loop ("a -> b", "b -> a") would walk forever. */
  if (++w->hops > WASMAOT_RT_SANDBOX_MAX_SYMLINKS) return -ELOOP;
  if (tlen == 0) return -ENOENT; /* an empty symlink names nothing */
  /* ATTACK: an absolute symlink ("link -> /etc") is resolved from the host's
   * root, wherever the link lies. */
  if (target[0] == '/') return -SANDBOX_ENOTCAPABLE;
  size_t nlen = strlen(next);
  if (tlen + nlen > 2 * SANDBOX_PATH_MAX) return -ENAMETOOLONG;
  memcpy(w->spare, target, tlen);
  memcpy(w->spare + tlen, next, nlen + 1);
  char *old = w->spare == w->buf_a ? w->buf_b : w->buf_a; /* holds `next`: now spare */
  w->rest = w->spare;
  w->spare = old;
  return 0;
}

/* `fd` is an O_PATH|O_NOFOLLOW handle on a symlink: read it (from the handle,
 * so the link read is the one that was opened) and splice it in. */
static int follow_link_handle(struct walk *w, int fd, const char *next) {
  char target[SANDBOX_PATH_MAX + 1];
  long n = readlinkat_unchecked(fd, "", target, sizeof target);
  if (n < 0) return (int)n;
  if ((size_t)n >= sizeof target) return -ENAMETOOLONG;
  return splice_symlink(w, target, (size_t)n, next);
}

/* Opens the final component `name` of the walk (a single name, or "." for the
 * directory reached).  Returns an fd, -errno, or 1 if a symlink was spliced
 * and the walk must continue. */
static int open_last(struct walk *w, const char *name, const char *next, int flags, mode_t mode,
                     int follow) {
  int dir = walk_cur(w);
  /* O_NOFOLLOW always: a symlink in the last component is never followed by
   * the kernel.  ATTACK: O_CREAT or O_TRUNC through a link pointing outside
   * ("out -> ../../victim"): the kernel would create or truncate the target. */
  int fd = openat_unchecked(dir, name, flags | O_NOFOLLOW, mode);
  if (fd >= 0) {
    if (!(flags & O_PATH) || !follow) return fd;
    /* O_PATH|O_NOFOLLOW succeeds on a symlink (it names the link): follow it
     * ourselves if the caller asked to. */
    struct stat st;
    int r = fstatat_unchecked(fd, "", &st, AT_EMPTY_PATH);
    if (r < 0) {
      close_unchecked(fd);
      return r;
    }
    if (!S_ISLNK(st.st_mode)) return fd;
    r = follow_link_handle(w, fd, next);
    close_unchecked(fd);
    return r < 0 ? r : 1;
  }
  /* O_NOFOLLOW refused a symlink (ELOOP; ENOTDIR with O_DIRECTORY on some
   * kernels).  If following is wanted, expand it -- inside the sandbox. */
  if (!follow || (fd != -ELOOP && fd != -ENOTDIR && fd != -EMLINK)) return fd;
  int link = openat_unchecked(dir, name, O_PATH | O_NOFOLLOW, 0);
  if (link < 0) return fd;
  struct stat st;
  int r = fstatat_unchecked(link, "", &st, AT_EMPTY_PATH);
  if (r < 0 || !S_ISLNK(st.st_mode)) {
    close_unchecked(link);
    return fd; /* not a link after all: the original error stands */
  }
  r = follow_link_handle(w, link, next);
  close_unchecked(link);
  return r < 0 ? r : 1;
}

static int resolve(struct walk *w, int flags, mode_t mode) {
  /* O_NOFOLLOW from the caller means: do not follow a symlink in the last
   * component.  O_CREAT|O_EXCL never follows one either (POSIX). */
  int follow = !(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
  flags &= ~O_NOFOLLOW;
  /* ATTACK: an absolute path is resolved from the host's root. */
  if (w->rest[0] == '/') return -SANDBOX_ENOTCAPABLE;
  for (;;) {
    while (*w->rest == '/') w->rest++; /* separators, and `a//b` */
    if (*w->rest == '\0') {
      /* The path ended with '/' (or a symlink's target did): open the
       * directory reached itself.  O_CREAT here fails with EISDIR. */
      int r = open_last(w, ".", "", flags, mode, follow);
      if (r == 1) continue;
      return r;
    }
    char *next = strchr(w->rest, '/');
    if (next == NULL) next = w->rest + strlen(w->rest);
    size_t len = (size_t)(next - w->rest);
    char name[256];
    if (len >= sizeof name) return -ENAMETOOLONG;
    memcpy(name, w->rest, len);
    name[len] = '\0';
    int last = *next == '\0';
    w->rest = next;

    if (sandbox_is_dot(name)) {
      if (!last) continue;
      int r = open_last(w, ".", "", flags, mode, follow);
      if (r == 1) continue;
      return r;
    }
    if (sandbox_is_dotdot(name)) {
      /* ATTACK: `..` above the start directory ("../x", "a/../../x", or a
       * symlink whose target climbs out): popping past `start` is the escape.
       * The kernel is never given "..", which it would resolve against the
       * real tree (and through a directory moved since we entered it). */
      if (w->depth == 0) return -SANDBOX_ENOTCAPABLE;
      walk_pop(w);
      if (!last) continue;
      int r = open_last(w, ".", "", flags, mode, follow);
      if (r == 1) continue;
      return r;
    }
    if (last) {
      int r = open_last(w, name, next, flags, mode, follow);
      if (r == 1) continue;
      return r;
    }
    /* An intermediate component: it must be a directory, or a symlink to one
     * (always followed).  O_PATH opens nothing (no device side effects) and
     * O_NOFOLLOW makes a symlink open as itself. */
    int fd = openat_unchecked(walk_cur(w), name, O_PATH | O_NOFOLLOW, 0);
    if (fd < 0) return fd;
    struct stat st;
    int r = fstatat_unchecked(fd, "", &st, AT_EMPTY_PATH);
    if (r < 0) {
      close_unchecked(fd);
      return r;
    }
    if (S_ISDIR(st.st_mode)) {
      if (w->depth == WALK_MAX_DEPTH) {
        close_unchecked(fd);
        return -ENAMETOOLONG;
      }
      sandbox_paranoid_check(w->start, fd, "manual walk");
      w->stack[w->depth++] = fd;
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      r = follow_link_handle(w, fd, next);
      close_unchecked(fd);
      if (r < 0) return r;
      continue;
    }
    close_unchecked(fd);
    return -ENOTDIR;
  }
}

int sandbox_open_manual(int start, const char *path, int flags, mode_t mode) {
  if (path[0] == '\0') return -ENOENT;
  size_t n = strlen(path);
  if (n > SANDBOX_PATH_MAX) return -ENAMETOOLONG;
  /* ~16 KiB of buffers: on the heap, the caller may run on a small stack. */
  struct walk *w = malloc(sizeof *w);
  if (w == NULL) return -ENOMEM;
  w->start = start;
  w->depth = 0;
  w->hops = 0;
  memcpy(w->buf_a, path, n + 1);
  w->rest = w->buf_a;
  w->spare = w->buf_b;
  int r = resolve(w, flags, mode);
  walk_free(w);
  free(w);
  return r;
}
