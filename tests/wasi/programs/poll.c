/* poll_oneoff with a single relative clock subscription: it returns one
 * clock event after at least the timeout. */
#include <stdio.h>
#include <wasi/api.h>

static __wasi_timestamp_t now(void) {
  __wasi_timestamp_t t = 0;
  if (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t) != 0) return 0;
  return t;
}

int main(void) {
  const __wasi_timestamp_t timeout = 30 * 1000000ull;  /* 30 ms */
  __wasi_subscription_t sub = {.userdata = 0x1234,
                               .u = {.tag = __WASI_EVENTTYPE_CLOCK,
                                     .u.clock = {.id = __WASI_CLOCKID_MONOTONIC,
                                                 .timeout = timeout, .precision = 0,
                                                 .flags = 0}}};
  __wasi_event_t ev;
  __wasi_size_t nevents = 0;
  __wasi_timestamp_t start = now();
  __wasi_errno_t err = __wasi_poll_oneoff(&sub, &ev, 1, &nevents);
  __wasi_timestamp_t took = now() - start;
  printf("errno=%d nevents=%u\n", err, (unsigned)nevents);
  printf("userdata=%llx type=%d error=%d\n", (unsigned long long)ev.userdata, ev.type, ev.error);
  printf("waited >= timeout: %s\n", took >= timeout ? "yes" : "no");
  return 0;
}
