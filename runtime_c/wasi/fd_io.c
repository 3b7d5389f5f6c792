/* fd_read, fd_write, fd_pread, fd_pwrite, fd_seek, fd_tell.
 *
 * witx: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md#-fd_readfd-fd-iovs-iovec_array---resultsize-errno
 *
 * Data moves directly between the host fd and guest memory (readv/writev on
 * buffers that wasi_iovs_load has bounds-checked).  Offsets are 64-bit
 * everywhere, so files beyond 4 GiB work.  Stdio is a stream, as in wasmtime:
 * seeking it, or positioned I/O on it, is SPIPE even if the host redirected
 * it to a file.
 */
#include "wasi_internal.h"

#include <errno.h>
#include <unistd.h>

#define FILE_KIND WASI_KIND(WASI_KIND_FILE)
#define SOCKET_KIND WASI_KIND(WASI_KIND_SOCKET)
#define STREAM_KINDS (WASI_KINDS_STDIO | WASI_KINDS_SOCKETS) /* SPIPE for positions */

/* BADF for a stream the positioned call does not apply to is SPIPE instead. */
static int32_t positioned_get(int32_t fd, uint64_t rights, struct wasi_fd **e) {
  int32_t err = wasi_fd_get(fd, FILE_KIND, rights, e);
  if (err == E(BADF) && wasi_fd_get(fd, STREAM_KINDS, 0, e) == 0) return E(SPIPE);
  return err;
}

/* The guest side of every read and write: check the result pointer, load the
 * iovecs (wasi_iovs_load bounds-checks every buffer against guest memory, so
 * the host call can only touch the guest's own bytes), do the I/O (at
 * `offset`, or at the fd's position if it is -1), store the byte count.
 * FAULT before any I/O for a bad pointer or iovec. */
enum io_op { IO_READ, IO_WRITE };

static int32_t vectored_io(struct wasmaot_vmctx *vmctx, int host, enum io_op op, int64_t offset,
                           int32_t iovs, int32_t iovs_len, int32_t count_ptr) {
  if (wasi_guest_range(vmctx, (uint32_t)count_ptr, 4) == NULL) return E(FAULT);
  struct wasi_iovs v;
  int32_t err = wasi_iovs_load(vmctx, (uint32_t)iovs, (uint32_t)iovs_len, &v);
  if (err) return err;
  ssize_t n = 0;
  if (v.count > 0) {
    do {
      if (op == IO_READ)
        n = offset < 0 ? readv(host, v.iov, v.count) : preadv(host, v.iov, v.count, offset);
      else
        n = offset < 0 ? writev(host, v.iov, v.count) : pwritev(host, v.iov, v.count, offset);
    } while (n < 0 && errno == EINTR);
  }
  wasi_iovs_free(&v);
  if (n < 0) return wasi_errno_from_host(errno);
  wasi_store_u32(vmctx, (uint32_t)count_ptr, (uint32_t)n);
  return 0;
}

/* fd_read(fd: fd, iovs: iovec_array) -> (nread: size)
 * readv(2) into the guest buffers (iovs: iovs_len iovecs {buf u32, buf_len
 * u32}); stores the bytes read (u32 at nread_ptr), 0 at end of file.
 *   BADF  not open, or not readable in kind (stdout, a directory, a listener).
 *   NOTCAPABLE  no FD_READ.  FAULT  a bad iovec array, buffer or nread_ptr
 *   (nothing read).  AGAIN  a non-blocking fd had no data.  IO, ... the host's. */
int32_t wasmaot_wasi_fd_read(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t iovs,
                             int32_t iovs_len, int32_t nread_ptr) {
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, WASI_KIND(WASI_KIND_STDIN) | FILE_KIND | SOCKET_KIND, R(FD_READ), &e);
  if (err) return err;
  return vectored_io(vmctx, e->host, IO_READ, -1, iovs, iovs_len, nread_ptr);
}

/* fd_write(fd: fd, iovs: ciovec_array) -> (nwritten: size)
 * writev(2) of the guest buffers; stores the bytes written (u32).  With
 * APPEND, the host appends atomically.
 *   BADF  not open or not writable in kind.  NOTCAPABLE  no FD_WRITE (never
 *   under a read-only grant).  FAULT  bad iovecs or nwritten_ptr (nothing
 *   written).  PIPE  the reader is gone (SIGPIPE is ignored).  NOSPC, FBIG,
 *   AGAIN, ... the host's. */
int32_t wasmaot_wasi_fd_write(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t iovs,
                              int32_t iovs_len, int32_t nwritten_ptr) {
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd,
                            WASI_KIND(WASI_KIND_STDOUT) | WASI_KIND(WASI_KIND_STDERR) | FILE_KIND |
                                SOCKET_KIND,
                            R(FD_WRITE), &e);
  if (err) return err;
  return vectored_io(vmctx, e->host, IO_WRITE, -1, iovs, iovs_len, nwritten_ptr);
}

/* fd_pread(fd: fd, iovs: iovec_array, offset: filesize) -> (nread: size)
 * preadv(2) at `offset` (any 64-bit offset below 2^63); the fd's position is
 * unchanged.
 *   SPIPE  stdio or a socket.  BADF  not open / a directory.  NOTCAPABLE  no
 *   FD_READ or FD_SEEK.  INVAL  offset >= 2^63.  FAULT  bad iovecs/pointer. */
int32_t wasmaot_wasi_fd_pread(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t iovs,
                              int32_t iovs_len, int64_t offset, int32_t nread_ptr) {
  struct wasi_fd *e;
  int32_t err = positioned_get(fd, R(FD_READ) | R(FD_SEEK), &e);
  if (err) return err;
  if (offset < 0) return E(INVAL);
  return vectored_io(vmctx, e->host, IO_READ, offset, iovs, iovs_len, nread_ptr);
}

/* fd_pwrite(fd: fd, iovs: ciovec_array, offset: filesize) -> (nwritten: size)
 * pwritev(2) at `offset`; the position is unchanged.  On an APPEND fd the
 * data is appended and the offset ignored (Linux's pwrite, as wasmtime).
 *   SPIPE  stdio or a socket.  BADF  not open / a directory.  NOTCAPABLE  no
 *   FD_WRITE or FD_SEEK.  INVAL  offset >= 2^63.  FAULT  bad iovecs/pointer. */
int32_t wasmaot_wasi_fd_pwrite(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t iovs,
                               int32_t iovs_len, int64_t offset, int32_t nwritten_ptr) {
  struct wasi_fd *e;
  int32_t err = positioned_get(fd, R(FD_WRITE) | R(FD_SEEK), &e);
  if (err) return err;
  if (offset < 0) return E(INVAL);
  return vectored_io(vmctx, e->host, IO_WRITE, offset, iovs, iovs_len, nwritten_ptr);
}

/* fd_seek(fd: fd, offset: filedelta, whence: whence) -> (newoffset: filesize)
 * lseek(2); stores the new position (u64).  Seeking past the end is allowed
 * (a later write leaves a hole).  Needs FD_TELL for (0, CUR), else FD_SEEK.
 *   SPIPE  stdio or a socket.  BADF  not open / a directory.  NOTCAPABLE  the
 *   right.  INVAL  unknown whence, or a negative resulting offset.  FAULT  bad
 *   newoffset_ptr (position unchanged). */
int32_t wasmaot_wasi_fd_seek(struct wasmaot_vmctx *vmctx, int32_t fd, int64_t offset,
                             int32_t whence, int32_t newoffset_ptr) {
  struct wasi_fd *e;
  uint64_t right = (offset == 0 && whence == WASMAOT_WASI_WHENCE_CUR) ? R(FD_TELL) : R(FD_SEEK);
  int32_t err = positioned_get(fd, right, &e);
  if (err) return err;
  static const int host_whence[] = {SEEK_SET, SEEK_CUR, SEEK_END};
  if (whence < 0 || whence > WASMAOT_WASI_WHENCE_END) return E(INVAL);
  if (wasi_guest_range(vmctx, (uint32_t)newoffset_ptr, 8) == NULL) return E(FAULT);
  off_t pos = lseek(e->host, offset, host_whence[whence]);
  if (pos < 0) return wasi_errno_from_host(errno);
  wasi_store_u64(vmctx, (uint32_t)newoffset_ptr, (uint64_t)pos);
  return 0;
}

/* fd_tell(fd: fd) -> (offset: filesize)
 * The current position (u64 at offset_ptr).
 *   SPIPE  stdio or a socket.  BADF  not open / a directory.  NOTCAPABLE  no
 *   FD_TELL.  FAULT  bad pointer. */
int32_t wasmaot_wasi_fd_tell(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t offset_ptr) {
  struct wasi_fd *e;
  int32_t err = positioned_get(fd, R(FD_TELL), &e);
  if (err) return err;
  if (wasi_guest_range(vmctx, (uint32_t)offset_ptr, 8) == NULL) return E(FAULT);
  off_t pos = lseek(e->host, 0, SEEK_CUR);
  if (pos < 0) return wasi_errno_from_host(errno);
  wasi_store_u64(vmctx, (uint32_t)offset_ptr, (uint64_t)pos);
  return 0;
}
