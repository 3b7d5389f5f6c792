/* fd_* functions about descriptors themselves: close, renumber, fdstat,
 * filestat, sync, advise, allocate, prestat.  (I/O is in fd_io.c, fd_readdir
 * in readdir.c.)
 *
 * witx: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md#-fd_advisefd-fd-offset-filesize-len-filesize-advice-advice---result-errno
 *
 * Every function answers BADF for an fd that is not open or of a kind the
 * operation does not apply to (as wasmtime: stdio is a stream, a directory is
 * not a file), and the no-right errno (NOTCAPABLE) for a missing right.
 */
#include "wasi_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "../sandbox/sandbox.h"

#define FILE_KIND WASI_KIND(WASI_KIND_FILE)
#define DIR_KIND WASI_KIND(WASI_KIND_DIR)

/* fd_close(fd: fd) -> errno
 * Closes fd; its number becomes reusable.  The host's 0-2 stay open for the
 * process when the guest closes its stdio.
 *   BADF  fd is not open. */
int32_t wasmaot_wasi_fd_close(struct wasmaot_vmctx *vmctx, int32_t fd) {
  (void)vmctx;
  return wasi_fd_remove(fd);
}

/* fd_renumber(fd: fd, to: fd) -> errno
 * Moves fd to number `to`, closing what `to` was; `fd` becomes free.
 *   BADF  fd or to is not open (`to` must be: as in wasmtime, renumbering
 *         never creates a number). */
int32_t wasmaot_wasi_fd_renumber(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t to) {
  (void)vmctx;
  return wasi_fd_renumber(fd, to);
}

/* fd_datasync(fd: fd) -> errno: fdatasync(2) of a file or directory.
 *   BADF  not open, or stdio/socket.  NOTCAPABLE  no FD_DATASYNC right.
 *   IO, ...  the host's error. */
int32_t wasmaot_wasi_fd_datasync(struct wasmaot_vmctx *vmctx, int32_t fd) {
  (void)vmctx;
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, FILE_KIND | DIR_KIND, R(FD_DATASYNC), &e);
  if (err) return err;
  return fdatasync(e->host) < 0 ? wasi_errno_from_host(errno) : 0;
}

/* fd_sync(fd: fd) -> errno: fsync(2) of a file or directory.
 *   BADF  not open, or stdio/socket.  NOTCAPABLE  no FD_SYNC right (a
 *   preopen has none: its handle cannot be synced).  IO, ...  the host's. */
int32_t wasmaot_wasi_fd_sync(struct wasmaot_vmctx *vmctx, int32_t fd) {
  (void)vmctx;
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, FILE_KIND | DIR_KIND, R(FD_SYNC), &e);
  if (err) return err;
  return fsync(e->host) < 0 ? wasi_errno_from_host(errno) : 0;
}

/* fd_advise(fd: fd, offset: filesize, len: filesize, advice: advice) -> errno
 * posix_fadvise(2) on a file (advice is only a hint).
 *   BADF  not a file.  NOTCAPABLE  no FD_ADVISE.  INVAL  unknown advice, or an
 *   offset/len beyond 2^63. */
int32_t wasmaot_wasi_fd_advise(struct wasmaot_vmctx *vmctx, int32_t fd, int64_t offset,
                               int64_t len, int32_t advice) {
  (void)vmctx;
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, FILE_KIND, R(FD_ADVISE), &e);
  if (err) return err;
  static const int host[] = {POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                             POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
  if (advice < 0 || advice > WASMAOT_WASI_ADVICE_NOREUSE || offset < 0 || len < 0)
    return E(INVAL);
  int r = posix_fadvise(e->host, offset, len, host[advice]); /* returns the error */
  return r == ESPIPE ? 0 : wasi_errno_from_host(r);         /* a FIFO: nothing to advise */
}

/* fd_allocate(fd: fd, offset: filesize, len: filesize) -> errno
 * posix_fallocate(3): makes [offset, offset+len) allocated, growing the file.
 * (wasmtime answers NOTSUP; the spec defines it, so it works here.)
 *   BADF  not a file (or not open for writing).  NOTCAPABLE  no FD_ALLOCATE
 *   (never under a read-only grant).  INVAL  len 0 or beyond 2^63.
 *   FBIG, NOSPC  the host's. */
int32_t wasmaot_wasi_fd_allocate(struct wasmaot_vmctx *vmctx, int32_t fd, int64_t offset,
                                 int64_t len) {
  (void)vmctx;
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, FILE_KIND, R(FD_ALLOCATE), &e);
  if (err) return err;
  if (offset < 0 || len <= 0) return E(INVAL);
  int r;
  do {
    r = posix_fallocate(e->host, offset, len); /* returns the error */
  } while (r == EINTR);
  return wasi_errno_from_host(r);
}

/* The WASI filetype of an entry. */
static uint8_t entry_filetype(const struct wasi_fd *e) {
  switch (e->kind) {
  case WASI_KIND_STDIN:
  case WASI_KIND_STDOUT:
  case WASI_KIND_STDERR:
    /* Streams, as wasmtime reports them: a terminal, or "unknown" (even when
     * the host redirected them to a file: they are never seekable). */
    return isatty(e->host) ? WASMAOT_WASI_FILETYPE_CHARACTER_DEVICE
                           : WASMAOT_WASI_FILETYPE_UNKNOWN;
  case WASI_KIND_DIR: return WASMAOT_WASI_FILETYPE_DIRECTORY;
  case WASI_KIND_LISTENER:
  case WASI_KIND_SOCKET: return WASMAOT_WASI_FILETYPE_SOCKET_STREAM;
  default: {
    struct stat st;
    return fstat(e->host, &st) < 0 ? WASMAOT_WASI_FILETYPE_UNKNOWN
                                    : wasi_filetype_of_mode(st.st_mode);
  }
  }
}

/* fd_fdstat_get(fd: fd) -> (stat: fdstat)
 * Stores the fdstat (24 bytes at fdstat_ptr: filetype u8 @0, flags u16 @2,
 * rights_base u64 @8, rights_inheriting u64 @16).  Flags are the host fd's
 * APPEND / NONBLOCK / DSYNC / SYNC (none for stdio, as in wasmtime).
 *   BADF  not open.  FAULT  fdstat_ptr outside memory. */
int32_t wasmaot_wasi_fd_fdstat_get(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t fdstat_ptr) {
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, WASI_KINDS_ANY, 0, &e);
  if (err) return err;
  uint8_t *out = wasi_guest_range(vmctx, (uint32_t)fdstat_ptr, WASMAOT_WASI_FDSTAT_SIZE);
  if (out == NULL) return E(FAULT);
  uint16_t flags = 0;
  if (e->kind == WASI_KIND_FILE || e->kind == WASI_KIND_SOCKET || e->kind == WASI_KIND_LISTENER) {
    int fl = fcntl(e->host, F_GETFL);
    if (fl >= 0) {
      if (fl & O_APPEND) flags |= WASMAOT_WASI_FDFLAGS_APPEND;
      if (fl & O_NONBLOCK) flags |= WASMAOT_WASI_FDFLAGS_NONBLOCK;
      if ((fl & O_SYNC) == O_SYNC) flags |= WASMAOT_WASI_FDFLAGS_SYNC;
      else if (fl & O_DSYNC) flags |= WASMAOT_WASI_FDFLAGS_DSYNC;
    }
  }
  memset(out, 0, WASMAOT_WASI_FDSTAT_SIZE);
  out[0] = entry_filetype(e);
  wasi_put_u16(out + 2, flags);
  wasi_put_u64(out + 8, e->rights_base);
  wasi_put_u64(out + 16, e->rights_inheriting);
  return 0;
}

/* fd_fdstat_set_flags(fd: fd, flags: fdflags) -> errno
 * Sets APPEND and NONBLOCK (fcntl F_SETFL) on a file or socket; each flag is
 * set if given and cleared if not.
 *   BADF  not open, or stdio / a directory (wasmtime: only files; changing the
 *         host's stdio flags would affect the parent shell).
 *   NOTCAPABLE  no FD_FDSTAT_SET_FLAGS.
 *   INVAL  DSYNC, RSYNC, SYNC (cannot be changed after open on Linux) or
 *          unknown bits. */
int32_t wasmaot_wasi_fd_fdstat_set_flags(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t flags) {
  (void)vmctx;
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, FILE_KIND | WASI_KINDS_SOCKETS, R(FD_FDSTAT_SET_FLAGS), &e);
  if (err) return err;
  if (flags & ~(WASMAOT_WASI_FDFLAGS_APPEND | WASMAOT_WASI_FDFLAGS_NONBLOCK)) return E(INVAL);
  int fl = fcntl(e->host, F_GETFL);
  if (fl < 0) return wasi_errno_from_host(errno);
  fl &= ~(O_APPEND | O_NONBLOCK);
  if (flags & WASMAOT_WASI_FDFLAGS_APPEND) fl |= O_APPEND;
  if (flags & WASMAOT_WASI_FDFLAGS_NONBLOCK) fl |= O_NONBLOCK;
  return fcntl(e->host, F_SETFL, fl) < 0 ? wasi_errno_from_host(errno) : 0;
}

/* fd_fdstat_set_rights(fd: fd, fs_rights_base: rights, fs_rights_inheriting: rights) -> errno
 * Narrows fd's rights (as the spec says; wasmtime answers NOTSUP).
 *   BADF  not open.
 *   NOTCAPABLE  a right the fd does not hold (rights only ever shrink).
 *   INVAL  bits that are no right. */
int32_t wasmaot_wasi_fd_fdstat_set_rights(struct wasmaot_vmctx *vmctx, int32_t fd,
                                          int64_t fs_rights_base, int64_t fs_rights_inheriting) {
  (void)vmctx;
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, WASI_KINDS_ANY, 0, &e);
  if (err) return err;
  uint64_t base = (uint64_t)fs_rights_base, inh = (uint64_t)fs_rights_inheriting;
  if ((base | inh) & ~WASMAOT_WASI_RIGHTS_ALL) return E(INVAL);
  if ((base & ~e->rights_base) || (inh & ~e->rights_inheriting)) return WASI_ERRNO_NO_RIGHT;
  e->rights_base = base;
  e->rights_inheriting = inh;
  return 0;
}

/* fd_filestat_get(fd: fd) -> (buf: filestat)
 * Stores the filestat (64 bytes at filestat_ptr) of the open file, from
 * fstat(2).  Stdio reports zeros but its filetype (wasmtime).
 *   BADF  not open.  NOTCAPABLE  no FD_FILESTAT_GET.  FAULT  bad pointer. */
int32_t wasmaot_wasi_fd_filestat_get(struct wasmaot_vmctx *vmctx, int32_t fd,
                                     int32_t filestat_ptr) {
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, WASI_KINDS_ANY, R(FD_FILESTAT_GET), &e);
  if (err) return err;
  uint8_t *out = wasi_guest_range(vmctx, (uint32_t)filestat_ptr, WASMAOT_WASI_FILESTAT_SIZE);
  if (out == NULL) return E(FAULT);
  if (WASI_KIND(e->kind) & WASI_KINDS_STDIO) {
    memset(out, 0, WASMAOT_WASI_FILESTAT_SIZE);
    out[16] = entry_filetype(e);
    return 0;
  }
  struct stat st;
  if (fstat(e->host, &st) < 0) return wasi_errno_from_host(errno);
  wasi_filestat_from_stat(out, &st);
  return 0;
}

/* fd_filestat_set_size(fd: fd, size: filesize) -> errno
 * ftruncate(2): the file gets `size` bytes (zeros added when growing).
 *   BADF  not a file.  NOTCAPABLE  no FD_FILESTAT_SET_SIZE (never under a
 *   read-only grant).  INVAL  size beyond 2^63, or the file is not open for
 *   writing.  FBIG  the host's limit. */
int32_t wasmaot_wasi_fd_filestat_set_size(struct wasmaot_vmctx *vmctx, int32_t fd, int64_t size) {
  (void)vmctx;
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, FILE_KIND, R(FD_FILESTAT_SET_SIZE), &e);
  if (err) return err;
  if (size < 0) return E(INVAL);
  int r;
  do {
    r = ftruncate(e->host, size);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? wasi_errno_from_host(errno) : 0;
}

/* The host timespecs for WASI (atim, mtim, fst_flags); INVAL if both a time
 * and NOW are given for one of them, or unknown bits. */
WASI_HIDDEN int32_t wasi_timespecs(uint64_t atim, uint64_t mtim, uint32_t fst_flags,
                                   struct timespec ts[2]) {
  if (fst_flags & ~0xFu) return E(INVAL);
  uint64_t t[2] = {atim, mtim};
  for (int i = 0; i < 2; i++) {
    unsigned set = (fst_flags >> (2 * i)) & 1, now = (fst_flags >> (2 * i + 1)) & 1;
    if (set && now) return E(INVAL);
    if (now) {
      ts[i].tv_sec = 0;
      ts[i].tv_nsec = UTIME_NOW;
    } else if (set) {
      ts[i].tv_sec = (time_t)(t[i] / 1000000000u);
      ts[i].tv_nsec = (long)(t[i] % 1000000000u);
    } else {
      ts[i].tv_sec = 0;
      ts[i].tv_nsec = UTIME_OMIT;
    }
  }
  return 0;
}

/* fd_filestat_set_times(fd: fd, atim: timestamp, mtim: timestamp, fst_flags: fstflags) -> errno
 * Sets the access / modification times of an open file or directory: each
 * to the given time (ATIM / MTIM), to now (ATIM_NOW / MTIM_NOW), or unchanged.
 *   BADF  not open, or stdio/socket.  NOTCAPABLE  no FD_FILESTAT_SET_TIMES
 *   (never under a read-only grant).  INVAL  ATIM with ATIM_NOW (or MTIM with
 *   MTIM_NOW), unknown flags.  PERM / ACCES  the host's. */
int32_t wasmaot_wasi_fd_filestat_set_times(struct wasmaot_vmctx *vmctx, int32_t fd, int64_t atim,
                                           int64_t mtim, int32_t fst_flags) {
  (void)vmctx;
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, FILE_KIND | DIR_KIND, R(FD_FILESTAT_SET_TIMES), &e);
  if (err) return err;
  struct timespec ts[2];
  err = wasi_timespecs((uint64_t)atim, (uint64_t)mtim, (uint32_t)fst_flags, ts);
  if (err) return err;
  int r = sandbox_futimens(e->host, ts);
  return r < 0 ? wasi_errno_from_neg(r) : 0;
}

/* fd_prestat_get(fd: fd) -> (prestat)
 * For a preopened directory, stores its prestat (8 bytes at prestat_ptr: tag
 * 0 = dir @0, pr_name_len u32 @4).  wasi-libc calls this from fd 3 upwards
 * until BADF to learn its preopens.
 *   BADF  not open, or not a preopen.  FAULT  bad pointer. */
int32_t wasmaot_wasi_fd_prestat_get(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t prestat_ptr) {
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, WASI_KINDS_ANY, 0, &e);
  if (err) return err;
  if (e->preopen_name == NULL) return E(BADF);
  uint8_t *out = wasi_guest_range(vmctx, (uint32_t)prestat_ptr, WASMAOT_WASI_PRESTAT_SIZE);
  if (out == NULL) return E(FAULT);
  memset(out, 0, WASMAOT_WASI_PRESTAT_SIZE);
  out[0] = WASMAOT_WASI_PREOPENTYPE_DIR;
  wasi_put_u32(out + 4, (uint32_t)strlen(e->preopen_name));
  return 0;
}

/* fd_prestat_dir_name(fd: fd, path: pointer<u8>, path_len: size) -> errno
 * Writes the preopen's guest path (pr_name_len bytes, no NUL) at `path`.
 *   BADF  not open.  NOTDIR  not a preopen (wasmtime).
 *   NAMETOOLONG  path_len is smaller than the name.  FAULT  bad buffer. */
int32_t wasmaot_wasi_fd_prestat_dir_name(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t path,
                                         int32_t path_len) {
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, WASI_KINDS_ANY, 0, &e);
  if (err) return err;
  if (e->preopen_name == NULL) return E(NOTDIR);
  size_t n = strlen(e->preopen_name);
  if (n > (uint32_t)path_len) return E(NAMETOOLONG);
  uint8_t *out = wasi_guest_range(vmctx, (uint32_t)path, n);
  if (out == NULL) return E(FAULT);
  memcpy(out, e->preopen_name, n);
  return 0;
}
