/* Host errno -> WASI errno, and host stat -> witx filestat.
 *
 * WASI's errno values are its own (witx `errno`, listed in wasmaot_wasi.h);
 * wasi-libc maps them back to its errno constants, so every host error must
 * become the WASI error of the same meaning.  The host errnos here are
 * Linux's (the same numbers on x86_64 and aarch64).
 */
#include "wasi_internal.h"

#include <errno.h>

#include "../sandbox/sandbox.h"

int32_t wasi_errno_from_host(int e) {
  switch (e) {
  case 0: return E(SUCCESS);
  case SANDBOX_ENOTCAPABLE: return WASI_ERRNO_ESCAPE;
  case E2BIG: return E(2BIG);
  case EACCES: return E(ACCES);
  case EADDRINUSE: return E(ADDRINUSE);
  case EADDRNOTAVAIL: return E(ADDRNOTAVAIL);
  case EAFNOSUPPORT: return E(AFNOSUPPORT);
  case EAGAIN: return E(AGAIN); /* == EWOULDBLOCK */
  case EALREADY: return E(ALREADY);
  case EBADF: return E(BADF);
  case EBADMSG: return E(BADMSG);
  case EBUSY: return E(BUSY);
  case ECANCELED: return E(CANCELED);
  case ECHILD: return E(CHILD);
  case ECONNABORTED: return E(CONNABORTED);
  case ECONNREFUSED: return E(CONNREFUSED);
  case ECONNRESET: return E(CONNRESET);
  case EDEADLK: return E(DEADLK);
  case EDESTADDRREQ: return E(DESTADDRREQ);
  case EDOM: return E(DOM);
  case EDQUOT: return E(DQUOT);
  case EEXIST: return E(EXIST);
  case EFAULT: return E(FAULT);
  case EFBIG: return E(FBIG);
  case EHOSTUNREACH: return E(HOSTUNREACH);
  case EIDRM: return E(IDRM);
  case EILSEQ: return E(ILSEQ);
  case EINPROGRESS: return E(INPROGRESS);
  case EINTR: return E(INTR);
  case EINVAL: return E(INVAL);
  case EIO: return E(IO);
  case EISCONN: return E(ISCONN);
  case EISDIR: return E(ISDIR);
  case ELOOP: return E(LOOP);
  case EMFILE: return E(MFILE);
  case EMLINK: return E(MLINK);
  case EMSGSIZE: return E(MSGSIZE);
  case EMULTIHOP: return E(MULTIHOP);
  case ENAMETOOLONG: return E(NAMETOOLONG);
  case ENETDOWN: return E(NETDOWN);
  case ENETRESET: return E(NETRESET);
  case ENETUNREACH: return E(NETUNREACH);
  case ENFILE: return E(NFILE);
  case ENOBUFS: return E(NOBUFS);
  case ENODEV: return E(NODEV);
  case ENOENT: return E(NOENT);
  case ENOEXEC: return E(NOEXEC);
  case ENOLCK: return E(NOLCK);
  case ENOLINK: return E(NOLINK);
  case ENOMEM: return E(NOMEM);
  case ENOMSG: return E(NOMSG);
  case ENOPROTOOPT: return E(NOPROTOOPT);
  case ENOSPC: return E(NOSPC);
  case ENOSYS: return E(NOSYS);
  case ENOTCONN: return E(NOTCONN);
  case ENOTDIR: return E(NOTDIR);
  case ENOTEMPTY: return E(NOTEMPTY);
  case ENOTRECOVERABLE: return E(NOTRECOVERABLE);
  case ENOTSOCK: return E(NOTSOCK);
  case ENOTSUP: return E(NOTSUP); /* == EOPNOTSUPP on Linux */
  case ENOTTY: return E(NOTTY);
  case ENXIO: return E(NXIO);
  case EOVERFLOW: return E(OVERFLOW);
  case EOWNERDEAD: return E(OWNERDEAD);
  case EPERM: return E(PERM);
  case EPIPE: return E(PIPE);
  case EPROTO: return E(PROTO);
  case EPROTONOSUPPORT: return E(PROTONOSUPPORT);
  case EPROTOTYPE: return E(PROTOTYPE);
  case ERANGE: return E(RANGE);
  case EROFS: return E(ROFS);
  case ESPIPE: return E(SPIPE);
  case ESRCH: return E(SRCH);
  case ESTALE: return E(STALE);
  case ETIMEDOUT: return E(TIMEDOUT);
  case ETXTBSY: return E(TXTBSY);
  case EXDEV: return E(XDEV);
  default: return E(IO); /* no WASI equivalent (e.g. EREMOTEIO) */
  }
}

uint8_t wasi_filetype_of_mode(mode_t mode) {
  if (S_ISREG(mode)) return WASMAOT_WASI_FILETYPE_REGULAR_FILE;
  if (S_ISDIR(mode)) return WASMAOT_WASI_FILETYPE_DIRECTORY;
  if (S_ISLNK(mode)) return WASMAOT_WASI_FILETYPE_SYMBOLIC_LINK;
  if (S_ISCHR(mode)) return WASMAOT_WASI_FILETYPE_CHARACTER_DEVICE;
  if (S_ISBLK(mode)) return WASMAOT_WASI_FILETYPE_BLOCK_DEVICE;
  if (S_ISSOCK(mode)) return WASMAOT_WASI_FILETYPE_SOCKET_STREAM;
  return WASMAOT_WASI_FILETYPE_UNKNOWN; /* FIFOs: preview1 has no code for them */
}

static uint64_t timestamp(const struct timespec *ts) {
  return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

void wasi_filestat_from_stat(uint8_t *out, const struct stat *st) {
  memset(out, 0, WASMAOT_WASI_FILESTAT_SIZE);
  wasi_put_u64(out + 0, (uint64_t)st->st_dev);
  wasi_put_u64(out + 8, (uint64_t)st->st_ino);
  out[16] = wasi_filetype_of_mode(st->st_mode);
  wasi_put_u64(out + 24, (uint64_t)st->st_nlink);
  wasi_put_u64(out + 32, (uint64_t)st->st_size);
  wasi_put_u64(out + 40, timestamp(&st->st_atim));
  wasi_put_u64(out + 48, timestamp(&st->st_mtim));
  wasi_put_u64(out + 56, timestamp(&st->st_ctim));
}
