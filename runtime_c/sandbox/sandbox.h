/* The capability path sandbox: resolve a guest path relative to a directory
 * handle without ever leaving it (cap-std's shape, see cap-primitives).
 *
 * ====================================================================================
 *  SANDBOX-CRITICAL.  Everything under runtime_c/sandbox/ decides which host files
 *  a guest can reach.  Changes need a second reviewer.
 * ====================================================================================
 *
 * The rule.  A directory fd is a capability: a path given with it may name
 * only that directory and what lies beneath it, as the kernel sees the tree at
 * the moment of each step.  `..` may go up only as far as the directory itself
 * (popping past it is an escape), absolute paths are escapes, and symlinks are
 * followed only as if their target had been written in the path (an absolute
 * target, or one whose `..`s climb out, is an escape).  An escape fails with
 * SANDBOX_ENOTCAPABLE, nothing is created, truncated or changed.
 *
 * Files.
 *   open.c       sandbox_open: the ONLY entry point that resolves a whole path.
 *                Fast path openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
 *                otherwise the manual resolver.
 *   manual.c     the fallback: one component at a time with O_NOFOLLOW, a stack
 *                of parent fds, our own symlink expansion under a hop limit.
 *   via_parent.c operations whose last component is special (mkdir, unlink,
 *                rmdir, rename, link, symlink, readlink, stat and set-times
 *                without following): sandbox_open_parent, then the *at call on
 *                the basename, never following it.
 *   unchecked.c  every raw syscall that takes a path or acts on a file, named
 *                *_unchecked: grep for `_unchecked` finds every unsandboxed call.
 *   ambient.c    the only calls that use ambient authority (absolute host paths),
 *                named *_ambient: opening the preopened directories at startup.
 *   paranoid.c   the WASMAOT_RT_PARANOID cross-check.
 *
 * Errors.  Functions return >= 0 on success and -errno (host errno values) on
 * failure; an escape is -SANDBOX_ENOTCAPABLE, a value no host errno takes.
 *
 * Build switches (each may be set with -D; none can weaken the sandbox):
 *
 *   WASMAOT_RT_PARANOID (default off)
 *     After every successful resolution, read the opened fd's real path back
 *     through /proc/self/fd and abort() if it does not lie under the start
 *     directory's (cap-std's `racy_asserts`).  Costs two readlinks per open;
 *     the sandbox tests always build with it.
 *
 *   WASMAOT_RT_SANDBOX_FORCE_FALLBACK (default off)
 *     Never use openat2: always resolve with the manual walker.  For testing
 *     the fallback on kernels that have openat2 (both paths are tested).
 *
 *   WASMAOT_RT_SANDBOX_MAX_SYMLINKS (default 40, Linux's MAXSYMLINKS)
 *     Symlinks the manual resolver follows in one resolution before ELOOP.
 */
#ifndef WASMAOT_SANDBOX_H
#define WASMAOT_SANDBOX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_PATH, AT_EMPTY_PATH, openat2's syscall number */
#endif

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#define SANDBOX_HIDDEN __attribute__((visibility("hidden")))

#ifndef WASMAOT_RT_SANDBOX_MAX_SYMLINKS
#define WASMAOT_RT_SANDBOX_MAX_SYMLINKS 40
#endif
#if WASMAOT_RT_SANDBOX_MAX_SYMLINKS < 1
#error "WASMAOT_RT_SANDBOX_MAX_SYMLINKS must be at least 1"
#endif

/* Longest path the sandbox resolves (bytes, without the NUL), including the
 * text that symlink expansion adds; longer: ENAMETOOLONG. */
#define SANDBOX_PATH_MAX 4096

/* "The path leads outside the directory": never a host errno value. */
#define SANDBOX_ENOTCAPABLE 100000

/* --- open.c: the entry point ------------------------------------------------------------ */

/* Opens `path` relative to directory fd `start`, with open(2) `flags` (O_CLOEXEC
 * is always added; O_NOFOLLOW means "do not follow a symlink in the LAST
 * component", intermediate symlinks are always followed, inside the sandbox)
 * and `mode` (used with O_CREAT).  Returns the new fd or -errno. */
SANDBOX_HIDDEN int sandbox_open(int start, const char *path, int flags, mode_t mode);

/* Which resolver sandbox_open used, for tests: counts since the process began. */
struct sandbox_stats {
  uint64_t openat2;  /* resolutions answered by openat2 */
  uint64_t manual;   /* resolutions by the manual walker */
};
SANDBOX_HIDDEN void sandbox_get_stats(struct sandbox_stats *out);

/* --- manual.c ------------------------------------------------------------------------------ */

/* The fallback resolver; same contract as sandbox_open. */
SANDBOX_HIDDEN int sandbox_open_manual(int start, const char *path, int flags, mode_t mode);

/* --- via_parent.c ------------------------------------------------------------------------- */

struct sandbox_parent {
  int fd;               /* directory holding the last component (O_PATH) */
  int owned;            /* 1: fd must be closed (sandbox_parent_close) */
  int trailing_slash;   /* the path ended in '/': the object must be a directory */
  char base[256];       /* the last component: a name or "." -- never "..", never
                           empty, never containing '/' */
};

/* Resolves all but the last component of `path` under `start`. */
SANDBOX_HIDDEN int sandbox_open_parent(int start, const char *path, struct sandbox_parent *out);
SANDBOX_HIDDEN void sandbox_parent_close(struct sandbox_parent *p);

SANDBOX_HIDDEN int sandbox_mkdir(int start, const char *path, mode_t mode);
SANDBOX_HIDDEN int sandbox_unlink(int start, const char *path);
SANDBOX_HIDDEN int sandbox_rmdir(int start, const char *path);
SANDBOX_HIDDEN int sandbox_rename(int old_start, const char *old_path, int new_start,
                                  const char *new_path);
/* Hard link; never follows a symlink in old_path's last component.  A trailing
 * slash on either path asks for a directory there (ENOENT / ENOTDIR if not);
 * a directory is never linked (EEXIST / EPERM). */
SANDBOX_HIDDEN int sandbox_link(int old_start, const char *old_path, int new_start,
                                const char *new_path);
/* Creates symlink `path` -> `target` ("name/": ENOENT, ENOTDIR or EEXIST as
 * name is missing, a non-directory or a directory).  `root_dev`/`root_ino`
 * identify the top of the grant: a target that is absolute, or whose `..`s
 * climb above the grant from where the link is made, is refused
 * (SANDBOX_ENOTCAPABLE). */
SANDBOX_HIDDEN int sandbox_symlink(const char *target, int start, const char *path,
                                   dev_t root_dev, ino_t root_ino);
/* Reads symlink `path` (never follows its last component).  Returns the
 * length copied (truncated to len) or -errno. */
SANDBOX_HIDDEN long sandbox_readlink(int start, const char *path, char *buf, size_t len);
SANDBOX_HIDDEN int sandbox_stat(int start, const char *path, int follow, struct stat *st);
SANDBOX_HIDDEN int sandbox_utimens(int start, const char *path, int follow,
                                   const struct timespec times[2]);

/* Opens a new read-only handle on directory fd `dirfd` itself (for readdir and
 * for O_PATH handles that cannot be read).  -errno on failure. */
SANDBOX_HIDDEN int sandbox_reopen_dir(int dirfd);

/* Sets the times of the file open as `fd` (O_PATH handles too). */
SANDBOX_HIDDEN int sandbox_futimens(int fd, const struct timespec times[2]);

/* --- ambient.c ------------------------------------------------------------------------------ */

/* Opens host directory `host_path` (absolute or relative to the process's
 * cwd) as an O_PATH|O_DIRECTORY handle: the grant's root.  AMBIENT AUTHORITY:
 * only wasmaot_wasi_init calls it, with paths the user granted. */
SANDBOX_HIDDEN int sandbox_open_dir_ambient(const char *host_path);

/* --- unchecked.c: raw calls (every one named *_unchecked) ---------------------------------- */

struct sandbox_open_how {  /* the kernel's struct open_how */
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
SANDBOX_HIDDEN int openat2_unchecked(int dirfd, const char *path, const struct sandbox_open_how *how);
SANDBOX_HIDDEN int openat_unchecked(int dirfd, const char *path, int flags, mode_t mode);
SANDBOX_HIDDEN int fstatat_unchecked(int dirfd, const char *path, struct stat *st, int flags);
SANDBOX_HIDDEN long readlinkat_unchecked(int dirfd, const char *path, char *buf, size_t len);
SANDBOX_HIDDEN int mkdirat_unchecked(int dirfd, const char *path, mode_t mode);
SANDBOX_HIDDEN int unlinkat_unchecked(int dirfd, const char *path, int flags);
SANDBOX_HIDDEN int renameat_unchecked(int olddirfd, const char *oldpath, int newdirfd,
                                      const char *newpath);
SANDBOX_HIDDEN int linkat_unchecked(int olddirfd, const char *oldpath, int newdirfd,
                                    const char *newpath, int flags);
SANDBOX_HIDDEN int symlinkat_unchecked(const char *target, int dirfd, const char *path);
SANDBOX_HIDDEN int utimensat_unchecked(int dirfd, const char *path, const struct timespec times[2],
                                       int flags);
SANDBOX_HIDDEN int futimens_unchecked(int fd, const struct timespec times[2]);
SANDBOX_HIDDEN int close_unchecked(int fd);

/* --- paranoid.c ------------------------------------------------------------------------------- */

/* With WASMAOT_RT_PARANOID: aborts unless `fd`'s real path is `start`'s or
 * lies beneath it.  Without: does nothing. */
SANDBOX_HIDDEN void sandbox_paranoid_check(int start, int fd, const char *what);
/* The check itself, in every build (tests call it directly): 1 if fd lies
 * beneath start, 0 if not, -1 if /proc/self/fd could not be read. */
SANDBOX_HIDDEN int sandbox_fd_is_beneath(int start, int fd);

/* --- small helpers ------------------------------------------------------------------------------ */

/* 1 if `name` (a single component, NUL-terminated) is "." or "..". */
static inline int sandbox_is_dot(const char *name) {
  return name[0] == '.' && name[1] == '\0';
}
static inline int sandbox_is_dotdot(const char *name) {
  return name[0] == '.' && name[1] == '.' && name[2] == '\0';
}

#endif
