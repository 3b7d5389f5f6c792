/* clock_res_get, clock_time_get: the four preview1 clocks.
 *
 * witx: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md#-clock_time_getid-clockid-precision-timestamp---resultTimestamp-errno
 *
 * Clocks map to the host's: realtime -> CLOCK_REALTIME, monotonic ->
 * CLOCK_MONOTONIC, process_cputime_id -> CLOCK_PROCESS_CPUTIME_ID,
 * thread_cputime_id -> CLOCK_THREAD_CPUTIME_ID.  (wasmtime's preview1 answers
 * EBADF for the two CPU-time clocks; the spec defines them and wasi-libc's
 * clock() uses the process one, so they work here.)
 */
#include "wasi_internal.h"

#include <errno.h>
#include <time.h>

/* The host clock for a WASI clock id, or -1 for an unknown id. */
static int host_clock(int32_t id) {
  switch (id) {
  case WASMAOT_WASI_CLOCK_REALTIME: return CLOCK_REALTIME;
  case WASMAOT_WASI_CLOCK_MONOTONIC: return CLOCK_MONOTONIC;
  case WASMAOT_WASI_CLOCK_PROCESS_CPUTIME_ID: return CLOCK_PROCESS_CPUTIME_ID;
  case WASMAOT_WASI_CLOCK_THREAD_CPUTIME_ID: return CLOCK_THREAD_CPUTIME_ID;
  default: return -1;
  }
}

static uint64_t nanoseconds(const struct timespec *ts) {
  return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* clock_res_get(id: clockid) -> (resolution: timestamp)
 * Stores the clock's resolution in nanoseconds (u64 at resolution_ptr).
 *   INVAL  unknown clock id.
 *   FAULT  resolution_ptr is outside memory. */
int32_t wasmaot_wasi_clock_res_get(struct wasmaot_vmctx *vmctx, int32_t id,
                                   int32_t resolution_ptr) {
  int c = host_clock(id);
  if (c < 0) return E(INVAL);
  if (wasi_guest_range(vmctx, (uint32_t)resolution_ptr, 8) == NULL) return E(FAULT);
  struct timespec ts;
  if (clock_getres(c, &ts) < 0) return wasi_errno_from_host(errno);
  wasi_store_u64(vmctx, (uint32_t)resolution_ptr, nanoseconds(&ts));
  return 0;
}

/* clock_time_get(id: clockid, precision: timestamp) -> (time: timestamp)
 * Stores the clock's current time in nanoseconds (u64 at time_ptr); the
 * precision hint is ignored (the host clock is always read at full precision).
 *   INVAL  unknown clock id.
 *   FAULT  time_ptr is outside memory. */
int32_t wasmaot_wasi_clock_time_get(struct wasmaot_vmctx *vmctx, int32_t id, int64_t precision,
                                    int32_t time_ptr) {
  (void)precision;
  int c = host_clock(id);
  if (c < 0) return E(INVAL);
  if (wasi_guest_range(vmctx, (uint32_t)time_ptr, 8) == NULL) return E(FAULT);
  struct timespec ts;
  if (clock_gettime(c, &ts) < 0) return wasi_errno_from_host(errno);
  wasi_store_u64(vmctx, (uint32_t)time_ptr, nanoseconds(&ts));
  return 0;
}
