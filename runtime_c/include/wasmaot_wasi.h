/* wasmaot WASI preview1 (`wasi_snapshot_preview1`): the table of functions,
 * the ABI constants, and the process's WASI context (config + init).
 *
 * Spec: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md
 * (witx: legacy/preview1/witx/wasi_snapshot_preview1.witx).  Behaviour follows
 * wasmtime's preview1 implementation (crates/wasi/src/p1.rs) where the spec
 * leaves a choice; every deviation is written in the comment of its function
 * (the files of runtime_c/wasi/).
 *
 * This header is self-contained (no generated header needed): generated code,
 * the driver and tests can include it on any target, even wasm32 (the tests
 * check the constants below against wasi-libc's <wasi/api.h> that way).
 *
 * Binding.  Each imported `wasi_snapshot_preview1` function `NAME` is a plain
 * C function `wasmaot_wasi_NAME` taking the calling instance's
 * `struct wasmaot_vmctx *` first, then the wasm parameters (i32 -> int32_t,
 * i64 -> int64_t; pointers and sizes are i32 guest addresses into memory 0),
 * and returning the errno as int32_t (0 = success) -- except proc_exit, which
 * returns void and never returns.
 *
 * Threads.  The context is process-wide and not locked: WASI functions are
 * called by wasm, and wasm runs on one thread at a time (wasmaot_rt.h).
 */
#ifndef WASMAOT_WASI_H
#define WASMAOT_WASI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WASMAOT_WASI_API __attribute__((visibility("default")))

struct wasmaot_vmctx;

/* --- THE table: every wasi_snapshot_preview1 function, once --------------------------
 *
 * This is the single source of truth for the 46 imports.  The C prototypes
 * below are generated from it (so the compiler checks every implementation
 * against it), the Python side parses it, and tests/wasi_c checks it against
 * wasi-libc's import declarations.
 *
 * Format (one row per line, in witx order, machine-readable):
 *
 *     X(NAME, RESULT, PARAMS) \
 *
 *   NAME    the import field name; the C symbol is `wasmaot_wasi_NAME`
 *   RESULT  ERRNO     -> returns the errno as i32 (0: success)
 *           NORETURN  -> returns nothing and never returns (proc_exit)
 *   PARAMS  the wasm parameters in order, space-separated, each I32(pname) or
 *           I64(pname); empty for none.  The vmctx is NOT listed: it is always
 *           the first C argument.
 *
 * A parser needs only: rows match  ^\s*X\((\w+),\s*(ERRNO|NORETURN),(.*)\)\s*\\?$
 * and parameters match  (I32|I64)\((\w+)\).  Parameters named *_ptr are guest
 * addresses where the function stores its results (witx "results").
 */
#define WASMAOT_WASI_FUNCTIONS(X, I32, I64) \
  X(args_get, ERRNO, I32(argv) I32(argv_buf)) \
  X(args_sizes_get, ERRNO, I32(argc_ptr) I32(argv_buf_size_ptr)) \
  X(environ_get, ERRNO, I32(environ) I32(environ_buf)) \
  X(environ_sizes_get, ERRNO, I32(environc_ptr) I32(environ_buf_size_ptr)) \
  X(clock_res_get, ERRNO, I32(id) I32(resolution_ptr)) \
  X(clock_time_get, ERRNO, I32(id) I64(precision) I32(time_ptr)) \
  X(fd_advise, ERRNO, I32(fd) I64(offset) I64(len) I32(advice)) \
  X(fd_allocate, ERRNO, I32(fd) I64(offset) I64(len)) \
  X(fd_close, ERRNO, I32(fd)) \
  X(fd_datasync, ERRNO, I32(fd)) \
  X(fd_fdstat_get, ERRNO, I32(fd) I32(fdstat_ptr)) \
  X(fd_fdstat_set_flags, ERRNO, I32(fd) I32(flags)) \
  X(fd_fdstat_set_rights, ERRNO, I32(fd) I64(fs_rights_base) I64(fs_rights_inheriting)) \
  X(fd_filestat_get, ERRNO, I32(fd) I32(filestat_ptr)) \
  X(fd_filestat_set_size, ERRNO, I32(fd) I64(size)) \
  X(fd_filestat_set_times, ERRNO, I32(fd) I64(atim) I64(mtim) I32(fst_flags)) \
  X(fd_pread, ERRNO, I32(fd) I32(iovs) I32(iovs_len) I64(offset) I32(nread_ptr)) \
  X(fd_prestat_get, ERRNO, I32(fd) I32(prestat_ptr)) \
  X(fd_prestat_dir_name, ERRNO, I32(fd) I32(path) I32(path_len)) \
  X(fd_pwrite, ERRNO, I32(fd) I32(iovs) I32(iovs_len) I64(offset) I32(nwritten_ptr)) \
  X(fd_read, ERRNO, I32(fd) I32(iovs) I32(iovs_len) I32(nread_ptr)) \
  X(fd_readdir, ERRNO, I32(fd) I32(buf) I32(buf_len) I64(cookie) I32(bufused_ptr)) \
  X(fd_renumber, ERRNO, I32(fd) I32(to)) \
  X(fd_seek, ERRNO, I32(fd) I64(offset) I32(whence) I32(newoffset_ptr)) \
  X(fd_sync, ERRNO, I32(fd)) \
  X(fd_tell, ERRNO, I32(fd) I32(offset_ptr)) \
  X(fd_write, ERRNO, I32(fd) I32(iovs) I32(iovs_len) I32(nwritten_ptr)) \
  X(path_create_directory, ERRNO, I32(fd) I32(path) I32(path_len)) \
  X(path_filestat_get, ERRNO, I32(fd) I32(flags) I32(path) I32(path_len) I32(filestat_ptr)) \
  X(path_filestat_set_times, ERRNO, I32(fd) I32(flags) I32(path) I32(path_len) I64(atim) I64(mtim) I32(fst_flags)) \
  X(path_link, ERRNO, I32(old_fd) I32(old_flags) I32(old_path) I32(old_path_len) I32(new_fd) I32(new_path) I32(new_path_len)) \
  X(path_open, ERRNO, I32(fd) I32(dirflags) I32(path) I32(path_len) I32(oflags) I64(fs_rights_base) I64(fs_rights_inheriting) I32(fdflags) I32(fd_ptr)) \
  X(path_readlink, ERRNO, I32(fd) I32(path) I32(path_len) I32(buf) I32(buf_len) I32(bufused_ptr)) \
  X(path_remove_directory, ERRNO, I32(fd) I32(path) I32(path_len)) \
  X(path_rename, ERRNO, I32(fd) I32(old_path) I32(old_path_len) I32(new_fd) I32(new_path) I32(new_path_len)) \
  X(path_symlink, ERRNO, I32(old_path) I32(old_path_len) I32(fd) I32(new_path) I32(new_path_len)) \
  X(path_unlink_file, ERRNO, I32(fd) I32(path) I32(path_len)) \
  X(poll_oneoff, ERRNO, I32(in) I32(out) I32(nsubscriptions) I32(nevents_ptr)) \
  X(proc_exit, NORETURN, I32(rval)) \
  X(proc_raise, ERRNO, I32(sig)) \
  X(sched_yield, ERRNO, ) \
  X(random_get, ERRNO, I32(buf) I32(buf_len)) \
  X(sock_accept, ERRNO, I32(fd) I32(flags) I32(fd_ptr)) \
  X(sock_recv, ERRNO, I32(fd) I32(ri_data) I32(ri_data_len) I32(ri_flags) I32(ro_datalen_ptr) I32(ro_flags_ptr)) \
  X(sock_send, ERRNO, I32(fd) I32(si_data) I32(si_data_len) I32(si_flags) I32(so_datalen_ptr)) \
  X(sock_shutdown, ERRNO, I32(fd) I32(how))

#define WASMAOT_WASI_FUNCTION_COUNT 46

/* The prototypes, generated from the table. */
#define WASMAOT_WASI_C_I32(pname) , int32_t pname
#define WASMAOT_WASI_C_I64(pname) , int64_t pname
#define WASMAOT_WASI_C_RESULT_ERRNO int32_t
#define WASMAOT_WASI_C_RESULT_NORETURN __attribute__((noreturn)) void
#define WASMAOT_WASI_C_DECLARE(name, result, params) \
  WASMAOT_WASI_API WASMAOT_WASI_C_RESULT_##result wasmaot_wasi_##name(struct wasmaot_vmctx *vmctx params);
WASMAOT_WASI_FUNCTIONS(WASMAOT_WASI_C_DECLARE, WASMAOT_WASI_C_I32, WASMAOT_WASI_C_I64)

/* --- errno (witx `errno`, u16): what every function returns ------------------------ */
#define WASMAOT_WASI_ERRNOS(X) \
  X(SUCCESS, 0) X(2BIG, 1) X(ACCES, 2) X(ADDRINUSE, 3) X(ADDRNOTAVAIL, 4) X(AFNOSUPPORT, 5) \
  X(AGAIN, 6) X(ALREADY, 7) X(BADF, 8) X(BADMSG, 9) X(BUSY, 10) X(CANCELED, 11) X(CHILD, 12) \
  X(CONNABORTED, 13) X(CONNREFUSED, 14) X(CONNRESET, 15) X(DEADLK, 16) X(DESTADDRREQ, 17) \
  X(DOM, 18) X(DQUOT, 19) X(EXIST, 20) X(FAULT, 21) X(FBIG, 22) X(HOSTUNREACH, 23) X(IDRM, 24) \
  X(ILSEQ, 25) X(INPROGRESS, 26) X(INTR, 27) X(INVAL, 28) X(IO, 29) X(ISCONN, 30) X(ISDIR, 31) \
  X(LOOP, 32) X(MFILE, 33) X(MLINK, 34) X(MSGSIZE, 35) X(MULTIHOP, 36) X(NAMETOOLONG, 37) \
  X(NETDOWN, 38) X(NETRESET, 39) X(NETUNREACH, 40) X(NFILE, 41) X(NOBUFS, 42) X(NODEV, 43) \
  X(NOENT, 44) X(NOEXEC, 45) X(NOLCK, 46) X(NOLINK, 47) X(NOMEM, 48) X(NOMSG, 49) \
  X(NOPROTOOPT, 50) X(NOSPC, 51) X(NOSYS, 52) X(NOTCONN, 53) X(NOTDIR, 54) X(NOTEMPTY, 55) \
  X(NOTRECOVERABLE, 56) X(NOTSOCK, 57) X(NOTSUP, 58) X(NOTTY, 59) X(NXIO, 60) X(OVERFLOW, 61) \
  X(OWNERDEAD, 62) X(PERM, 63) X(PIPE, 64) X(PROTO, 65) X(PROTONOSUPPORT, 66) X(PROTOTYPE, 67) \
  X(RANGE, 68) X(ROFS, 69) X(SPIPE, 70) X(SRCH, 71) X(STALE, 72) X(TIMEDOUT, 73) X(TXTBSY, 74) \
  X(XDEV, 75) X(NOTCAPABLE, 76)

#define WASMAOT_WASI_C_ERRNO_ENUM(name, value) WASMAOT_WASI_ERRNO_##name = value,
enum wasmaot_wasi_errno { WASMAOT_WASI_ERRNOS(WASMAOT_WASI_C_ERRNO_ENUM) };

/* --- rights (witx `rights`, u64) ------------------------------------------------------ */
#define WASMAOT_WASI_RIGHTS(X) \
  X(FD_DATASYNC, 0) X(FD_READ, 1) X(FD_SEEK, 2) X(FD_FDSTAT_SET_FLAGS, 3) X(FD_SYNC, 4) \
  X(FD_TELL, 5) X(FD_WRITE, 6) X(FD_ADVISE, 7) X(FD_ALLOCATE, 8) X(PATH_CREATE_DIRECTORY, 9) \
  X(PATH_CREATE_FILE, 10) X(PATH_LINK_SOURCE, 11) X(PATH_LINK_TARGET, 12) X(PATH_OPEN, 13) \
  X(FD_READDIR, 14) X(PATH_READLINK, 15) X(PATH_RENAME_SOURCE, 16) X(PATH_RENAME_TARGET, 17) \
  X(PATH_FILESTAT_GET, 18) X(PATH_FILESTAT_SET_SIZE, 19) X(PATH_FILESTAT_SET_TIMES, 20) \
  X(FD_FILESTAT_GET, 21) X(FD_FILESTAT_SET_SIZE, 22) X(FD_FILESTAT_SET_TIMES, 23) \
  X(PATH_SYMLINK, 24) X(PATH_REMOVE_DIRECTORY, 25) X(PATH_UNLINK_FILE, 26) \
  X(POLL_FD_READWRITE, 27) X(SOCK_SHUTDOWN, 28) X(SOCK_ACCEPT, 29)

#define WASMAOT_WASI_C_RIGHT_ENUM(name, bit) WASMAOT_WASI_RIGHTS_##name##_BIT = bit,
enum wasmaot_wasi_right_bit { WASMAOT_WASI_RIGHTS(WASMAOT_WASI_C_RIGHT_ENUM) };
#define WASMAOT_WASI_RIGHT(name) (UINT64_C(1) << WASMAOT_WASI_RIGHTS_##name##_BIT)
#define WASMAOT_WASI_RIGHTS_ALL ((UINT64_C(1) << 30) - 1)

/* --- other witx enums and flags ---------------------------------------------------------- */
/* clockid (u32) */
#define WASMAOT_WASI_CLOCK_REALTIME 0
#define WASMAOT_WASI_CLOCK_MONOTONIC 1
#define WASMAOT_WASI_CLOCK_PROCESS_CPUTIME_ID 2
#define WASMAOT_WASI_CLOCK_THREAD_CPUTIME_ID 3
/* filetype (u8) */
#define WASMAOT_WASI_FILETYPE_UNKNOWN 0
#define WASMAOT_WASI_FILETYPE_BLOCK_DEVICE 1
#define WASMAOT_WASI_FILETYPE_CHARACTER_DEVICE 2
#define WASMAOT_WASI_FILETYPE_DIRECTORY 3
#define WASMAOT_WASI_FILETYPE_REGULAR_FILE 4
#define WASMAOT_WASI_FILETYPE_SOCKET_DGRAM 5
#define WASMAOT_WASI_FILETYPE_SOCKET_STREAM 6
#define WASMAOT_WASI_FILETYPE_SYMBOLIC_LINK 7
/* whence (u8) */
#define WASMAOT_WASI_WHENCE_SET 0
#define WASMAOT_WASI_WHENCE_CUR 1
#define WASMAOT_WASI_WHENCE_END 2
/* advice (u8) */
#define WASMAOT_WASI_ADVICE_NORMAL 0
#define WASMAOT_WASI_ADVICE_SEQUENTIAL 1
#define WASMAOT_WASI_ADVICE_RANDOM 2
#define WASMAOT_WASI_ADVICE_WILLNEED 3
#define WASMAOT_WASI_ADVICE_DONTNEED 4
#define WASMAOT_WASI_ADVICE_NOREUSE 5
/* fdflags (u16) */
#define WASMAOT_WASI_FDFLAGS_APPEND 0x1
#define WASMAOT_WASI_FDFLAGS_DSYNC 0x2
#define WASMAOT_WASI_FDFLAGS_NONBLOCK 0x4
#define WASMAOT_WASI_FDFLAGS_RSYNC 0x8
#define WASMAOT_WASI_FDFLAGS_SYNC 0x10
/* fstflags (u16) */
#define WASMAOT_WASI_FSTFLAGS_ATIM 0x1
#define WASMAOT_WASI_FSTFLAGS_ATIM_NOW 0x2
#define WASMAOT_WASI_FSTFLAGS_MTIM 0x4
#define WASMAOT_WASI_FSTFLAGS_MTIM_NOW 0x8
/* lookupflags (u32) */
#define WASMAOT_WASI_LOOKUPFLAGS_SYMLINK_FOLLOW 0x1
/* oflags (u16) */
#define WASMAOT_WASI_OFLAGS_CREAT 0x1
#define WASMAOT_WASI_OFLAGS_DIRECTORY 0x2
#define WASMAOT_WASI_OFLAGS_EXCL 0x4
#define WASMAOT_WASI_OFLAGS_TRUNC 0x8
/* eventtype (u8) */
#define WASMAOT_WASI_EVENTTYPE_CLOCK 0
#define WASMAOT_WASI_EVENTTYPE_FD_READ 1
#define WASMAOT_WASI_EVENTTYPE_FD_WRITE 2
/* eventrwflags (u16) */
#define WASMAOT_WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP 0x1
/* subclockflags (u16) */
#define WASMAOT_WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME 0x1
/* riflags (u16), roflags (u16), sdflags (u8) */
#define WASMAOT_WASI_RIFLAGS_RECV_PEEK 0x1
#define WASMAOT_WASI_RIFLAGS_RECV_WAITALL 0x2
#define WASMAOT_WASI_ROFLAGS_RECV_DATA_TRUNCATED 0x1
#define WASMAOT_WASI_SDFLAGS_RD 0x1
#define WASMAOT_WASI_SDFLAGS_WR 0x2
/* preopentype (u8) */
#define WASMAOT_WASI_PREOPENTYPE_DIR 0

/* --- guest memory layouts (wasm32, little-endian): size, then field offsets -------------- */
#define WASMAOT_WASI_IOVEC_SIZE 8          /* buf u32 @0, buf_len u32 @4 (ciovec too) */
#define WASMAOT_WASI_PRESTAT_SIZE 8        /* tag u8 @0, u.dir.pr_name_len u32 @4 */
#define WASMAOT_WASI_FDSTAT_SIZE 24        /* fs_filetype u8 @0, fs_flags u16 @2,
                                              fs_rights_base u64 @8, fs_rights_inheriting u64 @16 */
#define WASMAOT_WASI_FILESTAT_SIZE 64      /* dev @0, ino @8, filetype u8 @16, nlink @24,
                                              size @32, atim @40, mtim @48, ctim @56 (u64s) */
#define WASMAOT_WASI_DIRENT_SIZE 24        /* d_next u64 @0, d_ino u64 @8, d_namlen u32 @16,
                                              d_type u8 @20; the name follows */
#define WASMAOT_WASI_SUBSCRIPTION_SIZE 48  /* userdata u64 @0, tag u8 @8, then @16: clock
                                              {id u32 @16, timeout u64 @24, precision u64 @32,
                                              flags u16 @40} or fd_readwrite {fd u32 @16} */
#define WASMAOT_WASI_EVENT_SIZE 32         /* userdata u64 @0, error u16 @8, type u8 @10,
                                              fd_readwrite {nbytes u64 @16, flags u16 @24} */

/* --- the process's WASI context ------------------------------------------------------------ */

/* A directory grant: the guest sees `host_path` as `guest_path`. */
struct wasmaot_wasi_preopen {
  const char *host_path;   /* opened by wasmaot_wasi_init (the only ambient open) */
  const char *guest_path;  /* what fd_prestat_dir_name reports, e.g. "." or "/data" */
  int readonly;            /* 1: refuse every write, create, truncate, rename, link,
                              unlink, symlink, mkdir, rmdir and set-times under it */
};

/* A listening TCP socket granted to the guest (wasmtime's --tcplisten). */
struct wasmaot_wasi_listen {
  int fd;                  /* >= 0: an already bound and listening socket (adopted) */
  const char *address;     /* fd < 0: "HOST:PORT" / "[V6]:PORT" to bind and listen on */
};

struct wasmaot_wasi_config {
  size_t argc;
  const char *const *argv;     /* argv[0]: the program name, as the guest sees it */
  size_t envc;
  const char *const *env;      /* "NAME=VALUE" strings, passed as they are */
  size_t npreopens;
  const struct wasmaot_wasi_preopen *preopens;   /* fds 3, 4, ... in this order */
  size_t nlisten;
  const struct wasmaot_wasi_listen *listen;      /* the fds after the preopens */
  /* Called by proc_exit instead of exiting, if not NULL (an embedder turns it
   * into an unwind; tests longjmp).  It must not return; if it does, the
   * process exits with `code`. */
  void (*exit_hook)(struct wasmaot_vmctx *vmctx, int32_t code);
};

/* Sets up the process's WASI context from `config` (copied; it may be freed
 * afterwards): fds 0-2 are the host's 0-2, then the preopens, then the listen
 * sockets.  Ignores SIGPIPE for the process (writes to a closed pipe return
 * EPIPE, as in wasmtime).  Calling it again replaces the previous context
 * (closing its fds).  Returns 0, or -1 with one line in errbuf (a preopen that
 * is missing or not a directory, an address that cannot be bound). */
WASMAOT_WASI_API int wasmaot_wasi_init(const struct wasmaot_wasi_config *config, char *errbuf,
                                       size_t errlen);

/* Closes every fd of the context (except the host's 0-2) and frees it; the
 * WASI functions then see only fds 0-2.  Idempotent. */
WASMAOT_WASI_API void wasmaot_wasi_shutdown(void);

#ifdef __cplusplus
}
#endif

#endif
