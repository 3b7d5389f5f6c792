/* proc_exit, proc_raise.
 *
 * witx: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md#-proc_exitrval-exitcode
 */
#include "wasi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* proc_exit(rval: exitcode)
 * Ends the program with status `rval`: calls the config's exit hook if there
 * is one (an embedder unwinds instead of exiting), else flushes the host's C
 * stdio buffers (the guest's own writes are already in the kernel: WASI writes
 * are unbuffered here) and exits the process with rval.  The status is passed
 * to the host as given, so the shell sees rval & 0xff.  (wasmtime's CLI treats
 * rval >= 126 as an error and exits 1 with a message; a status is a status
 * here.)  Never returns. */
void wasmaot_wasi_proc_exit(struct wasmaot_vmctx *vmctx, int32_t rval) {
  wasi_call_exit_hook(vmctx, rval);
  fflush(NULL);
  /* _exit, not exit: atexit handlers of an embedding process must not run in
   * the middle of a wasm call (the exit hook is for embedders that want to
   * keep going). */
  _exit(rval);
}

/* proc_raise(sig: signal) -> errno
 *   NOTSUP  always.  Raising a host signal from the guest would let it kill or
 *           stop the process in ways the embedder did not grant, and wasmtime
 *           returns NOTSUP too (the function was removed after preview1). */
int32_t wasmaot_wasi_proc_raise(struct wasmaot_vmctx *vmctx, int32_t sig) {
  (void)vmctx;
  (void)sig;
  return E(NOTSUP);
}
