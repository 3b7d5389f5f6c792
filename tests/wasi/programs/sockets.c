/* A one-connection TCP server on the listening socket granted as fd 3
 * (wasmaot: WASMAOT_TCP_LISTEN; wasmtime: --tcplisten), driven by a client in
 * the test (tests/wasi/wasi_run.py, tcp_dialogue):
 *   1. a non-blocking sock_accept finds nobody; prints "listening" (the
 *      client connects only then);
 *   2. poll_oneoff sees the connection waiting; sock_accept takes it;
 *   3. poll_oneoff on the connection times out (the client waits for the
 *      greeting); sock_send sends "hello\n";
 *   4. the client sends its request and shuts down its side; sock_recv peeks,
 *      then reads to the end; sock_send replies; sock_shutdown ends the reply.
 * Each call prints its errno and results.  Normalised, where wasmaot
 * deliberately differs (runtime_c/wasi/sock.c): socket calls on stdio answer
 * NOTSOCK in wasmaot (as the spec suggests) and BADF in wasmtime, printed as
 * "BADF or NOTSOCK".  The peek uses one buffer: wasmtime's peek fills only
 * the first. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#define LISTENER 3
#define MS 1000000ull

static __wasi_subscription_t sub(__wasi_userdata_t ud, __wasi_eventtype_t type, __wasi_fd_t fd,
                                 __wasi_timestamp_t timeout) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = ud;
  s.u.tag = type;
  if (type == __WASI_EVENTTYPE_CLOCK)
    s.u.u.clock = (__wasi_subscription_clock_t){.id = __WASI_CLOCKID_MONOTONIC, .timeout = timeout};
  else
    s.u.u.fd_read.file_descriptor = fd;
  return s;
}

/* Polls fd for reading against a relative clock; prints the events. */
static void wait_readable(const char *what, __wasi_fd_t fd, __wasi_timestamp_t timeout) {
  __wasi_subscription_t s[2] = {sub(1, __WASI_EVENTTYPE_FD_READ, fd, 0),
                                sub(2, __WASI_EVENTTYPE_CLOCK, 0, timeout)};
  __wasi_event_t ev[2];
  __wasi_size_t n = 0;
  __wasi_errno_t err = __wasi_poll_oneoff(s, ev, 2, &n);
  printf("poll %s: errno %d, %u events:", what, err, (unsigned)n);
  for (__wasi_size_t i = 0; err == 0 && i < n; i++)
    printf(" (userdata %llu type %d error %d)", (unsigned long long)ev[i].userdata, ev[i].type,
           ev[i].error);
  printf("\n");
}

static __wasi_errno_t send_str(__wasi_fd_t fd, const char *s) {
  __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
  __wasi_size_t n = 0;
  __wasi_errno_t err = __wasi_sock_send(fd, &iov, 1, 0, &n);
  printf("send %zu bytes: errno %d, sent %u\n", strlen(s), err, (unsigned)n);
  return err;
}

/* sock_recv into `nbufs` buffers (1: buf; 2: 3 bytes, then the rest). */
static __wasi_errno_t recv_some(__wasi_fd_t fd, uint8_t *buf, size_t cap, size_t nbufs,
                                __wasi_riflags_t flags, __wasi_size_t *got) {
  __wasi_iovec_t iov[2] = {{buf, nbufs == 1 ? cap : 3}, {buf + 3, cap - 3}};
  __wasi_roflags_t roflags = 0;
  *got = 0;
  return __wasi_sock_recv(fd, iov, nbufs, flags, got, &roflags);
}

static const char *badf_or_notsock(__wasi_errno_t err) {
  return err == __WASI_ERRNO_BADF || err == __WASI_ERRNO_NOTSOCK ? "BADF or NOTSOCK" : "other";
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* the client waits for "listening" */
  __wasi_fdstat_t st;
  __wasi_errno_t err = __wasi_fd_fdstat_get(LISTENER, &st);
  printf("listener fdstat: errno %d, filetype %d\n", err, st.fs_filetype);
  printf("set listener NONBLOCK: errno %d\n",
         __wasi_fd_fdstat_set_flags(LISTENER, __WASI_FDFLAGS_NONBLOCK));
  __wasi_fd_t conn = 0;
  printf("accept with nobody waiting: errno %d\n", __wasi_sock_accept(LISTENER, 0, &conn));
  printf("accept on stdout: %s\n", badf_or_notsock(__wasi_sock_accept(1, 0, &conn)));
  printf("listening\n");

  wait_readable("listener, clock 20 s", LISTENER, 20000 * MS);
  printf("set listener blocking: errno %d\n", __wasi_fd_fdstat_set_flags(LISTENER, 0));
  err = __wasi_sock_accept(LISTENER, 0, &conn);
  printf("accept: errno %d, fd %u\n", err, (unsigned)conn);
  if (err != 0) return 1;
  err = __wasi_fd_fdstat_get(conn, &st);
  printf("connection fdstat: errno %d, filetype %d, flags %d\n", err, st.fs_filetype,
         st.fs_flags);

  wait_readable("connection before the greeting, clock 50 ms", conn, 50 * MS);
  send_str(conn, "hello\n");
  wait_readable("connection after the greeting, clock 20 s", conn, 20000 * MS);

  static uint8_t buf[1 << 16];
  __wasi_size_t got;
  err = recv_some(conn, buf, 16, 1, __WASI_RIFLAGS_RECV_PEEK, &got);
  printf("peek: errno %d, %u bytes \"%.*s\"\n", err, (unsigned)got, (int)got, buf);
  size_t total = 0;
  uint32_t h = 2166136261u; /* FNV-1a of the whole request */
  for (int i = 0; i < 100000; i++) {
    err = recv_some(conn, buf, sizeof buf, 2, 0, &got);
    if (err != 0 || got == 0) break;
    for (__wasi_size_t j = 0; j < got; j++) h = (h ^ buf[j]) * 16777619u;
    total += got;
  }
  printf("request: errno %d, %zu bytes, fnv %08x\n", err, total, (unsigned)h);

  char reply[64];
  snprintf(reply, sizeof reply, "got %zu bytes, fnv %08x\n", total, (unsigned)h);
  send_str(conn, reply);
  printf("shutdown write: errno %d\n", __wasi_sock_shutdown(conn, __WASI_SDFLAGS_WR));
  printf("shutdown with no flags: errno %d\n", __wasi_sock_shutdown(conn, 0));
  err = recv_some(conn, buf, sizeof buf, 2, 0, &got);
  printf("recv after the client's end: errno %d, %u bytes\n", err, (unsigned)got);
  printf("recv on stdin: %s\n", badf_or_notsock(recv_some(0, buf, sizeof buf, 2, 0, &got)));
  printf("send on a closed fd: errno %d\n", send_str(99, "x"));
  printf("close connection: errno %d\n", __wasi_fd_close(conn));
  printf("recv on the closed connection: errno %d\n", recv_some(conn, buf, sizeof buf, 2, 0, &got));
  return 0;
}
