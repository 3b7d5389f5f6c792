/* sched_yield.
 *
 * witx: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md#-sched_yield---result-errno
 */
#include "wasi_internal.h"

#include <sched.h>

/* sched_yield() -> errno
 * Gives up the CPU (sched_yield(2)).  Always succeeds. */
int32_t wasmaot_wasi_sched_yield(struct wasmaot_vmctx *vmctx) {
  (void)vmctx;
  sched_yield();
  return 0;
}
