/* Operations whose last component is special: resolve the parent in the
 * sandbox, then act on the basename with one *at call that does not follow it.
 *
 * ====================================================================================
 *  SANDBOX-CRITICAL.  Changes need a second reviewer.
 * ====================================================================================
 *
 * mkdir, unlink, rmdir, rename, link, symlink and readlink name the last
 * component itself (a symlink there is the object, not a way elsewhere), and
 * stat / set-times do when not following.  So the directory holding it is
 * opened with sandbox_open (intermediate symlinks followed, inside), and the
 * *at call gets that handle plus a single name that is never "..": the kernel
 * resolves exactly one name inside a directory we already hold.
 *
 * Why each restriction holds:
 *   - link and rename act between two handles both obtained here, so nothing
 *     can be linked or moved from outside a grant into it, or out of it;
 *   - link never follows a symlink in the source (linkat without
 *     AT_SYMLINK_FOLLOW): a link to "victim -> /etc/shadow" links the symlink;
 *   - symlink refuses targets that are absolute or climb above the grant from
 *     where the link is made, so no link the guest leaves behind can send a
 *     host program (or another grant) outside it.
 */
#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void sandbox_parent_close(struct sandbox_parent *p) {
  if (p->owned && p->fd >= 0) close_unchecked(p->fd);
  p->fd = -1;
  p->owned = 0;
}

int sandbox_open_parent(int start, const char *path, struct sandbox_parent *out) {
  out->fd = -1;
  out->owned = 0;
  out->trailing_slash = 0;
  out->base[0] = '\0';
  size_t n = strlen(path);
  if (n == 0) return -ENOENT;
  /* ATTACK: an absolute path is resolved from the host's root. */
  if (path[0] == '/') return -SANDBOX_ENOTCAPABLE;
  if (n > SANDBOX_PATH_MAX) return -ENAMETOOLONG;
  /* "a/b/" names b, which must then be a directory (callers check). */
  size_t end = n;
  while (end > 0 && path[end - 1] == '/') end--;
  out->trailing_slash = end < n;
  size_t b = end;
  while (b > 0 && path[b - 1] != '/') b--;
  size_t blen = end - b;
  if (blen >= sizeof out->base) return -ENAMETOOLONG;
  memcpy(out->base, path + b, blen);
  out->base[blen] = '\0';

  char dir[SANDBOX_PATH_MAX + 1];
  if (sandbox_is_dot(out->base) || sandbox_is_dotdot(out->base)) {
    /* ATTACK: "..": the kernel would take `parent/..` from the real tree,
     * which for the grant's root is outside it.  The whole path is resolved
     * instead (`..` pops inside the resolver, refused above `start`) and the
     * operation acts on "." of the directory reached. */
    memcpy(dir, path, end);
    dir[end] = '\0';
    strcpy(out->base, ".");
  } else if (b == 0) {
    out->fd = start; /* "name": the parent is `start` itself */
    return 0;
  } else {
    memcpy(dir, path, b); /* "a/b/name" -> "a/b/" */
    dir[b] = '\0';
  }
  int fd = sandbox_open(start, dir, O_PATH | O_DIRECTORY, 0);
  if (fd < 0) return fd;
  out->fd = fd;
  out->owned = 1;
  return 0;
}

/* With a trailing slash, the object named must be a directory: the errno an
 * operation on a non-directory gets (ENOENT if there is nothing). */
static int trailing_slash_error(const struct sandbox_parent *p, int if_dir) {
  struct stat st;
  int r = fstatat_unchecked(p->fd, p->base, &st, AT_SYMLINK_NOFOLLOW);
  if (r < 0) return r;
  return S_ISDIR(st.st_mode) ? if_dir : -ENOTDIR;
}

int sandbox_mkdir(int start, const char *path, mode_t mode) {
  struct sandbox_parent p;
  int r = sandbox_open_parent(start, path, &p);
  if (r == 0) r = mkdirat_unchecked(p.fd, p.base, mode);
  sandbox_parent_close(&p);
  return r;
}

int sandbox_unlink(int start, const char *path) {
  struct sandbox_parent p;
  int r = sandbox_open_parent(start, path, &p);
  if (r == 0) {
    /* "file/" is not a file (ENOTDIR); "dir/" is a directory (EISDIR). */
    r = p.trailing_slash ? trailing_slash_error(&p, -EISDIR) : unlinkat_unchecked(p.fd, p.base, 0);
  }
  sandbox_parent_close(&p);
  return r;
}

int sandbox_rmdir(int start, const char *path) {
  struct sandbox_parent p;
  int r = sandbox_open_parent(start, path, &p);
  if (r == 0) r = unlinkat_unchecked(p.fd, p.base, AT_REMOVEDIR); /* "." -> EINVAL */
  sandbox_parent_close(&p);
  return r;
}

int sandbox_rename(int old_start, const char *old_path, int new_start, const char *new_path) {
  struct sandbox_parent op, np;
  int r = sandbox_open_parent(old_start, old_path, &op);
  if (r < 0) {
    sandbox_parent_close(&op);
    return r;
  }
  r = sandbox_open_parent(new_start, new_path, &np);
  if (r == 0 && (op.trailing_slash || np.trailing_slash)) {
    /* "a/" or "b/": only a directory may be renamed so. */
    r = trailing_slash_error(&op, 0);
  }
  if (r == 0) r = renameat_unchecked(op.fd, op.base, np.fd, np.base);
  sandbox_parent_close(&np);
  sandbox_parent_close(&op);
  return r;
}

/* "x/" names what x resolves to -- following a symlink there, as every path
 * with a trailing slash does -- and that must be a directory: 0 if it is,
 * -ENOENT if nothing is there (a dangling link included), -ENOTDIR if a
 * non-directory is, -SANDBOX_ENOTCAPABLE if resolving it would leave `start`.
 *
 * The check for BOTH paths of link and for the new path of symlink.  (rename
 * differs: a slash on either name asks that the source be a directory, which
 * it may then replace or become, so sandbox_rename checks only the source, as
 * rename(2) does.)  Linux's link(2)/symlink(2) answer EEXIST
 * for a new name "file/" that exists as a non-directory; wasmtime answers
 * ENOTDIR, as resolving "file/" does anywhere else, and so does wasi-testsuite
 * (path_symlink_trailing_slashes): we follow the suite. */
static int slash_names_directory(int start, const char *path) {
  struct stat st;
  int r = sandbox_stat(start, path, 1, &st);
  if (r < 0) return r;
  return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int sandbox_link(int old_start, const char *old_path, int new_start, const char *new_path) {
  struct sandbox_parent op, np;
  int r = sandbox_open_parent(old_start, old_path, &op);
  if (r < 0) {
    sandbox_parent_close(&op);
    return r;
  }
  r = sandbox_open_parent(new_start, new_path, &np);
  /* The order of link(2): the old path's errors, then the new path's. */
  if (r == 0 && op.trailing_slash) r = slash_names_directory(old_start, old_path);
  if (r == 0 && np.trailing_slash) r = slash_names_directory(new_start, new_path);
  if (r == 0 && op.trailing_slash) {
    /* "x/" is a directory (checked above), which cannot be hard-linked: EEXIST
     * if the new name exists, else EPERM, as link(2) orders them.  linkat on
     * op.base could link a symlink "x" itself instead of what it names. */
    struct stat st;
    int e = fstatat_unchecked(np.fd, np.base, &st, AT_SYMLINK_NOFOLLOW);
    r = e == 0 ? -EEXIST : e == -ENOENT ? -EPERM : e;
  }
  /* flags 0: a symlink source is linked as the symlink, never followed.
   * ATTACK: following it would hard-link whatever it points at -- outside the
   * grant -- into the grant. */
  if (r == 0) r = linkat_unchecked(op.fd, op.base, np.fd, np.base, 0);
  sandbox_parent_close(&np);
  sandbox_parent_close(&op);
  return r;
}

/* How many levels `dirfd` lies below the grant root (root_dev, root_ino):
 * walks up with ".." handles.  These opens only measure: each O_PATH handle is
 * closed at once and nothing is read or changed through it.  -errno, or
 * SANDBOX_ENOTCAPABLE if the host root is reached without meeting the grant. */
static int depth_below_root(int dirfd, dev_t root_dev, ino_t root_ino) {
  int fd = dirfd, depth = 0, r = 0;
  for (;;) {
    struct stat st;
    r = fstatat_unchecked(fd, "", &st, AT_EMPTY_PATH);
    if (r < 0) break;
    if (st.st_dev == root_dev && st.st_ino == root_ino) {
      r = depth;
      break;
    }
    int up = openat_unchecked(fd, "..", O_PATH | O_DIRECTORY, 0);
    if (up < 0) {
      r = up;
      break;
    }
    struct stat ust;
    r = fstatat_unchecked(up, "", &ust, AT_EMPTY_PATH);
    if (fd != dirfd) close_unchecked(fd);
    fd = up;
    if (r < 0) break;
    if (ust.st_dev == st.st_dev && ust.st_ino == st.st_ino) { /* the host's root */
      r = -SANDBOX_ENOTCAPABLE;
      break;
    }
    if (++depth > SANDBOX_PATH_MAX) {
      r = -ELOOP;
      break;
    }
  }
  if (fd != dirfd) close_unchecked(fd);
  return r;
}

int sandbox_symlink(const char *target, int start, const char *path, dev_t root_dev,
                    ino_t root_ino) {
  if (target[0] == '\0') return -ENOENT; /* symlink("") is ENOENT */
  /* ATTACK: an absolute target ("/etc") always points outside the grant. */
  if (target[0] == '/') return -SANDBOX_ENOTCAPABLE;
  if (strlen(target) > SANDBOX_PATH_MAX) return -ENAMETOOLONG;
  struct sandbox_parent p;
  int r = sandbox_open_parent(start, path, &p);
  if (r == 0 && p.trailing_slash) {
    /* "name/": nothing can be made there; an existing directory is EEXIST. */
    r = slash_names_directory(start, path);
    if (r == 0) r = -EEXIST;
  }
  if (r == 0) r = depth_below_root(p.fd, root_dev, root_ino);
  if (r >= 0) {
    /* ATTACK: a relative target that climbs above the grant ("../../x" made
     * one level down).  Walk the target's text from the link's directory:
     * each name goes down a level, each ".." up one, and going above the
     * grant's root is refused.  (Links the target passes through are inside
     * the grant and were checked when made; the resolver checks them again
     * at every use.) */
    int level = r;
    r = 0;
    for (const char *c = target; *c;) {
      const char *e = strchr(c, '/');
      size_t len = e ? (size_t)(e - c) : strlen(c);
      if (len == 2 && c[0] == '.' && c[1] == '.') {
        if (level == 0) {
          r = -SANDBOX_ENOTCAPABLE;
          break;
        }
        level--;
      } else if (len > 0 && !(len == 1 && c[0] == '.')) {
        level++;
      }
      c += len;
      while (*c == '/') c++;
    }
  }
  if (r == 0) r = symlinkat_unchecked(target, p.fd, p.base);
  sandbox_parent_close(&p);
  return r;
}

long sandbox_readlink(int start, const char *path, char *buf, size_t len) {
  struct sandbox_parent p;
  long r = sandbox_open_parent(start, path, &p);
  if (r == 0 && p.trailing_slash) {
    /* "link/" resolves through the link: a directory is not a symlink. */
    struct stat st;
    int s = sandbox_stat(start, path, 1, &st);
    r = s < 0 ? s : S_ISDIR(st.st_mode) ? -EINVAL : -ENOTDIR;
  }
  if (r == 0) r = readlinkat_unchecked(p.fd, p.base, buf, len); /* "." -> EINVAL */
  sandbox_parent_close(&p);
  return r;
}

int sandbox_stat(int start, const char *path, int follow, struct stat *st) {
  size_t n = strlen(path);
  if (follow || (n > 0 && path[n - 1] == '/')) {
    /* Following (or "x/", which POSIX resolves through x): stat what the
     * sandboxed resolution reaches. */
    int fd = sandbox_open(start, path, O_PATH, 0);
    if (fd < 0) return fd;
    int r = fstatat_unchecked(fd, "", st, AT_EMPTY_PATH);
    close_unchecked(fd);
    return r;
  }
  struct sandbox_parent p;
  int r = sandbox_open_parent(start, path, &p);
  if (r == 0) r = fstatat_unchecked(p.fd, p.base, st, AT_SYMLINK_NOFOLLOW);
  sandbox_parent_close(&p);
  return r;
}

int sandbox_futimens(int fd, const struct timespec times[2]) {
  /* AT_EMPTY_PATH acts on `fd` itself, O_PATH handles included. */
  int r = utimensat_unchecked(fd, "", times, AT_EMPTY_PATH);
  if (r != -EINVAL) return r;
  /* Kernels without AT_EMPTY_PATH for utimensat: futimens works on fds opened
   * for I/O; an O_PATH handle is reached through its /proc/self/fd link, which
   * names exactly the file the handle holds (our own fd, not a guest path). */
  r = futimens_unchecked(fd, times);
  if (r != -EBADF) return r;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  return utimensat_unchecked(AT_FDCWD, proc, times, 0);
}

int sandbox_utimens(int start, const char *path, int follow, const struct timespec times[2]) {
  size_t n = strlen(path);
  if (follow || (n > 0 && path[n - 1] == '/')) {
    int fd = sandbox_open(start, path, O_PATH, 0);
    if (fd < 0) return fd;
    int r = sandbox_futimens(fd, times);
    close_unchecked(fd);
    return r;
  }
  struct sandbox_parent p;
  int r = sandbox_open_parent(start, path, &p);
  if (r == 0) r = utimensat_unchecked(p.fd, p.base, times, AT_SYMLINK_NOFOLLOW);
  sandbox_parent_close(&p);
  return r;
}

int sandbox_reopen_dir(int dirfd) {
  /* "." is the directory itself: one name, resolved inside the handle. */
  return openat_unchecked(dirfd, ".", O_RDONLY | O_DIRECTORY, 0);
}
