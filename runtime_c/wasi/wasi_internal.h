/* Private to runtime_c/wasi/: the fd table, guest memory access, errno mapping.
 *
 * Guest memory.  Every guest pointer and length is turned into a host pointer
 * by ONE function, wasi_guest_range, which returns NULL (-> ERRNO_FAULT) when
 * any byte of the range lies outside memory 0; the typed loads and stores
 * below are built on it.  No other code adds a guest address to a host
 * pointer.  Functions check every range they will write BEFORE their first
 * side effect, so a bad pointer never leaves a half-done operation behind.
 *
 * Rights.  Each fd carries witx rights (base: what it may do; inheriting: what
 * fds opened through it may get), checked with wasi_fd_get.  A read-only grant
 * is enforced twice: its fds never hold a mutating right (WASI_RIGHTS_MUTATING
 * is stripped wherever rights are made), and every fd remembers its grant, so
 * path_open refuses write access under it whatever the rights say.
 */
#ifndef WASMAOT_WASI_INTERNAL_H
#define WASMAOT_WASI_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "wasmaot_rt.h"
#include "wasmaot_wasi.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the WASI layer copies guest scalars with memcpy: it needs a little-endian host"
#endif

#define WASI_HIDDEN __attribute__((visibility("hidden")))

/* Shorter names for the constants of wasmaot_wasi.h. */
#define E(name) WASMAOT_WASI_ERRNO_##name
#define R(name) WASMAOT_WASI_RIGHT(name)

/* The errno for a path that leads outside its directory (a sandbox escape) and
 * for a right the fd does not hold (read-only grants included): the spec's
 * ENOTCAPABLE.  (wasmtime reports EPERM for both; wasi-testsuite accepts
 * either.) */
#define WASI_ERRNO_ESCAPE E(NOTCAPABLE)
#define WASI_ERRNO_NO_RIGHT E(NOTCAPABLE)

/* Rights that change the file system; a read-only grant's fds never hold any. */
#define WASI_RIGHTS_MUTATING                                                                      \
  (R(FD_WRITE) | R(FD_ALLOCATE) | R(FD_FILESTAT_SET_SIZE) | R(FD_FILESTAT_SET_TIMES) |           \
   R(PATH_CREATE_DIRECTORY) | R(PATH_CREATE_FILE) | R(PATH_LINK_SOURCE) | R(PATH_LINK_TARGET) |  \
   R(PATH_RENAME_SOURCE) | R(PATH_RENAME_TARGET) | R(PATH_FILESTAT_SET_SIZE) |                    \
   R(PATH_FILESTAT_SET_TIMES) | R(PATH_SYMLINK) | R(PATH_REMOVE_DIRECTORY) | R(PATH_UNLINK_FILE))

/* Rights that mean something on a regular file / a directory. */
#define WASI_RIGHTS_FILE                                                                          \
  (R(FD_DATASYNC) | R(FD_READ) | R(FD_SEEK) | R(FD_FDSTAT_SET_FLAGS) | R(FD_SYNC) | R(FD_TELL) |  \
   R(FD_WRITE) | R(FD_ADVISE) | R(FD_ALLOCATE) | R(FD_FILESTAT_GET) | R(FD_FILESTAT_SET_SIZE) |   \
   R(FD_FILESTAT_SET_TIMES) | R(POLL_FD_READWRITE))
#define WASI_RIGHTS_DIR                                                                           \
  (R(FD_DATASYNC) | R(FD_READ) | R(FD_FDSTAT_SET_FLAGS) | R(FD_SYNC) | R(PATH_CREATE_DIRECTORY) | \
   R(PATH_CREATE_FILE) | R(PATH_LINK_SOURCE) | R(PATH_LINK_TARGET) | R(PATH_OPEN) |               \
   R(FD_READDIR) | R(PATH_READLINK) | R(PATH_RENAME_SOURCE) | R(PATH_RENAME_TARGET) |              \
   R(PATH_FILESTAT_GET) | R(PATH_FILESTAT_SET_SIZE) | R(PATH_FILESTAT_SET_TIMES) |                \
   R(FD_FILESTAT_GET) | R(FD_FILESTAT_SET_TIMES) | R(PATH_SYMLINK) | R(PATH_REMOVE_DIRECTORY) |    \
   R(PATH_UNLINK_FILE))

/* A preopened directory's rights: wasmtime's fixed set (what wasi-libc and
 * Rust's std expect to see), plus PATH_FILESTAT_SET_SIZE, which O_TRUNC needs
 * here.  Its inheriting rights add what files opened beneath may get. */
#define WASI_RIGHTS_PREOPEN_BASE                                                                  \
  (R(PATH_CREATE_DIRECTORY) | R(PATH_CREATE_FILE) | R(PATH_LINK_SOURCE) | R(PATH_LINK_TARGET) |  \
   R(PATH_OPEN) | R(FD_READDIR) | R(PATH_READLINK) | R(PATH_RENAME_SOURCE) |                      \
   R(PATH_RENAME_TARGET) | R(PATH_SYMLINK) | R(PATH_REMOVE_DIRECTORY) | R(PATH_UNLINK_FILE) |     \
   R(PATH_FILESTAT_GET) | R(PATH_FILESTAT_SET_TIMES) | R(FD_FILESTAT_GET) |                       \
   R(FD_FILESTAT_SET_TIMES) | R(PATH_FILESTAT_SET_SIZE))
#define WASI_RIGHTS_PREOPEN_INHERITING                                                            \
  (WASI_RIGHTS_PREOPEN_BASE | R(FD_DATASYNC) | R(FD_READ) | R(FD_SEEK) | R(FD_FDSTAT_SET_FLAGS) | \
   R(FD_SYNC) | R(FD_TELL) | R(FD_WRITE) | R(FD_ADVISE) | R(FD_ALLOCATE) | R(FD_FILESTAT_GET) |  \
   R(FD_FILESTAT_SET_SIZE) | R(FD_FILESTAT_SET_TIMES) | R(POLL_FD_READWRITE))

/* --- the fd table ---------------------------------------------------------------------------- */

enum wasi_kind {
  WASI_KIND_STDIN,     /* host fd 0: a stream (never seekable, as in wasmtime) */
  WASI_KIND_STDOUT,    /* host fd 1 */
  WASI_KIND_STDERR,    /* host fd 2 */
  WASI_KIND_FILE,      /* opened by path_open; not a directory */
  WASI_KIND_DIR,       /* a preopen, or a directory opened by path_open */
  WASI_KIND_LISTENER,  /* a granted listening socket */
  WASI_KIND_SOCKET,    /* a connection from sock_accept */
};

/* A directory grant (one per preopen). */
struct wasi_grant {
  dev_t dev;          /* identity of the grant's root directory */
  ino_t ino;
  int readonly;
};

/* fd_readdir's listing of a directory, taken when a listing starts (cookie 0)
 * and reused while the guest pages through it. */
struct wasi_dir_snapshot {
  uint64_t count;
  struct wasi_dir_entry {
    uint64_t ino;
    uint32_t namelen;
    uint8_t type;       /* WASMAOT_WASI_FILETYPE_* */
    size_t name;        /* offset in names */
  } *entries;
  char *names;
};

struct wasi_fd {
  int used;
  int kind;                        /* enum wasi_kind */
  int host;                        /* the host fd */
  uint64_t rights_base;
  uint64_t rights_inheriting;
  const struct wasi_grant *grant;  /* files and directories: the grant they are under */
  char *preopen_name;              /* a preopen: its guest path (fd_prestat_*), else NULL */
  struct wasi_dir_snapshot *dir;   /* fd_readdir's listing, or NULL */
};

/* Sets of kinds, for wasi_fd_get. */
#define WASI_KIND(k) (1u << (k))
#define WASI_KINDS_ANY 0x7Fu
#define WASI_KINDS_STDIO                                                                         \
  (WASI_KIND(WASI_KIND_STDIN) | WASI_KIND(WASI_KIND_STDOUT) | WASI_KIND(WASI_KIND_STDERR))
#define WASI_KINDS_SOCKETS (WASI_KIND(WASI_KIND_LISTENER) | WASI_KIND(WASI_KIND_SOCKET))

/* The fd table entry for guest fd `fd`: 0 and *out if it is open, of one of
 * the `kinds` and holding all of `rights`; else BADF (not open, or another
 * kind: wasmtime's answer) or the no-right errno. */
WASI_HIDDEN int32_t wasi_fd_get(int32_t fd, unsigned kinds, uint64_t rights, struct wasi_fd **out);
/* Adds an entry (wasmtime's numbering: the highest closed number first, else
 * one past the highest open one).  0 and *fd, or an errno (the caller still
 * owns the host fd then). */
WASI_HIDDEN int32_t wasi_fd_insert(const struct wasi_fd *entry, uint32_t *fd);
/* Closes guest fd `fd` (the host fd unless it is the host's 0-2). */
WASI_HIDDEN int32_t wasi_fd_remove(int32_t fd);
WASI_HIDDEN int32_t wasi_fd_renumber(int32_t from, int32_t to);
/* Releases what an entry owns (host fd, snapshot, name) without touching the table. */
WASI_HIDDEN void wasi_fd_release(struct wasi_fd *entry);
/* The process's argv and environment, as given to wasmaot_wasi_init. */
WASI_HIDDEN void wasi_args(size_t *count, char *const **strings);
WASI_HIDDEN void wasi_environ(size_t *count, char *const **strings);
/* args.c: the layout args_get and environ_get share (pointer array + NUL-
 * terminated strings), and their sizes. */
WASI_HIDDEN int32_t wasi_strings_get(struct wasmaot_vmctx *vmctx, size_t count,
                                     char *const *strings, uint32_t vec, uint32_t buf);
WASI_HIDDEN int32_t wasi_strings_sizes_get(struct wasmaot_vmctx *vmctx, size_t count,
                                           char *const *strings, uint32_t count_ptr,
                                           uint32_t size_ptr);
/* Calls the config's exit hook, if any (returns if there is none). */
WASI_HIDDEN void wasi_call_exit_hook(struct wasmaot_vmctx *vmctx, int32_t code);

/* --- errno ------------------------------------------------------------------------------------ */

/* Host errno (positive) -> WASI errno; SANDBOX_ENOTCAPABLE -> the escape errno;
 * anything unknown -> EIO. */
WASI_HIDDEN int32_t wasi_errno_from_host(int host_errno);
/* For the sandbox's and unchecked calls' "-errno" results. */
static inline int32_t wasi_errno_from_neg(long r) { return wasi_errno_from_host((int)-r); }

/* WASI filetype of a host st_mode. */
WASI_HIDDEN uint8_t wasi_filetype_of_mode(mode_t mode);
/* Writes a witx filestat from a host stat to guest bytes `out` (64 bytes). */
WASI_HIDDEN void wasi_filestat_from_stat(uint8_t *out, const struct stat *st);

/* --- guest memory ------------------------------------------------------------------------------
 * THE bounds check.  Host pointer to guest bytes [ptr, ptr + len) of memory 0,
 * or NULL if the instance has no memory or any byte is outside it.  `ptr` is
 * the i32 as the guest passed it (an unsigned address); `len` is computed in
 * 64 bits by callers (counts times sizes cannot overflow there: both < 2^32).
 * SANDBOX: every access to guest memory goes through this function. */
static inline uint8_t *wasi_guest_range(struct wasmaot_vmctx *vmctx, uint32_t ptr, uint64_t len) {
  if (vmctx == NULL || vmctx->memories == NULL) return NULL;
  struct wasmaot_memory *mem = vmctx->memories[0];
  if (mem == NULL) return NULL;
  /* ptr < 2^32 and len < 2^64 - 2^32 in every caller, so no overflow. */
  if (len > mem->size || (uint64_t)ptr > mem->size - len) return NULL;
  return mem->base + ptr;
}

static inline int wasi_store_u32(struct wasmaot_vmctx *vmctx, uint32_t ptr, uint32_t v) {
  uint8_t *p = wasi_guest_range(vmctx, ptr, 4);
  if (p == NULL) return -1;
  memcpy(p, &v, 4);
  return 0;
}
static inline int wasi_store_u64(struct wasmaot_vmctx *vmctx, uint32_t ptr, uint64_t v) {
  uint8_t *p = wasi_guest_range(vmctx, ptr, 8);
  if (p == NULL) return -1;
  memcpy(p, &v, 8);
  return 0;
}
/* Little-endian scalars inside a range already checked. */
static inline uint32_t wasi_get_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline uint64_t wasi_get_u64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static inline uint16_t wasi_get_u16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
static inline void wasi_put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline void wasi_put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void wasi_put_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* An iovec array read out of guest memory (each buffer checked). */
struct wasi_iovs {
  int count;
  struct iovec *iov;           /* host buffers inside guest memory */
  struct iovec small[8];
};
/* Reads `iovs_len` (c)iovecs at `iovs` into `out`: 0, or FAULT (a bad array or
 * buffer) / NOMEM.  At most IOV_MAX buffers are kept (a shorter transfer is
 * allowed); their total is capped below 4 GiB so a count fits the u32 result. */
WASI_HIDDEN int32_t wasi_iovs_load(struct wasmaot_vmctx *vmctx, uint32_t iovs, uint32_t iovs_len,
                                   struct wasi_iovs *out);
WASI_HIDDEN void wasi_iovs_free(struct wasi_iovs *v);

/* A guest path copied out and NUL-terminated: 0, or FAULT (out of memory
 * bounds), NAMETOOLONG, ILSEQ (not UTF-8, as wasmtime) or INVAL (a NUL byte
 * inside, which the host would silently cut at). */
#define WASI_PATH_BUF 4097
WASI_HIDDEN int32_t wasi_path_load(struct wasmaot_vmctx *vmctx, uint32_t ptr, uint32_t len,
                                   char out[WASI_PATH_BUF]);

#endif
