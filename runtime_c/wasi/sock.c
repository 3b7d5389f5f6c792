/* sock_accept, sock_recv, sock_send, sock_shutdown -- on listening sockets
 * granted at startup (wasmtime's --tcplisten), and the connections accepted
 * from them.  The guest can create no socket of its own: preview1 has no
 * socket/bind/connect, so the granted listeners are all the network it has.
 *
 * witx: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md#-sock_acceptfd-fd-flags-fdflags---resultfd-errno
 */
#include "wasi_internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../sandbox/sandbox.h"

#define LISTENER_KIND WASI_KIND(WASI_KIND_LISTENER)
#define SOCKET_KIND WASI_KIND(WASI_KIND_SOCKET)

/* AMBIENT AUTHORITY: binds the address the user granted (--tcp-listen
 * HOST:PORT, or [V6]:PORT) and listens, as Rust's TcpListener::bind does
 * (SO_REUSEADDR, backlog 128).  Returns the fd, or -1 with a message. */
WASI_HIDDEN int wasi_listen_ambient(const char *address, char *errbuf, size_t errlen) {
  char host[256];
  const char *colon = strrchr(address, ':');
  if (colon == NULL || colon == address || colon[1] == '\0') {
    snprintf(errbuf, errlen, "bad listen address '%s' (expected HOST:PORT)", address);
    return -1;
  }
  size_t hlen = (size_t)(colon - address);
  const char *h = address;
  if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') h++, hlen -= 2; /* [::1]:80 */
  if (hlen >= sizeof host) {
    snprintf(errbuf, errlen, "bad listen address '%s'", address);
    return -1;
  }
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  int gr = getaddrinfo(host, colon + 1, &hints, &res);
  if (gr != 0) {
    snprintf(errbuf, errlen, "cannot resolve listen address '%s': %s", address, gai_strerror(gr));
    return -1;
  }
  int fd = -1, saved = 0;
  for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      saved = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
      saved = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) snprintf(errbuf, errlen, "cannot listen on '%s': %s", address, strerror(saved));
  return fd;
}

/* An fd the embedder passed as a listener must be a listening socket. */
WASI_HIDDEN int wasi_listener_check(int fd, char *errbuf, size_t errlen) {
  int on = 0;
  socklen_t len = sizeof on;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) < 0 || !on) {
    snprintf(errbuf, errlen, "fd %d is not a listening socket", fd);
    return -1;
  }
  return 0;
}

/* sock_accept(fd: fd, flags: fdflags) -> (fd)
 * Accepts a connection on a granted listener and stores its new fd (u32 at
 * fd_ptr).  flags may be NONBLOCK (the new socket's mode).  Blocks unless
 * the listener was made non-blocking (fd_fdstat_set_flags).
 *   BADF  not a listener (NOTSOCK for files and stdio, as the spec suggests
 *   for non-sockets).  NOTCAPABLE  no SOCK_ACCEPT.  INVAL  other flags.
 *   AGAIN  non-blocking and nobody is waiting.  FAULT  bad fd_ptr (nothing
 *   accepted). */
int32_t wasmaot_wasi_sock_accept(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t flags,
                                 int32_t fd_ptr) {
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, LISTENER_KIND, R(SOCK_ACCEPT), &e);
  if (err == E(BADF) && wasi_fd_get(fd, WASI_KINDS_ANY & ~WASI_KINDS_SOCKETS, 0, &e) == 0)
    return E(NOTSOCK);
  if (err) return err;
  if (flags & ~WASMAOT_WASI_FDFLAGS_NONBLOCK) return E(INVAL);
  if (wasi_guest_range(vmctx, (uint32_t)fd_ptr, 4) == NULL) return E(FAULT);
  int host;
  do {
    host = accept4(e->host, NULL, NULL,
                   SOCK_CLOEXEC | ((flags & WASMAOT_WASI_FDFLAGS_NONBLOCK) ? SOCK_NONBLOCK : 0));
  } while (host < 0 && errno == EINTR);
  if (host < 0) return wasi_errno_from_host(errno);
  struct wasi_fd s;
  memset(&s, 0, sizeof s);
  s.kind = WASI_KIND_SOCKET;
  s.host = host;
  s.rights_base = s.rights_inheriting = R(FD_READ) | R(FD_WRITE) | R(POLL_FD_READWRITE) |
                                        R(SOCK_SHUTDOWN) | R(FD_FDSTAT_SET_FLAGS) |
                                        R(FD_FILESTAT_GET);
  uint32_t n;
  err = wasi_fd_insert(&s, &n);
  if (err) {
    close_unchecked(host); /* undo: the connection is dropped */
    return err;
  }
  wasi_store_u32(vmctx, (uint32_t)fd_ptr, n);
  return 0;
}

/* A connection: NOTCONN for a listener (as recv(2) on one), NOTSOCK for what
 * is no socket, BADF if not open. */
static int32_t socket_get(int32_t fd, uint64_t rights, struct wasi_fd **e) {
  int32_t err = wasi_fd_get(fd, SOCKET_KIND, rights, e);
  if (err == E(BADF) && wasi_fd_get(fd, LISTENER_KIND, 0, e) == 0) return E(NOTCONN);
  if (err == E(BADF) && wasi_fd_get(fd, WASI_KINDS_ANY & ~WASI_KINDS_SOCKETS, 0, e) == 0)
    return E(NOTSOCK);
  return err;
}

/* sock_recv(fd: fd, ri_data: iovec_array, ri_flags: riflags) -> (size, roflags)
 * recvmsg(2) into the guest buffers; stores the bytes received (u32 at
 * ro_datalen_ptr, 0 when the peer closed) and roflags (u16 at ro_flags_ptr:
 * RECV_DATA_TRUNCATED, never set for TCP).  ri_flags: RECV_PEEK, RECV_WAITALL.
 *   NOTSOCK  not a socket.  NOTCONN  a listener.  NOTCAPABLE  no FD_READ.
 *   INVAL  other flags.
 *   FAULT  bad iovecs or result pointers (nothing received).  AGAIN,
 *   CONNRESET, ... the host's. */
int32_t wasmaot_wasi_sock_recv(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t ri_data,
                               int32_t ri_data_len, int32_t ri_flags, int32_t ro_datalen_ptr,
                               int32_t ro_flags_ptr) {
  struct wasi_fd *e;
  int32_t err = socket_get(fd, R(FD_READ), &e);
  if (err) return err;
  if (ri_flags & ~(WASMAOT_WASI_RIFLAGS_RECV_PEEK | WASMAOT_WASI_RIFLAGS_RECV_WAITALL))
    return E(INVAL);
  uint8_t *flags_out = wasi_guest_range(vmctx, (uint32_t)ro_flags_ptr, 2);
  if (flags_out == NULL || wasi_guest_range(vmctx, (uint32_t)ro_datalen_ptr, 4) == NULL)
    return E(FAULT);
  struct wasi_iovs v;
  err = wasi_iovs_load(vmctx, (uint32_t)ri_data, (uint32_t)ri_data_len, &v);
  if (err) return err;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = v.iov;
  msg.msg_iovlen = (size_t)v.count;
  int hflags = ((ri_flags & WASMAOT_WASI_RIFLAGS_RECV_PEEK) ? MSG_PEEK : 0) |
               ((ri_flags & WASMAOT_WASI_RIFLAGS_RECV_WAITALL) ? MSG_WAITALL : 0);
  ssize_t n;
  do {
    n = recvmsg(e->host, &msg, hflags);
  } while (n < 0 && errno == EINTR);
  wasi_iovs_free(&v);
  if (n < 0) return wasi_errno_from_host(errno);
  wasi_store_u32(vmctx, (uint32_t)ro_datalen_ptr, (uint32_t)n);
  wasi_put_u16(flags_out,
               (msg.msg_flags & MSG_TRUNC) ? WASMAOT_WASI_ROFLAGS_RECV_DATA_TRUNCATED : 0);
  return 0;
}

/* sock_send(fd: fd, si_data: ciovec_array, si_flags: siflags) -> (size)
 * sendmsg(2) of the guest buffers (never raising SIGPIPE); stores the bytes
 * sent (u32).  si_flags has no flags defined.
 *   NOTSOCK  not a socket.  NOTCAPABLE  no FD_WRITE.  INVAL  si_flags != 0.
 *   FAULT  bad iovecs or pointer (nothing sent).  PIPE, AGAIN, ... the host's. */
int32_t wasmaot_wasi_sock_send(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t si_data,
                               int32_t si_data_len, int32_t si_flags, int32_t so_datalen_ptr) {
  struct wasi_fd *e;
  int32_t err = socket_get(fd, R(FD_WRITE), &e);
  if (err) return err;
  if (si_flags != 0) return E(INVAL);
  if (wasi_guest_range(vmctx, (uint32_t)so_datalen_ptr, 4) == NULL) return E(FAULT);
  struct wasi_iovs v;
  err = wasi_iovs_load(vmctx, (uint32_t)si_data, (uint32_t)si_data_len, &v);
  if (err) return err;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = v.iov;
  msg.msg_iovlen = (size_t)v.count;
  ssize_t n;
  do {
    n = sendmsg(e->host, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  wasi_iovs_free(&v);
  if (n < 0) return wasi_errno_from_host(errno);
  wasi_store_u32(vmctx, (uint32_t)so_datalen_ptr, (uint32_t)n);
  return 0;
}

/* sock_shutdown(fd: fd, how: sdflags) -> errno
 * shutdown(2): RD, WR or both.
 *   NOTSOCK  not a socket.  NOTCAPABLE  no SOCK_SHUTDOWN.  INVAL  how is 0
 *   or has other bits.  NOTCONN  the host's. */
int32_t wasmaot_wasi_sock_shutdown(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t how) {
  (void)vmctx;
  struct wasi_fd *e;
  int32_t err = socket_get(fd, R(SOCK_SHUTDOWN), &e);
  if (err) return err;
  int h;
  switch (how) {
  case WASMAOT_WASI_SDFLAGS_RD: h = SHUT_RD; break;
  case WASMAOT_WASI_SDFLAGS_WR: h = SHUT_WR; break;
  case WASMAOT_WASI_SDFLAGS_RD | WASMAOT_WASI_SDFLAGS_WR: h = SHUT_RDWR; break;
  default: return E(INVAL);
  }
  return shutdown(e->host, h) < 0 ? wasi_errno_from_host(errno) : 0;
}
