/* path_* functions: every path the guest gives is resolved by the sandbox
 * (runtime_c/sandbox/) relative to the directory fd it came with.
 *
 * witx: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md#-path_openfd-fd-dirflags-lookupflags-path-string-oflags-oflags-fs_rights_base-rights-fs_rights_inheriting-rights-fdflags-fdflags---resultfd-errno
 *
 * Common errors of every function here:
 *   BADF        fd is not an open directory (NOTDIR from path_open for a file).
 *   NOTCAPABLE  the directory lacks the right the operation needs (a
 *               read-only grant lacks every mutating one), or the path leads
 *               outside the directory: `..` above it, an absolute path, a
 *               symlink whose target is absolute or climbs out (the sandbox).
 *   FAULT       a path or result pointer outside memory (nothing done).
 *   ILSEQ       a path that is not UTF-8 (as wasmtime).
 *   INVAL       a path containing a NUL byte; unknown flag bits.
 *   NAMETOOLONG a path longer than 4096 bytes.
 *   and the host's error for the operation itself (NOENT, EXIST, NOTDIR,
 *   ISDIR, NOTEMPTY, LOOP, ACCES, PERM, XDEV, ...).
 */
#include "wasi_internal.h"

#include <errno.h>
#include <fcntl.h>

#include "../sandbox/sandbox.h"

WASI_HIDDEN int32_t wasi_timespecs(uint64_t atim, uint64_t mtim, uint32_t fst_flags,
                                   struct timespec ts[2]);

#define DIR_KIND WASI_KIND(WASI_KIND_DIR)

/* The directory entry `fd` with `rights`, and its path argument loaded. */
static int32_t dir_and_path(struct wasmaot_vmctx *vmctx, int32_t fd, uint64_t rights,
                            int32_t path, int32_t path_len, struct wasi_fd **e,
                            char buf[WASI_PATH_BUF]) {
  int32_t err = wasi_fd_get(fd, DIR_KIND, rights, e);
  if (err) return err;
  return wasi_path_load(vmctx, (uint32_t)path, (uint32_t)path_len, buf);
}

/* path_open(fd: fd, dirflags: lookupflags, path: string, oflags: oflags,
 *           fs_rights_base: rights, fs_rights_inheriting: rights, fdflags: fdflags) -> (fd)
 * Opens `path` under directory fd and stores the new fd (u32 at fd_ptr).
 *   dirflags  SYMLINK_FOLLOW: follow a symlink in the last component (inside
 *             the sandbox); without it a final symlink gives LOOP.
 *   oflags    CREAT (needs PATH_CREATE_FILE), DIRECTORY (the result must be a
 *             directory; INVAL with CREAT, EXCL or TRUNC; ISDIR with FD_WRITE),
 *             EXCL, TRUNC (needs PATH_FILESTAT_SET_SIZE).
 *   rights    the new fd gets (requested & the directory's inheriting rights),
 *             limited to what its kind supports; FD_WRITE opens the host file
 *             for writing (a directory: ISDIR), FD_READ / FD_READDIR (or
 *             neither) for reading.
 *   fdflags   APPEND, DSYNC, NONBLOCK, RSYNC, SYNC: open(2)'s flags.
 *   NOTCAPABLE  also: FD_WRITE requested under a read-only grant (refused at
 *               the open, whatever the rights).
 * O_CREAT and O_TRUNC never act through a symlink that leaves the directory
 * (the sandbox resolves the link first).  If storing the new fd failed, the
 * file would be closed again; fd_ptr is checked first so it cannot. */
int32_t wasmaot_wasi_path_open(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t dirflags,
                               int32_t path, int32_t path_len, int32_t oflags,
                               int64_t fs_rights_base, int64_t fs_rights_inheriting,
                               int32_t fdflags, int32_t fd_ptr) {
  struct wasi_fd *dir;
  int32_t err = wasi_fd_get(fd, DIR_KIND, R(PATH_OPEN), &dir);
  if (err == E(BADF) && wasi_fd_get(fd, WASI_KIND(WASI_KIND_FILE), 0, &dir) == 0) return E(NOTDIR);
  if (err) return err;
  if ((uint32_t)dirflags & ~(uint32_t)WASMAOT_WASI_LOOKUPFLAGS_SYMLINK_FOLLOW) return E(INVAL);
  if ((uint32_t)oflags & ~0xFu) return E(INVAL);
  if ((uint32_t)fdflags & ~0x1Fu) return E(INVAL);
  /* With DIRECTORY, creating, requiring exclusivity or truncating makes no
   * sense (INVAL, as wasmtime, before any right is looked at). */
  int directory = (oflags & WASMAOT_WASI_OFLAGS_DIRECTORY) != 0;
  if (directory && (oflags & (WASMAOT_WASI_OFLAGS_CREAT | WASMAOT_WASI_OFLAGS_EXCL |
                              WASMAOT_WASI_OFLAGS_TRUNC)))
    return E(INVAL);
  uint64_t need = 0;
  if (oflags & WASMAOT_WASI_OFLAGS_CREAT) need |= R(PATH_CREATE_FILE);
  if (oflags & WASMAOT_WASI_OFLAGS_TRUNC) need |= R(PATH_FILESTAT_SET_SIZE);
  if ((dir->rights_base & need) != need) return WASI_ERRNO_NO_RIGHT;
  uint64_t requested = (uint64_t)fs_rights_base;
  uint64_t base = requested & dir->rights_inheriting;
  uint64_t inh = (uint64_t)fs_rights_inheriting & dir->rights_inheriting;
  /* SANDBOX: a read-only grant is never opened for writing, creating or
   * truncating, whatever rights the fds under it claim (its rights already
   * lack PATH_CREATE_FILE and PATH_FILESTAT_SET_SIZE: this is the second,
   * independent check). */
  if (dir->grant != NULL && dir->grant->readonly &&
      ((requested & R(FD_WRITE)) ||
       (oflags & (WASMAOT_WASI_OFLAGS_CREAT | WASMAOT_WASI_OFLAGS_TRUNC))))
    return WASI_ERRNO_NO_RIGHT;
  if (wasi_guest_range(vmctx, (uint32_t)fd_ptr, 4) == NULL) return E(FAULT);
  char p[WASI_PATH_BUF];
  err = wasi_path_load(vmctx, (uint32_t)path, (uint32_t)path_len, p);
  if (err) return err;

  /* FD_WRITE opens for writing, a directory too: the kernel answers ISDIR
   * (NOTDIR for a file with DIRECTORY), as wasmtime and wasi-testsuite's
   * path_open_preopen expect. */
  int write = (base & R(FD_WRITE)) != 0;
  int read = (base & (R(FD_READ) | R(FD_READDIR))) != 0;
  int flags = (write ? (read ? O_RDWR : O_WRONLY) : O_RDONLY) | O_NOCTTY;
  if (oflags & WASMAOT_WASI_OFLAGS_CREAT) flags |= O_CREAT;
  if (oflags & WASMAOT_WASI_OFLAGS_DIRECTORY) flags |= O_DIRECTORY;
  if (oflags & WASMAOT_WASI_OFLAGS_EXCL) flags |= O_EXCL;
  if (oflags & WASMAOT_WASI_OFLAGS_TRUNC) flags |= O_TRUNC;
  if (fdflags & WASMAOT_WASI_FDFLAGS_APPEND) flags |= O_APPEND;
  if (fdflags & WASMAOT_WASI_FDFLAGS_DSYNC) flags |= O_DSYNC;
  if (fdflags & WASMAOT_WASI_FDFLAGS_NONBLOCK) flags |= O_NONBLOCK;
  if (fdflags & WASMAOT_WASI_FDFLAGS_RSYNC) flags |= O_RSYNC;
  if (fdflags & WASMAOT_WASI_FDFLAGS_SYNC) flags |= O_SYNC;
  if (!(dirflags & WASMAOT_WASI_LOOKUPFLAGS_SYMLINK_FOLLOW)) flags |= O_NOFOLLOW;

  int host = sandbox_open(dir->host, p, flags, 0666);
  if (host < 0) return wasi_errno_from_neg(host);
  struct stat st;
  if (fstat(host, &st) < 0) {
    err = wasi_errno_from_host(errno);
    close_unchecked(host);
    return err;
  }
  struct wasi_fd e;
  memset(&e, 0, sizeof e);
  e.host = host;
  e.grant = dir->grant;
  if (S_ISDIR(st.st_mode)) {
    e.kind = WASI_KIND_DIR;
    e.rights_base = base & WASI_RIGHTS_DIR;
    e.rights_inheriting = inh;
  } else {
    e.kind = WASI_KIND_FILE;
    e.rights_base = base & WASI_RIGHTS_FILE;
    e.rights_inheriting = inh & WASI_RIGHTS_FILE;
  }
  if (e.grant != NULL && e.grant->readonly) {
    /* As for the grant itself (state.c): no mutating right; FD_WRITE stays
     * requestable below so that write opens are refused at the open. */
    e.rights_base &= ~WASI_RIGHTS_MUTATING;
    e.rights_inheriting = (e.rights_inheriting & ~WASI_RIGHTS_MUTATING) | (inh & R(FD_WRITE));
  }
  uint32_t n;
  err = wasi_fd_insert(&e, &n);
  if (err) {
    close_unchecked(host); /* undo: the guest never saw this fd */
    return err;
  }
  wasi_store_u32(vmctx, (uint32_t)fd_ptr, n);
  return 0;
}

/* path_create_directory(fd: fd, path: string) -> errno
 * mkdir (mode 0777 less the umask) of the last component.  Needs
 * PATH_CREATE_DIRECTORY.  EXIST if it exists (also for "." and "x/.."). */
int32_t wasmaot_wasi_path_create_directory(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t path,
                                           int32_t path_len) {
  struct wasi_fd *e;
  char p[WASI_PATH_BUF];
  int32_t err = dir_and_path(vmctx, fd, R(PATH_CREATE_DIRECTORY), path, path_len, &e, p);
  if (err) return err;
  int r = sandbox_mkdir(e->host, p, 0777);
  return r < 0 ? wasi_errno_from_neg(r) : 0;
}

/* path_filestat_get(fd: fd, flags: lookupflags, path: string) -> (buf: filestat)
 * Stores the filestat (64 bytes) of `path`; with SYMLINK_FOLLOW a final
 * symlink is followed (inside the sandbox), else the link itself is described.
 * Needs PATH_FILESTAT_GET. */
int32_t wasmaot_wasi_path_filestat_get(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t flags,
                                       int32_t path, int32_t path_len, int32_t filestat_ptr) {
  struct wasi_fd *e;
  char p[WASI_PATH_BUF];
  int32_t err = dir_and_path(vmctx, fd, R(PATH_FILESTAT_GET), path, path_len, &e, p);
  if (err) return err;
  if ((uint32_t)flags & ~(uint32_t)WASMAOT_WASI_LOOKUPFLAGS_SYMLINK_FOLLOW) return E(INVAL);
  uint8_t *out = wasi_guest_range(vmctx, (uint32_t)filestat_ptr, WASMAOT_WASI_FILESTAT_SIZE);
  if (out == NULL) return E(FAULT);
  struct stat st;
  int r = sandbox_stat(e->host, p, flags & WASMAOT_WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, &st);
  if (r < 0) return wasi_errno_from_neg(r);
  wasi_filestat_from_stat(out, &st);
  return 0;
}

/* path_filestat_set_times(fd: fd, flags: lookupflags, path: string, atim: timestamp,
 *                         mtim: timestamp, fst_flags: fstflags) -> errno
 * Sets the times of `path` (see fd_filestat_set_times for fst_flags); with
 * SYMLINK_FOLLOW a final symlink is followed, else the link's own times are
 * set.  Needs PATH_FILESTAT_SET_TIMES (never under a read-only grant).
 *   INVAL  ATIM with ATIM_NOW, MTIM with MTIM_NOW, unknown flags. */
int32_t wasmaot_wasi_path_filestat_set_times(struct wasmaot_vmctx *vmctx, int32_t fd,
                                             int32_t flags, int32_t path, int32_t path_len,
                                             int64_t atim, int64_t mtim, int32_t fst_flags) {
  struct wasi_fd *e;
  char p[WASI_PATH_BUF];
  int32_t err = dir_and_path(vmctx, fd, R(PATH_FILESTAT_SET_TIMES), path, path_len, &e, p);
  if (err) return err;
  if ((uint32_t)flags & ~(uint32_t)WASMAOT_WASI_LOOKUPFLAGS_SYMLINK_FOLLOW) return E(INVAL);
  struct timespec ts[2];
  err = wasi_timespecs((uint64_t)atim, (uint64_t)mtim, (uint32_t)fst_flags, ts);
  if (err) return err;
  int r = sandbox_utimens(e->host, p, flags & WASMAOT_WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, ts);
  return r < 0 ? wasi_errno_from_neg(r) : 0;
}

/* path_link(old_fd: fd, old_flags: lookupflags, old_path: string, new_fd: fd,
 *           new_path: string) -> errno
 * Hard-links old_path (under old_fd, which needs PATH_LINK_SOURCE) as
 * new_path (under new_fd, PATH_LINK_TARGET).  Both ends are resolved in the
 * sandbox, so nothing outside a grant can be linked in, and nothing in a
 * read-only grant can get a writable name (it lacks PATH_LINK_SOURCE).
 *   INVAL  old_flags has SYMLINK_FOLLOW.  Limitation: following would need
 *          linkat(AT_EMPTY_PATH), which Linux allows only with
 *          CAP_DAC_READ_SEARCH (or a /proc magic link); wasi-libc's link()
 *          never asks to follow.  A symlink source is linked as the link.
 *   EXIST  new_path exists.  PERM  old_path is a directory.  XDEV  the two
 *          are on different host file systems.
 *   NOENT / NOTDIR  either path ends in '/' but names nothing / a
 *          non-directory (wasi-testsuite path_link: link(f, "new/") is NOENT). */
int32_t wasmaot_wasi_path_link(struct wasmaot_vmctx *vmctx, int32_t old_fd, int32_t old_flags,
                               int32_t old_path, int32_t old_path_len, int32_t new_fd,
                               int32_t new_path, int32_t new_path_len) {
  struct wasi_fd *oe, *ne;
  char op[WASI_PATH_BUF], np[WASI_PATH_BUF];
  int32_t err = dir_and_path(vmctx, old_fd, R(PATH_LINK_SOURCE), old_path, old_path_len, &oe, op);
  if (err) return err;
  err = dir_and_path(vmctx, new_fd, R(PATH_LINK_TARGET), new_path, new_path_len, &ne, np);
  if (err) return err;
  if (old_flags != 0) return E(INVAL);
  int r = sandbox_link(oe->host, op, ne->host, np);
  return r < 0 ? wasi_errno_from_neg(r) : 0;
}

/* path_readlink(fd: fd, path: string, buf: pointer<u8>, buf_len: size) -> (bufused: size)
 * Copies the symlink's target (no NUL, cut at buf_len, as wasmtime) into buf
 * and stores its length.  Needs PATH_READLINK.
 *   INVAL  path is not a symlink. */
int32_t wasmaot_wasi_path_readlink(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t path,
                                   int32_t path_len, int32_t buf, int32_t buf_len,
                                   int32_t bufused_ptr) {
  struct wasi_fd *e;
  char p[WASI_PATH_BUF];
  int32_t err = dir_and_path(vmctx, fd, R(PATH_READLINK), path, path_len, &e, p);
  if (err) return err;
  uint8_t *out = wasi_guest_range(vmctx, (uint32_t)buf, (uint32_t)buf_len);
  if (out == NULL || wasi_guest_range(vmctx, (uint32_t)bufused_ptr, 4) == NULL) return E(FAULT);
  long n = sandbox_readlink(e->host, p, (char *)out, (uint32_t)buf_len);
  if (n < 0) return wasi_errno_from_neg(n);
  wasi_store_u32(vmctx, (uint32_t)bufused_ptr, (uint32_t)n);
  return 0;
}

/* path_remove_directory(fd: fd, path: string) -> errno
 * rmdir of an empty directory.  Needs PATH_REMOVE_DIRECTORY.
 *   NOTEMPTY  not empty.  NOTDIR  not a directory.  INVAL  "." (or "x/.."). */
int32_t wasmaot_wasi_path_remove_directory(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t path,
                                           int32_t path_len) {
  struct wasi_fd *e;
  char p[WASI_PATH_BUF];
  int32_t err = dir_and_path(vmctx, fd, R(PATH_REMOVE_DIRECTORY), path, path_len, &e, p);
  if (err) return err;
  int r = sandbox_rmdir(e->host, p);
  return r < 0 ? wasi_errno_from_neg(r) : 0;
}

/* path_rename(fd: fd, old_path: string, new_fd: fd, new_path: string) -> errno
 * renameat(2) of old_path (under fd: PATH_RENAME_SOURCE) to new_path (under
 * new_fd: PATH_RENAME_TARGET), replacing a file there.  Both ends are resolved
 * in the sandbox, so nothing moves into or out of a grant (and a read-only
 * grant is neither source nor target: it has neither right).
 *   XDEV  different host file systems.  ISDIR / NOTDIR / NOTEMPTY / BUSY  the
 *   host's (e.g. replacing a directory by a file, or renaming "."). */
int32_t wasmaot_wasi_path_rename(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t old_path,
                                 int32_t old_path_len, int32_t new_fd, int32_t new_path,
                                 int32_t new_path_len) {
  struct wasi_fd *oe, *ne;
  char op[WASI_PATH_BUF], np[WASI_PATH_BUF];
  int32_t err = dir_and_path(vmctx, fd, R(PATH_RENAME_SOURCE), old_path, old_path_len, &oe, op);
  if (err) return err;
  err = dir_and_path(vmctx, new_fd, R(PATH_RENAME_TARGET), new_path, new_path_len, &ne, np);
  if (err) return err;
  int r = sandbox_rename(oe->host, op, ne->host, np);
  return r < 0 ? wasi_errno_from_neg(r) : 0;
}

/* path_symlink(old_path: string, fd: fd, new_path: string) -> errno
 * Creates symlink new_path (under fd: PATH_SYMLINK) whose target is the text
 * old_path.
 *   NOTCAPABLE  also: the target is absolute, or its `..`s climb above the
 *               grant from the link's directory -- a link the guest leaves
 *               behind must not point a host program outside the grant.
 *   EXIST  new_path exists.  NOENT  old_path is empty.
 *   NOENT / NOTDIR  new_path ends in '/' but names nothing / a non-directory
 *          (wasi-testsuite path_symlink_trailing_slashes). */
int32_t wasmaot_wasi_path_symlink(struct wasmaot_vmctx *vmctx, int32_t old_path,
                                  int32_t old_path_len, int32_t fd, int32_t new_path,
                                  int32_t new_path_len) {
  struct wasi_fd *e;
  char target[WASI_PATH_BUF], np[WASI_PATH_BUF];
  int32_t err = dir_and_path(vmctx, fd, R(PATH_SYMLINK), new_path, new_path_len, &e, np);
  if (err) return err;
  err = wasi_path_load(vmctx, (uint32_t)old_path, (uint32_t)old_path_len, target);
  if (err) return err;
  if (e->grant == NULL) return E(BADF);
  int r = sandbox_symlink(target, e->host, np, e->grant->dev, e->grant->ino);
  return r < 0 ? wasi_errno_from_neg(r) : 0;
}

/* path_unlink_file(fd: fd, path: string) -> errno
 * Removes a file or symlink (never following it).  Needs PATH_UNLINK_FILE.
 *   ISDIR  a directory.  NOTDIR  "file/". */
int32_t wasmaot_wasi_path_unlink_file(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t path,
                                      int32_t path_len) {
  struct wasi_fd *e;
  char p[WASI_PATH_BUF];
  int32_t err = dir_and_path(vmctx, fd, R(PATH_UNLINK_FILE), path, path_len, &e, p);
  if (err) return err;
  int r = sandbox_unlink(e->host, p);
  return r < 0 ? wasi_errno_from_neg(r) : 0;
}
