/* poll_oneoff: clock timeouts (relative and absolute, the earliest of two
 * wins), fd_read on stdin (which the test fills, so it is ready) and fd_write
 * on stdout together with a long clock (the fds win, the clock does not
 * fire), and the errors for no subscription and a closed fd.  Prints each
 * call's errno and events (userdata, type, error, whether nbytes > 0), and
 * timing verdicts only, so the output is deterministic. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

#define MS 1000000ull

static __wasi_timestamp_t now(void) {
  __wasi_timestamp_t t = 0;
  if (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t) != 0) return 0;
  return t;
}

static __wasi_subscription_t clock_sub(__wasi_userdata_t ud, __wasi_timestamp_t timeout,
                                       __wasi_subclockflags_t flags) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = ud;
  s.u.tag = __WASI_EVENTTYPE_CLOCK;
  s.u.u.clock = (__wasi_subscription_clock_t){.id = __WASI_CLOCKID_MONOTONIC,
                                              .timeout = timeout, .precision = 0,
                                              .flags = flags};
  return s;
}

static __wasi_subscription_t fd_sub(__wasi_userdata_t ud, __wasi_eventtype_t type,
                                    __wasi_fd_t fd) {
  __wasi_subscription_t s;
  memset(&s, 0, sizeof s);
  s.userdata = ud;
  s.u.tag = type;
  if (type == __WASI_EVENTTYPE_FD_READ) s.u.u.fd_read.file_descriptor = fd;
  else s.u.u.fd_write.file_descriptor = fd;
  return s;
}

/* Polls, prints the errno and the events; returns how long it took. */
static __wasi_timestamp_t poll_and_show(const char *what, const __wasi_subscription_t *subs,
                                         size_t n) {
  __wasi_event_t ev[8];
  memset(ev, 0, sizeof ev);
  __wasi_size_t nevents = 0;
  __wasi_timestamp_t start = now();
  __wasi_errno_t err = __wasi_poll_oneoff(subs, ev, n, &nevents);
  __wasi_timestamp_t took = now() - start;
  printf("%s: errno %d, %u events\n", what, err, (unsigned)nevents);
  for (__wasi_size_t i = 0; err == 0 && i < nevents && i < 8; i++)
    printf("  userdata %llx type %d error %d nbytes>0 %s\n", (unsigned long long)ev[i].userdata,
           ev[i].type, ev[i].error, ev[i].fd_readwrite.nbytes > 0 ? "yes" : "no");
  return took;
}

int main(void) {
  __wasi_subscription_t s[3];
  s[0] = clock_sub(0x1234, 30 * MS, 0);
  __wasi_timestamp_t took = poll_and_show("relative clock 30 ms", s, 1);
  printf("  waited >= 30 ms: %s\n", took >= 30 * MS ? "yes" : "no");

  s[0] = clock_sub(0xabc, now() + 20 * MS, __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
  took = poll_and_show("absolute clock now + 20 ms", s, 1);
  printf("  waited >= 19 ms: %s\n", took >= 19 * MS ? "yes" : "no");

  s[0] = clock_sub(1, 5000 * MS, 0);
  s[1] = clock_sub(2, 10 * MS, 0);
  took = poll_and_show("clocks 5 s and 10 ms", s, 2);
  printf("  waited < 5 s: %s\n", took < 5000 * MS ? "yes" : "no");

  s[0] = fd_sub(10, __WASI_EVENTTYPE_FD_READ, 0);
  s[1] = fd_sub(11, __WASI_EVENTTYPE_FD_WRITE, 1);
  s[2] = clock_sub(12, 10000 * MS, 0);
  took = poll_and_show("stdin readable, stdout writable, clock 10 s", s, 3);
  printf("  waited < 10 s: %s\n", took < 10000 * MS ? "yes" : "no");

  /* stdin read to its end is still "ready" (a read would not block). */
  char buf[256];
  size_t total = 0;
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0) total += (size_t)n;
  printf("read %zu bytes from stdin\n", total);
  s[0] = fd_sub(20, __WASI_EVENTTYPE_FD_READ, 0);
  s[1] = clock_sub(21, 10000 * MS, 0);
  poll_and_show("stdin at its end, clock 10 s", s, 2);

  poll_and_show("no subscriptions", s, 0);
  s[0] = fd_sub(30, __WASI_EVENTTYPE_FD_READ, 77);
  poll_and_show("fd_read on a closed fd", s, 1);
  return 0;
}
